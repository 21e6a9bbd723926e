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

/// Runs `work` every `every`, passing this process's lease holder name and a lease of three
/// periods, so a missed tick does not hand the job to another server. A failed run is logged
/// and tried again at the next tick.
fn every<F, Fut>(every: Duration, job: &'static str, mut work: F) -> tokio::task::JoinHandle<()>
where
    F: FnMut(String, chrono::Duration) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = rapport_store::Result<()>> + Send,
{
    let holder = holder_name();
    let ttl = chrono::Duration::from_std(every * 3).unwrap_or(chrono::Duration::minutes(3));
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = work(holder.clone(), ttl).await {
                tracing::warn!(job, error = %e, "background job failed; it runs again at the next tick");
            }
        }
    })
}

/// Runs the SLA breach job every `every`.
pub fn spawn_sla_job(store: Store, period: Duration) -> tokio::task::JoinHandle<()> {
    every(period, "sla", move |holder, ttl| {
        let store = store.clone();
        async move {
            if let Some(run) = store.run_sla_job(&holder, ttl, chrono::Utc::now()).await?
                && run.breaches + run.near_breaches > 0
            {
                tracing::info!(
                    tickets = run.tickets,
                    breaches = run.breaches,
                    near_breaches = run.near_breaches,
                    notifications = run.notifications,
                    "SLA job flagged tickets"
                );
            }
            Ok(())
        }
    })
}

/// Runs the help desk's housekeeping every `period` (see
/// [`rapport_store::Store::ticket_housekeeping`]): resolved tickets close after `close_after`
/// without an answer (never when `None`), snoozed ones wake when due.
pub fn spawn_ticket_housekeeping(store: Store, period: Duration, close_after: Option<chrono::Duration>) -> tokio::task::JoinHandle<()> {
    every(period, "ticket_housekeeping", move |holder, ttl| {
        let store = store.clone();
        async move {
            if let Some(run) = store.run_ticket_housekeeping(&holder, ttl, chrono::Utc::now(), close_after).await?
                && run.closed + run.woken > 0
            {
                tracing::info!(closed = run.closed, woken = run.woken, "ticket housekeeping moved tickets");
            }
            Ok(())
        }
    })
}

/// Runs the A/B decision job every `period` (see [`crate::marketing::ab::run_decisions`]): due
/// tests are decided and their winner sent to the rest, once across processes.
pub fn spawn_ab_job(store: Store, period: Duration) -> tokio::task::JoinHandle<()> {
    every(period, "ab_decisions", move |holder, ttl| {
        let store = store.clone();
        async move {
            crate::marketing::ab::run_decisions(&store, &holder, ttl, chrono::Utc::now()).await?;
            Ok(())
        }
    })
}

/// Runs the drip-sequence job every `period` (see [`rapport_store::Store::run_sequences`]):
/// enrollments by segments and sign-ups, then due steps, in passes of 200 until none are due.
/// Every process may run it: each enrollment is claimed with a row lock (`SKIP LOCKED`), so
/// two servers share the work and no step runs twice.
pub fn spawn_sequence_job(store: Store, period: Duration) -> tokio::task::JoinHandle<()> {
    every(period, "sequences", move |_, _| {
        let store = store.clone();
        async move {
            for _ in 0..50 {
                let run = store.run_sequences(chrono::Utc::now(), 200).await?;
                if run.enrolled + run.steps > 0 {
                    tracing::debug!(enrolled = run.enrolled, steps = run.steps, "sequence job advanced people");
                }
                if run.steps < 200 {
                    break;
                }
            }
            Ok(())
        }
    })
}

/// Takes up, every `period`, the import jobs whose server stopped (see
/// [`crate::api::data::imports::resume_unfinished`]); the first pass runs at once, so a
/// restarted server resumes its own imports as soon as their leases run out.
pub fn spawn_import_resumer(state: crate::AppState, period: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = crate::api::data::imports::resume_unfinished(&state).await {
                tracing::warn!(error = %e, "cannot take up unfinished imports; trying again at the next tick");
            }
        }
    })
}
