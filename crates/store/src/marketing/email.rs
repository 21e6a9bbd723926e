//! Moving campaign members through their response states as the email machinery learns what
//! happened (sent, opened, clicked, bounced, complained, unsubscribed). The campaigns helper
//! has its own `record_response`; the two are to be folded into one.

use crate::sql::sql;
use crate::{Result, WriteTx};

/// The response states in order; the last three end the path.
const ORDER: [&str; 7] = ["member", "sent", "delivered", "opened", "clicked", "responded", "converted"];
const FINAL: [&str; 3] = ["unsubscribed", "bounced", "complained"];

fn rank_sql() -> String {
    let mut s = String::from("CASE status");
    for (i, st) in ORDER.iter().enumerate() {
        s.push_str(&format!(" WHEN '{st}' THEN {i}"));
    }
    s.push_str(" ELSE 100 END");
    s
}

/// Records that `person` reached `state` in `campaign` at `at`: its milestone time is set the
/// first time, and `status` moves forward (never back; a final state stays). Nothing when the
/// person is not a member.
pub(crate) async fn advance_member(tx: &mut WriteTx, campaign: i64, person: i64, state: &str, at: &str) -> Result<()> {
    let Some(rank) = ORDER.iter().position(|s| *s == state).or(FINAL.contains(&state).then_some(50)) else {
        return Ok(());
    };
    if rank == 0 {
        return Ok(());
    }
    let col = format!("{state}_at");
    let q = sql(
        &format!(
            "UPDATE campaign_members SET {col} = COALESCE({col}, ?), status = CASE WHEN ({rank}) < ? THEN ? ELSE status END, updated_at = ? \
             WHERE campaign_id = ? AND person_id = ?",
            rank = rank_sql()
        ),
        [at.into(), (rank as i64).into(), state.into(), at.into(), campaign.into(), person.into()],
    );
    tx.execute(&q).await?;
    Ok(())
}
