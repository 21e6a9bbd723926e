//! Merging duplicate companies: the survivor's fields, and what of a loser's moves to it (its
//! people, orders, deals, activities, tickets and SLA policies; its tags join the survivor's).

use std::collections::BTreeMap;

use rapport_domain::company::{Company, CompanyData};
use rapport_domain::permissions::{Action, Actor, Object, require};
use rapport_domain::{ValidationErrors, now_rfc3339, text};
use serde_json::{Map, Value, json};

use crate::records::engine::Table;
use crate::sql::sql;
use crate::{Error, Result, Store, WriteTx};

/// Records that carry their company in `company_id` and that sync clients follow (a move is a
/// change of theirs: new version and change sequence).
const RECORD_TABLES: &[&str] = &["customers", "orders", "opportunities", "activities", "tickets"];

/// The fields a company merge chooses among: the editable fields of companies, and `custom.<key>`.
pub fn company_merge_fields() -> Vec<&'static str> {
    super::editable(Company::SPEC)
}

/// The survivor's data after the merge (see [`super::choose`]); tags not chosen are the union.
/// `records` is the survivor first, then the losers.
pub fn merged_company(
    records: &[(i64, &CompanyData)],
    choices: &BTreeMap<String, i64>,
) -> std::result::Result<CompanyData, ValidationErrors> {
    let maps: Vec<(i64, Map<String, Value>)> = records.iter().map(|(id, d)| (*id, super::to_map(d))).collect();
    let out = super::choose(&maps, &company_merge_fields(), &[("tags", None)], choices, "companies")?;
    serde_json::from_value(Value::Object(out))
        .map_err(|e| ValidationErrors::single("fields", format!("the merged record is not valid: {e}")))
}

impl Store {
    /// Merges `losers` into the company `survivor`, as [`Store::merge_customers`] merges people:
    /// `choices` maps a field (`name`, `domain`, `address.city`, `custom.<key>`…) to the id of
    /// the company whose value survives; `if_match` is the survivor's version. Needs `update`
    /// and `delete` on companies. The survivor as saved, and what moved.
    pub async fn merge_companies(
        &self,
        actor: &Actor,
        survivor: i64,
        losers: &[i64],
        if_match: Option<i64>,
        choices: &BTreeMap<String, i64>,
    ) -> Result<(Company, Value)> {
        require(actor, Object::Company, Action::Update)?;
        require(actor, Object::Company, Action::Delete)?;
        let ids = super::losers(survivor, losers, "company")?;
        let mut tx = self.write_tx().await?;
        let kept = match self.record_in::<Company>(&mut tx, actor, survivor, false).await {
            Err(Error::NotFound) => return Err(self.company_gone_or_missing(&mut tx, actor, survivor).await),
            other => other?,
        };
        crate::records::check_version(if_match, kept.version)?;
        let mut gone = Vec::new();
        for &l in &ids {
            match self.record_in::<Company>(&mut tx, actor, l, false).await {
                Ok(c) => gone.push(c),
                Err(Error::NotFound) => {
                    return Err(Error::Invalid(ValidationErrors::single(
                        "losers",
                        format!("there is no live company with id {l} that you may see (deleted or merged already?)"),
                    )));
                }
                Err(e) => return Err(e),
            }
        }
        let records: Vec<(i64, &CompanyData)> = std::iter::once(&kept).chain(&gone).map(|c| (c.id, &c.data)).collect();
        let merged = merged_company(&records, choices)?;
        let mut moved: BTreeMap<String, u64> = BTreeMap::new();
        for l in &gone {
            absorb(&mut tx, l.id, survivor, &kept.data.name, &mut moved).await?;
        }
        // The survivor takes the chosen values once the losers are tombstones, so a domain or an
        // external id chosen from a loser is no longer taken; a new name reaches its people.
        self.update_in::<Company, _, Error>(&mut tx, actor, survivor, None, |_| Ok(merged)).await?;
        let diff = json!({
            "survivor": survivor,
            "merged": ids,
            "merged_names": gone.iter().map(|c| c.data.name.clone()).collect::<Vec<_>>(),
            "choices": choices,
            "moved": moved,
        });
        self.audit(&mut tx, actor, "merge", "company", Some(survivor), diff.clone()).await?;
        for l in &ids {
            self.audit(&mut tx, actor, "merged_into", "company", Some(*l), json!({"into": survivor})).await?;
        }
        let seen = self.as_seen::<Company>(&mut tx, actor, survivor).await?;
        tx.commit().await?;
        Ok((seen, diff))
    }

    /// What a merge into a missing company `id` is: [`Error::Merged`] when its tombstone names a
    /// survivor, [`Error::NotFound`] otherwise.
    async fn company_gone_or_missing(&self, tx: &mut WriteTx, actor: &Actor, id: i64) -> Error {
        match self.record_in::<Company>(tx, actor, id, true).await {
            Ok(c) if c.deleted_at.is_some() => match c.merged_into {
                Some(into) => Error::Merged { into, plural: "companies" },
                None => Error::Invalid(ValidationErrors::single("id", format!("company {id} is deleted: nothing can be merged into it"))),
            },
            _ => Error::NotFound,
        }
    }

    /// The answer to reading company `id`, which is not live: merged (naming the survivor) or
    /// not found.
    pub(crate) async fn company_merged_or_not_found(&self, actor: &Actor, id: i64) -> Error {
        let q = sql("SELECT merged_into FROM companies WHERE id = ? AND deleted_at IS NOT NULL", [id.into()]);
        match self.read_optional(&q, |r| r.get::<Option<i64>>("merged_into")).await {
            Ok(Some(Some(into))) if self.record_visible::<Company>(actor, into).await.is_ok() => {
                Error::Merged { into, plural: "companies" }
            }
            _ => Error::NotFound,
        }
    }
}

/// Moves what belongs to company `loser` to `survivor` (named `survivor_name` until the merge
/// renames it) and leaves `loser` a tombstone naming it.
async fn absorb(tx: &mut WriteTx, loser: i64, survivor: i64, survivor_name: &str, moved: &mut BTreeMap<String, u64>) -> Result<()> {
    let now = now_rfc3339();
    let seq = tx.change_seq().await?;
    // The tombstone first: the loser's unique values (domain, external id) are free after it.
    tx.execute(&sql(
        "UPDATE companies SET deleted_at = ?, merged_into = ?, updated_at = ?, change_seq = ?, version = version + 1 WHERE id = ?",
        [now.clone().into(), survivor.into(), now.clone().into(), seq.into(), loser.into()],
    ))
    .await?;
    // Earlier merges into the loser now point at the survivor: one hop reaches a live company.
    let n = tx
        .execute(&sql(
            "UPDATE companies SET merged_into = ?, updated_at = ?, change_seq = ? WHERE merged_into = ?",
            [survivor.into(), now.clone().into(), seq.into(), loser.into()],
        ))
        .await?;
    *moved.entry("merged_companies".into()).or_default() += n;
    for table in RECORD_TABLES {
        let q = format!("UPDATE {table} SET company_id = ?, updated_at = ?, change_seq = ?, version = version + 1 WHERE company_id = ?");
        let n = tx.execute(&sql(&q, [survivor.into(), now.clone().into(), seq.into(), loser.into()])).await?;
        *moved.entry((*table).into()).or_default() += n;
    }
    // Its people are found by their new company's name.
    tx.execute(&sql("UPDATE customers SET company_text = ? WHERE company_id = ?", [text::fold(survivor_name).into(), survivor.into()]))
        .await?;
    let n = tx.execute(&sql("UPDATE sla_policies SET company_id = ? WHERE company_id = ?", [survivor.into(), loser.into()])).await?;
    *moved.entry("sla_policies".into()).or_default() += n;
    // Its tags join the survivor's with the merged data; the tombstone keeps none.
    tx.execute(&sql("DELETE FROM company_tags WHERE company_id = ?", [loser.into()])).await?;
    moved.retain(|_, n| *n > 0);
    Ok(())
}
