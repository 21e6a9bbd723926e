//! Merging duplicate companies: the survivor's fields, and what of a loser's moves to it (its
//! people, orders, deals, activities, tickets and SLA policies; its tags join the survivor's).

use std::collections::BTreeMap;

use rapport_domain::company::{Company, CompanyData};
use rapport_domain::permissions::Actor;
use rapport_domain::{ValidationErrors, now_rfc3339, text};
use serde_json::{Map, Value};

use crate::records::engine::Table;
use crate::sql::sql;
use crate::{Result, Store, WriteTx};

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
        let (mut tx, ids, kept, gone) = self.merge_parties::<Company>(actor, survivor, losers, if_match).await?;
        let records: Vec<(i64, &CompanyData)> = std::iter::once(&kept).chain(&gone).map(|c| (c.id, &c.data)).collect();
        let merged = merged_company(&records, choices)?;
        let mut moved: BTreeMap<String, u64> = BTreeMap::new();
        for l in &gone {
            absorb(&mut tx, l.id, survivor, &kept.data.name, &mut moved).await?;
        }
        // A new name reaches the survivor's people through the update's hook.
        let names = gone.into_iter().map(|c| c.data.name).collect();
        self.finish_merge::<Company>(tx, actor, survivor, &ids, names, choices, moved, merged).await
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
