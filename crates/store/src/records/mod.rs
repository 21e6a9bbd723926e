//! The shared record machinery ([`engine`]) and the pieces every record table shares:
//! ownership and reference checks, tag rows, versioned saves, soft deletes, visibility.

pub(crate) mod columns;
pub(crate) mod engine;
pub(crate) mod list;

use rapport_domain::{ValidationErrors, now_rfc3339};

use rapport_domain::permissions::{Actor, Object, Visibility};

use crate::row::Row;
use crate::sql::{Sql, sql};
use crate::{Error, Result, WriteTx, unique_violation};

/// Refuses an owner id that is not an active user, naming the field.
pub(crate) async fn check_owner(tx: &mut WriteTx, owner_id: Option<i64>) -> Result<()> {
    if let Some(id) = owner_id
        && tx.fetch_optional(&sql("SELECT id FROM users WHERE id = ? AND is_active = 1", [id.into()]), |_| Ok(())).await?.is_none()
    {
        return Err(Error::Invalid(ValidationErrors::single("owner_id", format!("there is no active user with id {id}"))));
    }
    Ok(())
}

/// Checks the owner a record gets from `actor`: an active user, and one the actor may give
/// records to. Without the `assign` grant that is the actor themselves or a member of one of
/// their teams, never nobody (an unowned record is visible to every sales rep).
pub(crate) async fn check_assignment(tx: &mut WriteTx, actor: &Actor, object: Object, owner_id: Option<i64>) -> Result<()> {
    check_owner(tx, owner_id).await?;
    if actor.may_assign(object) {
        return Ok(());
    }
    let allowed = match owner_id {
        None => false,
        Some(o) if Some(o) == actor.user_id => true,
        Some(o) => tx.fetch_optional(&sql(
            "SELECT m2.user_id FROM team_members m1 JOIN team_members m2 ON m2.team_id = m1.team_id WHERE m1.user_id = ? AND m2.user_id = ?",
            [actor.user_id.into(), o.into()],
        ), |_| Ok(()))
        .await?
        .is_some(),
    };
    if allowed {
        return Ok(());
    }
    let message = match owner_id {
        None => "your role may not leave records unowned: name an owner (yourself or a teammate), or leave owner_id out to own it",
        Some(_) => "your role may give records only to yourself or to members of your teams",
    };
    Err(Error::Forbidden { field: "owner_id".into(), message: message.into() })
}

/// Refuses a campaign id that names no live campaign (campaigns are not on the machinery yet):
/// opportunities and orders link to one.
pub(crate) async fn check_campaign(tx: &mut WriteTx, campaign_id: Option<i64>) -> Result<()> {
    let Some(c) = campaign_id else { return Ok(()) };
    if tx.fetch_optional(&sql("SELECT id FROM campaigns WHERE id = ? AND deleted_at IS NULL", [c.into()]), |_| Ok(())).await?.is_none() {
        return Err(Error::Invalid(ValidationErrors::single("campaign_id", format!("there is no campaign with id {c}"))));
    }
    Ok(())
}

/// A named team must exist (teams are not records with tombstones, so no foreign key says so).
pub(crate) async fn check_team(tx: &mut WriteTx, team_id: Option<i64>) -> Result<()> {
    let Some(t) = team_id else { return Ok(()) };
    if tx.fetch_optional(&sql("SELECT id FROM teams WHERE id = ?", [t.into()]), |_| Ok(())).await?.is_none() {
        return Err(Error::Invalid(ValidationErrors::single("team_id", format!("there is no team with id {t}"))));
    }
    Ok(())
}

/// Replaces a record's rows in its tag table.
pub(crate) async fn replace_tags(tx: &mut WriteTx, table: &str, fk: &str, id: i64, tags: &[String]) -> Result<()> {
    tx.execute(&sql(&format!("DELETE FROM {table} WHERE {fk} = ?"), [id.into()])).await?;
    for t in tags {
        tx.execute(&sql(&format!("INSERT INTO {table} (tag, {fk}) VALUES (?, ?)"), [t.clone().into(), id.into()])).await?;
    }
    Ok(())
}

/// A JSON array of strings stored as text.
pub(crate) fn string_list(row: &dyn Row, col: &str) -> Result<Vec<String>> {
    let s: String = row.get(col)?;
    Ok(serde_json::from_str(&s).unwrap_or_default())
}

/// Ends `q`, an `UPDATE <table> SET …` of record `id` as read at `version`, with the bookkeeping
/// every edit makes, and runs it: refused as a version mismatch when someone saved in between.
/// `unique` names the table's unique indexes for [`unique_violation`].
pub(crate) async fn save_versioned(tx: &mut WriteTx, mut q: Sql, id: i64, version: i64, unique: &[(&str, &str, &str, &str)]) -> Result<()> {
    q.push(", updated_at = ").arg(now_rfc3339()).push(", version = version + 1 WHERE id = ").arg(id);
    q.push(" AND version = ").arg(version);
    if tx.execute(&q).await.map_err(|e| unique_violation(e, unique))? == 0 {
        return Err(Error::VersionMismatch { current: version + 1 });
    }
    Ok(())
}

/// [`save_versioned`] for a record table that sync clients follow: the row joins the
/// transaction's change (see [`WriteTx::change_seq`]).
pub(crate) async fn save_record(tx: &mut WriteTx, mut q: Sql, id: i64, version: i64, unique: &[(&str, &str, &str, &str)]) -> Result<()> {
    let seq = tx.change_seq().await?;
    q.push(", change_seq = ").arg(seq);
    save_versioned(tx, q, id, version, unique).await
}

/// Marks record `id` of `table` deleted: it leaves reads and lists but stays as a tombstone that
/// `updated_since` sync reports.
pub(crate) async fn soft_delete(tx: &mut WriteTx, table: &'static str, id: i64) -> Result<()> {
    let now = now_rfc3339();
    let seq = tx.change_seq().await?;
    tx.execute(&sql(
        &format!("UPDATE {table} SET deleted_at = ?, updated_at = ?, change_seq = ?, version = version + 1 WHERE id = ?"),
        [now.clone().into(), now.into(), seq.into(), id.into()],
    ))
    .await?;
    Ok(())
}

/// Marks rows of `table` matching `cond` (a condition with one `?`, bound to `arg`) as changed
/// now, without a new version: what they show changed (a joined name), not what they hold, so
/// sync clients fetch them again but nobody's edit of them is refused.
pub(crate) async fn touch(tx: &mut WriteTx, table: &'static str, cond: &str, arg: i64) -> Result<u64> {
    let seq = tx.change_seq().await?;
    let q = sql(&format!("UPDATE {table} SET updated_at = ?, change_seq = ? WHERE {cond}"), [now_rfc3339().into(), seq.into(), arg.into()]);
    tx.execute(&q).await
}

/// Checks `If-Match` against the stored version.
pub(crate) fn check_version(if_match: Option<i64>, current: i64) -> Result<()> {
    match if_match {
        Some(v) if v != current => Err(Error::VersionMismatch { current }),
        _ => Ok(()),
    }
}

/// Whether the actor sees every owned record: no visibility rule narrows what they read.
pub(crate) fn sees_all(actor: &Actor) -> bool {
    actor.user_id.is_none() || actor.visibility() == Visibility::All
}

/// Appends the actor's record-visibility rule for the table aliased `a` (which has
/// `owner_id`). Unowned records are visible to everyone who may read the object.
///
/// The rule is checked on each row a query reads (`+owner_id` is not an index key to either
/// engine), never used to collect every visible row first: a rep sees a large share of the
/// records (their own, their team's, the shared pool), and a page sorted by any key is then read
/// in that key's index order and stops when full, as an admin's is. Collecting the visible rows
/// through the owner index and sorting them is what made a rep's lists slow at a million people.
pub(crate) fn visible(q: &mut Sql, actor: &Actor, a: &str) {
    if sees_all(actor) {
        return;
    }
    let Some(me) = actor.user_id else { return };
    let shared = match actor.visibility() {
        Visibility::All => return,
        Visibility::Team => "",
        Visibility::Own => " AND t.visibility = 'team'",
    };
    q.push(&format!(" AND ({a}.owner_id IS NULL OR +{a}.owner_id = ")).arg(me);
    q.push(&format!(
        " OR +{a}.owner_id IN (SELECT m2.user_id FROM team_members m1 JOIN team_members m2 ON m2.team_id = m1.team_id \
         JOIN teams t ON t.id = m1.team_id WHERE m1.user_id = "
    ))
    .arg(me)
    .push(shared)
    .push("))");
}
