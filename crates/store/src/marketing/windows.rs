//! A sending's timing in each recipient's zone (see [`rapport_domain::marketing::windows`]):
//! expansion writes each mail with the instant it may go out (`next_attempt_at`) and its
//! recipient's zone; the claim puts a mail back to the next opening when its window closed
//! before it was sent (caps, retries, a paused sending).

use std::collections::HashMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use chrono_tz::Tz;
use rapport_domain::company::Company;
use rapport_domain::customer::Customer;
use rapport_domain::marketing::windows::{Window, WindowInput, parse_local, release_at, zone};
use rapport_domain::permissions::Actor;

use crate::QueuedMail;
use crate::sql::{Arg, marks, sql};
use crate::{Error, Result, Store, WriteTx};

fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

fn window_of(json: Option<&str>) -> Option<Window> {
    let input: WindowInput = serde_json::from_str(json?).ok()?;
    input.parse("window", &mut Default::default())
}

/// When a sending's mails may go out.
pub(crate) struct Timing {
    local: Option<NaiveDateTime>,
    zone: Option<Tz>,
    window: Option<Window>,
    /// The zones of companies seen, by id.
    companies: HashMap<i64, Option<Tz>>,
}

impl Timing {
    /// The timing of sending `send`.
    pub(crate) async fn of(tx: &mut WriteTx, send: i64) -> Result<Timing> {
        let q = sql("SELECT local_send_at, time_zone, send_window FROM campaign_sends WHERE id = ?", [send.into()]);
        let (local, tz, window): (Option<String>, Option<String>, Option<String>) =
            tx.fetch_one(&q, |r| Ok((r.get("local_send_at")?, r.get("time_zone")?, r.get("send_window")?))).await?;
        Ok(Timing {
            local: local.as_deref().and_then(parse_local),
            zone: zone(tz.as_deref()),
            window: window_of(window.as_deref()),
            companies: HashMap::new(),
        })
    }

    /// When `c`'s mail may go out (not before `now`) and the name of their zone; `None` for
    /// a sending without a local start or windows (it goes out at once, as before).
    pub(crate) async fn release(
        &mut self,
        store: &Store,
        tx: &mut WriteTx,
        c: &Customer,
        now: DateTime<Utc>,
    ) -> Result<Option<(String, String)>> {
        if self.local.is_none() && self.window.is_none() {
            return Ok(None);
        }
        let own = zone(c.data.custom.get("time_zone").and_then(|v| v.as_str()));
        let company = match (own, c.data.company_id) {
            (None, Some(id)) => match self.companies.get(&id) {
                Some(z) => *z,
                None => {
                    let z = match store.record_in::<Company>(tx, &Actor::system(), id, false).await {
                        Ok(co) => zone(co.data.custom.get("time_zone").and_then(|v| v.as_str())),
                        Err(Error::NotFound) => None,
                        Err(e) => return Err(e),
                    };
                    self.companies.insert(id, z);
                    z
                }
            },
            _ => None,
        };
        let z = own.or(company).or(self.zone).unwrap_or(Tz::UTC);
        Ok(Some((stamp(release_at(z, self.local, self.window.as_ref(), now)), z.name().to_string())))
    }
}

impl Store {
    /// Puts back every claimed mail of `rows` whose sending has windows that are closed now in
    /// its recipient's zone, due at the next opening (its attempt not counted).
    pub(crate) async fn hold_outside_windows(&self, tx: &mut WriteTx, rows: &mut Vec<QueuedMail>, now: DateTime<Utc>) -> Result<()> {
        let with_send: Vec<i64> = rows.iter().filter(|m| m.send_id.is_some()).map(|m| m.id).collect();
        if with_send.is_empty() {
            return Ok(());
        }
        let q = sql(
            &format!(
                "SELECT q.id, q.time_zone, s.send_window FROM mail_queue q JOIN campaign_sends s ON s.id = q.send_id \
                 WHERE s.send_window IS NOT NULL AND q.id IN {}",
                marks(with_send.len())
            ),
            with_send.iter().map(|i| Arg::from(*i)).collect::<Vec<_>>(),
        );
        let windowed: Vec<(i64, Option<String>, Option<String>)> =
            tx.fetch_all(&q, |r| Ok((r.get("id")?, r.get("time_zone")?, r.get("send_window")?))).await?;
        let mut held = Vec::new();
        for (id, tz, window) in windowed {
            let Some(w) = window_of(window.as_deref()) else { continue };
            let open = w.next_open(zone(tz.as_deref()).unwrap_or(Tz::UTC), now);
            if open > now {
                tx.execute(&sql(
                    "UPDATE mail_queue SET state = 'queued', lease_owner = NULL, lease_until = NULL, attempts = attempts - 1, next_attempt_at = ? \
                     WHERE id = ?",
                    [stamp(open).into(), id.into()],
                ))
                .await?;
                held.push(id);
            }
        }
        rows.retain(|m| !held.contains(&m.id));
        Ok(())
    }
}
