//! Background jobs of `rapport serve`. Each takes a lease in the database before it works
//! ([`rapport_store::Store::acquire_lease`]), so with several servers on one database only one
//! runs it at a time, and another takes over within a lease's length when that one stops.

use std::time::Duration;

use rapport_store::Store;

/// A name for this process in the lease table: host, process id and a random part (two
/// servers in one container share a pid namespace's numbers only by accident).
pub fn holder_name() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "localhost".into());
    format!("{host}:{}:{:08x}", std::process::id(), rand::random::<u32>())
}

/// Runs the SLA breach job every `every`, holding its lease for three periods, so a missed
/// tick does not hand the job to another server.
pub fn spawn_sla_job(store: Store, every: Duration) -> tokio::task::JoinHandle<()> {
    let holder = holder_name();
    let ttl = chrono::Duration::from_std(every * 3).unwrap_or(chrono::Duration::minutes(3));
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match store.run_sla_job(&holder, ttl, chrono::Utc::now()).await {
                Ok(Some(run)) if run.breaches + run.near_breaches > 0 => tracing::info!(
                    tickets = run.tickets,
                    breaches = run.breaches,
                    near_breaches = run.near_breaches,
                    notifications = run.notifications,
                    "SLA job flagged tickets"
                ),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "SLA job failed; it runs again at the next tick"),
            }
        }
    })
}

/// Runs the help desk's housekeeping every `every` (see
/// [`rapport_store::Store::ticket_housekeeping`]): resolved tickets close after `close_after`
/// without an answer (never when `None`), snoozed ones wake when due.
pub fn spawn_ticket_housekeeping(store: Store, every: Duration, close_after: Option<chrono::Duration>) -> tokio::task::JoinHandle<()> {
    let holder = holder_name();
    let ttl = chrono::Duration::from_std(every * 3).unwrap_or(chrono::Duration::minutes(3));
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match store.run_ticket_housekeeping(&holder, ttl, chrono::Utc::now(), close_after).await {
                Ok(Some(run)) if run.closed + run.woken > 0 => {
                    tracing::info!(closed = run.closed, woken = run.woken, "ticket housekeeping moved tickets")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "ticket housekeeping failed; it runs again at the next tick"),
            }
        }
    })
}
