//! Merging duplicate people: the survivor's fields, and what of a loser's moves (orders,
//! deals, activities, tickets, feedback, memberships, consents, history).

use std::collections::BTreeMap;

use rapport_domain::customer::{Customer, CustomerData};
use rapport_domain::permissions::Actor;
use rapport_domain::record::{get_path, set_path};
use rapport_domain::sales::order::Order;
use rapport_domain::{ValidationErrors, now_rfc3339};
use serde_json::{Map, Value};

use crate::records::engine::Table;
use crate::sales::monthly_sales;
use crate::sql::sql;
use crate::{Result, Store, WriteTx};

/// The fields a merge chooses among: the editable fields of people, and `custom.<key>`.
pub fn merge_fields() -> Vec<&'static str> {
    super::editable(Customer::SPEC)
}

/// The survivor's data after the merge (see [`super::choose`]): a primary email or phone that
/// does not survive is kept among the additional ones, and the lead's read-only stamps follow
/// the record whose lead status was chosen. `records` is the survivor first, then the losers.
pub fn merged_data(
    records: &[(i64, &CustomerData)],
    choices: &BTreeMap<String, i64>,
) -> std::result::Result<CustomerData, ValidationErrors> {
    let maps: Vec<(i64, Map<String, Value>)> = records.iter().map(|(id, d)| (*id, super::to_map(d))).collect();
    let lists = [("additional_emails", Some("email")), ("additional_phones", Some("phone")), ("tags", None)];
    let mut out = super::choose(&maps, &merge_fields(), &lists, choices, "people")?;
    // Read-only lead stamps follow the lead status's record when it was chosen, else fill blanks.
    for field in ["converted_at", "converted_opportunity_id"] {
        let v = match choices.get("lead_status") {
            Some(id) => maps.iter().find(|(i, _)| i == id).map(|(_, m)| get_path(m, field).clone()).unwrap_or(Value::Null),
            None => maps.iter().map(|(_, m)| get_path(m, field).clone()).find(|v| !super::blank(v)).unwrap_or(Value::Null),
        };
        set_path(&mut out, field, v);
    }
    serde_json::from_value(Value::Object(out))
        .map_err(|e| ValidationErrors::single("fields", format!("the merged record is not valid: {e}")))
}

/// Tables of records that carry their person in `customer_id` and that sync clients follow
/// (a move is a change of theirs: new version and change sequence).
const RECORD_TABLES: &[&str] = &["orders", "opportunities", "activities", "tickets", "feedback"];

/// History rows that move as they are (no uniqueness per person): table and column.
const HISTORY: &[(&str, &str)] = &[
    ("lead_status_changes", "customer_id"),
    ("marketing_consents", "person_id"),
    ("marketing_confirmations", "person_id"),
    ("marketing_events", "person_id"),
    ("marketing_suppressions", "person_id"),
];

/// Membership rows unique per (group, person): a loser's row where the survivor has one already
/// is dropped (after giving the survivor its milestones, for campaigns), the others move.
const MEMBERSHIPS: &[(&str, &str, &str)] = &[
    ("ticket_contacts", "customer_id", "ticket_id"),
    ("campaign_members", "person_id", "campaign_id"),
    ("segment_members", "person_id", "segment_id"),
];

/// Rows unique per (group, person) that are history rather than membership: the ones that would
/// collide stay with the loser's tombstone, the others move.
const KEPT_ON_CONFLICT: &[(&str, &str, &str)] =
    &[("sequence_enrollments", "person_id", "sequence_id"), ("mail_queue", "person_id", "send_id")];

impl Store {
    /// Merges `losers` into `survivor` (see the module): `choices` maps a field (`email`,
    /// `address.city`, `custom.<key>`…) to the id of the record whose value survives; `if_match`
    /// is the survivor's version. Needs `update` and `delete` on people. The survivor as saved.
    pub async fn merge_customers(
        &self,
        actor: &Actor,
        survivor: i64,
        losers: &[i64],
        if_match: Option<i64>,
        choices: &BTreeMap<String, i64>,
    ) -> Result<(Customer, Value)> {
        let (mut tx, ids, kept, gone) = self.merge_parties::<Customer>(actor, survivor, losers, if_match).await?;
        let records: Vec<(i64, &CustomerData)> = std::iter::once(&kept).chain(&gone).map(|c| (c.id, &c.data)).collect();
        let merged = merged_data(&records, choices)?;
        let mut moved: BTreeMap<String, u64> = BTreeMap::new();
        for l in &gone {
            self.absorb(&mut tx, l.id, survivor, &mut moved).await?;
        }
        let names = gone.into_iter().map(|c| c.data.name).collect();
        self.finish_merge::<Customer>(tx, actor, survivor, &ids, names, choices, moved, merged).await
    }

    /// Moves what belongs to `loser` to `survivor` and leaves `loser` a tombstone naming it.
    async fn absorb(&self, tx: &mut WriteTx, loser: i64, survivor: i64, moved: &mut BTreeMap<String, u64>) -> Result<()> {
        let now = now_rfc3339();
        let seq = tx.change_seq().await?;
        // The tombstone first: the loser's unique values (email, external id) are free after it.
        tx.execute(&sql(
            "UPDATE customers SET deleted_at = ?, merged_into = ?, updated_at = ?, change_seq = ?, version = version + 1 WHERE id = ?",
            [now.clone().into(), survivor.into(), now.clone().into(), seq.into(), loser.into()],
        ))
        .await?;
        // Earlier merges into the loser now point at the survivor: one hop reaches a live person.
        let n = tx
            .execute(&sql(
                "UPDATE customers SET merged_into = ?, updated_at = ?, change_seq = ? WHERE merged_into = ?",
                [survivor.into(), now.clone().into(), seq.into(), loser.into()],
            ))
            .await?;
        *moved.entry("merged_people".into()).or_default() += n;
        // Orders leave the loser's part of the monthly sales and join the survivor's.
        let counted = format!("SELECT o.id FROM orders o WHERE o.customer_id = ? AND {}", monthly_sales::COUNTED);
        let order_ids = tx.fetch_all(&sql(&counted, [loser.into()]), |r| r.get::<i64>("id")).await?;
        let mut before = Vec::new();
        for id in order_ids {
            before.push(self.record_in::<Order>(tx, &Actor::system(), id, false).await?.data);
        }
        for table in RECORD_TABLES {
            let q =
                format!("UPDATE {table} SET customer_id = ?, updated_at = ?, change_seq = ?, version = version + 1 WHERE customer_id = ?");
            let n = tx.execute(&sql(&q, [survivor.into(), now.clone().into(), seq.into(), loser.into()])).await?;
            *moved.entry((*table).into()).or_default() += n;
        }
        let after: Vec<_> = before
            .iter()
            .cloned()
            .map(|mut d| {
                d.customer_id = Some(survivor);
                d
            })
            .collect();
        monthly_sales::apply(tx, &before, &after).await?;
        for (table, col) in HISTORY {
            let n = tx.execute(&sql(&format!("UPDATE {table} SET {col} = ? WHERE {col} = ?"), [survivor.into(), loser.into()])).await?;
            *moved.entry((*table).into()).or_default() += n;
        }
        // A person is not a contact of their own ticket.
        tx.execute(&sql(
            "DELETE FROM ticket_contacts WHERE customer_id IN (?, ?) AND ticket_id IN (SELECT id FROM tickets WHERE customer_id = ?)",
            [loser.into(), survivor.into(), survivor.into()],
        ))
        .await?;
        // Campaign milestones the loser reached count for the survivor's membership.
        let milestones = [
            "sent_at",
            "delivered_at",
            "opened_at",
            "clicked_at",
            "responded_at",
            "converted_at",
            "unsubscribed_at",
            "bounced_at",
            "complained_at",
        ];
        let sets: Vec<String> = milestones
            .iter()
            .map(|m| format!("{m} = COALESCE({m}, (SELECT l.{m} FROM campaign_members l WHERE l.person_id = ? AND l.campaign_id = campaign_members.campaign_id))"))
            .collect();
        let q = format!(
            "UPDATE campaign_members SET {} WHERE person_id = ? AND campaign_id IN (SELECT campaign_id FROM campaign_members WHERE person_id = ?)",
            sets.join(", ")
        );
        let mut args: Vec<crate::sql::Arg> = milestones.iter().map(|_| loser.into()).collect();
        args.extend([survivor.into(), loser.into()]);
        tx.execute(&sql(&q, args)).await?;
        for (table, col, group) in MEMBERSHIPS {
            let n = super::move_unique(tx, table, col, group, loser, survivor).await?;
            *moved.entry((*table).into()).or_default() += n;
            tx.execute(&sql(&format!("DELETE FROM {table} WHERE {col} = ?"), [loser.into()])).await?;
        }
        for (table, col, group) in KEPT_ON_CONFLICT {
            let n = super::move_unique(tx, table, col, group, loser, survivor).await?;
            *moved.entry((*table).into()).or_default() += n;
        }
        moved.retain(|_, n| *n > 0);
        Ok(())
    }
}
