//! Leases for background jobs: a row per job saying which process runs it until when, so that
//! of several servers sharing one database only one runs a job at a time. A holder renews its
//! lease each time it runs; when it dies the lease runs out and another process takes over.
//! A lease saves duplicate work; what must happen once (an SLA breach flagged) is also guarded
//! by a unique key, since a holder may stall past its lease.

use chrono::{DateTime, Duration, SecondsFormat, Utc};

use crate::sql::sql;
use crate::{Result, Store};

fn text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Who holds a job's lease, and until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The holder's name (a process's host and id, say).
    pub holder: String,
    /// When it runs out (RFC 3339 UTC).
    pub until: String,
}

impl Store {
    /// Takes or renews job `name`'s lease for `holder` until `now + ttl`; `false` when another
    /// holder's lease has not run out. One statement, so two processes asking at once cannot
    /// both win: PostgreSQL makes the second wait for the first's row and re-checks the
    /// condition, SQLite writes one at a time.
    pub async fn acquire_lease(&self, name: &str, holder: &str, ttl: Duration, now: DateTime<Utc>) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        let q = sql(
            "INSERT INTO job_leases (name, holder, until) VALUES (?, ?, ?) \
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until \
             WHERE job_leases.until < ? OR job_leases.holder = excluded.holder RETURNING holder",
            [name.into(), holder.into(), text(now + ttl).into(), text(now).into()],
        );
        let won = tx.fetch_optional(&q, |r| r.get::<String>("holder")).await?.is_some();
        tx.commit().await?;
        Ok(won)
    }

    /// Gives the lease up at once (a server shutting down), if `holder` has it.
    pub async fn release_lease(&self, name: &str, holder: &str) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let past = text(DateTime::<Utc>::UNIX_EPOCH);
        tx.execute(&sql("UPDATE job_leases SET until = ? WHERE name = ? AND holder = ?", [past.into(), name.into(), holder.into()]))
            .await?;
        tx.commit().await
    }

    /// Job `name`'s lease, if anyone took it.
    pub async fn lease(&self, name: &str) -> Result<Option<Lease>> {
        let q = sql("SELECT holder, until FROM job_leases WHERE name = ?", [name.into()]);
        self.read_optional(&q, |r| Ok(Lease { holder: r.get("holder")?, until: r.get("until")? })).await
    }
}
