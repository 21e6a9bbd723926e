//! An incremental sync client for Rapport (issue 13 §7): it mirrors every record type whose
//! list offers `updated_since` into a SQLite file, and compares the mirror with the server.
//!
//! - **A token per type.** The first poll of a type asks for `updated_since=1970-01-01…`; every
//!   page carries a `sync_token`, stored in the mirror in the same transaction as the page's
//!   records, and the next poll resumes from it (`sync_token=…`). The server lists changes in
//!   commit order and never serves past a change still being committed, so resuming from any
//!   token misses nothing.
//! - **Tombstones.** Deleted records come back in the listing with `deleted_at` set: the mirror
//!   deletes them.
//! - **Merges.** A record merged away comes back deleted with `merged_into` (people) or
//!   `merged_into_id` (tickets) naming the survivor: the loser is deleted, the merge remembered,
//!   and the survivor fetched at once (following further merges), so the mirror never holds a
//!   reference to a record that only exists under another id.
//! - **Derived fields** (the titles of referenced records such as `company_name`, counts such as
//!   `people_count`, attainment figures) are computed by the server when read and change without
//!   the record changing: the mirror leaves them out (see [`derived`]) and joins locally instead.
//!
//! Run it with an admin's token: a listing shows what the caller may see, so a narrower role
//! mirrors its own reach only.

pub mod http;
pub mod mirror;

use std::collections::BTreeMap;

use anyhow::{Context, bail};
use serde_json::Value;

pub use http::{Answer, Client};
pub use mirror::{Mirror, PageChanges};

/// Records per page of a sync or compare listing (the API's maximum).
pub const PAGE: usize = 500;

/// Where a first sync starts: before any record.
const EPOCH: &str = "1970-01-01T00:00:00Z";

/// The record types a server of this version lists with `updated_since`, in the order a mirror
/// syncs them when the API document cannot be read.
pub const KNOWN_KINDS: &[&str] = &[
    "companies",
    "customers",
    "products",
    "pipelines",
    "opportunities",
    "orders",
    "activities",
    "targets",
    "tickets",
    "feedback",
    "macros",
    "segments",
    "campaigns",
];

/// The fields of `kind` that the server computes when reading (not part of the record's own
/// state, so they change without a new version): the titles of referenced records, counts and
/// attainment. Besides these, any `<x>_name` beside an `<x>_id` is the title of a reference.
pub fn derived(kind: &str) -> &'static [&'static str] {
    match kind {
        "companies" => &["people_count"],
        "opportunities" => &["stage_name", "probability"],
        "targets" => &["achieved_minor", "percent_bp", "counted", "other_currency"],
        "campaigns" => &["members_count"],
        // Where the ticket's SLA targets stand now (`GET` of one ticket only).
        "tickets" => &["sla"],
        _ => &[],
    }
}

/// `record` without the fields [`derived`] names for `kind`.
pub fn own_fields(kind: &str, mut record: Value) -> Value {
    if let Value::Object(m) = &mut record {
        for f in derived(kind) {
            m.remove(*f);
        }
        let titles: Vec<String> =
            m.keys().filter_map(|k| k.strip_suffix("_name").filter(|x| m.contains_key(&format!("{x}_id"))).map(|_| k.clone())).collect();
        for k in titles {
            m.remove(&k);
        }
    }
    record
}

/// The survivor a tombstone or a "merged" answer names, if any.
pub fn merged_into(record: &Value) -> Option<i64> {
    ["merged_into", "merged_into_id"].iter().find_map(|f| record.get(*f).and_then(Value::as_i64))
}

/// The record types `client`'s server lists with `updated_since`: every `GET` path of its API
/// document that takes the parameter, known ones first in [`KNOWN_KINDS`] order.
pub async fn discover(client: &Client) -> anyhow::Result<Vec<String>> {
    let doc = client.get("/api/v1/openapi.json").await?;
    if doc.status != 200 {
        return Ok(KNOWN_KINDS.iter().map(|k| k.to_string()).collect());
    }
    let mut kinds: Vec<String> = doc.body["paths"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(path, item)| {
            !path.contains('{') && item["get"]["parameters"].as_array().is_some_and(|ps| ps.iter().any(|p| p["name"] == "updated_since"))
        })
        // A record list is one segment (`/api/v1/tickets`); `/api/v1/tickets/counts` shares its
        // parameters but is not a list.
        .filter_map(|(path, _)| path.strip_prefix("/api/v1/").filter(|k| !k.contains('/')).map(String::from))
        .collect();
    let rank = |k: &String| KNOWN_KINDS.iter().position(|known| known == k).unwrap_or(KNOWN_KINDS.len());
    kinds.sort_by(|a, b| rank(a).cmp(&rank(b)).then(a.cmp(b)));
    Ok(kinds)
}

/// What one sync of one type did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Synced {
    /// Pages read.
    pub pages: usize,
    /// Records written (created or changed).
    pub upserted: usize,
    /// Records deleted (tombstones, merges included).
    pub deleted: usize,
    /// Merges followed.
    pub merges: usize,
}

/// `v` percent-encoded for a query string (sync tokens and cursors are opaque).
pub fn encode(v: &str) -> String {
    url::form_urlencoded::byte_serialize(v.as_bytes()).collect()
}

/// Brings the mirror's `kind` up to date: every change after the stored token, page by page.
pub async fn sync_kind(client: &Client, mirror: &mut Mirror, kind: &str) -> anyhow::Result<Synced> {
    let mut done = Synced::default();
    let mut token = mirror.token(kind)?;
    loop {
        let from = match &token {
            Some(t) => format!("sync_token={}", encode(t)),
            None => format!("updated_since={}", encode(EPOCH)),
        };
        let a = client.get(&format!("/api/v1/{kind}?{from}&limit={PAGE}")).await?;
        if a.status != 200 {
            bail!("listing {kind} answered HTTP {}: {}", a.status, a.body);
        }
        let Some(next) = a.body["sync_token"].as_str().map(String::from) else {
            // A first poll of a type with no records yet has no position to give: the next
            // run starts from the beginning again.
            if token.is_none() && a.body["data"].as_array().is_some_and(|d| d.is_empty()) {
                return Ok(done);
            }
            bail!("the {kind} listing carries no sync_token: does it offer updated_since?");
        };
        let mut changes = PageChanges::default();
        for record in a.body["data"].as_array().into_iter().flatten() {
            let id = record["id"].as_i64().with_context(|| format!("a {kind} record without an id: {record}"))?;
            if record["deleted_at"].is_string() {
                changes.deletes.push(id);
                if let Some(survivor) = merged_into(record) {
                    changes.merges.push((id, survivor));
                }
            } else {
                changes.upserts.push((id, own_fields(kind, record.clone())));
            }
        }
        // The survivors, as they are now: read after the page, so never older than it.
        for (_, survivor) in changes.merges.clone() {
            match follow(client, kind, survivor).await? {
                (id, Some(record)) => changes.upserts.push((id, record)),
                (id, None) => changes.deletes.push(id),
            }
        }
        // A survivor fetched live wins over a tombstone of the same id seen earlier in the page.
        let live: Vec<i64> = changes.upserts.iter().map(|(id, _)| *id).collect();
        changes.deletes.retain(|id| !live.contains(id));
        mirror.apply(kind, &changes, &next)?;
        done.pages += 1;
        done.upserted += changes.upserts.len();
        done.deleted += changes.deletes.len();
        done.merges += changes.merges.len();
        let more = a.body["next_cursor"].is_string();
        token = Some(next);
        if !more {
            return Ok(done);
        }
    }
}

/// The record `id` of `kind` as it is now, following merges (at most 16): its final id and its
/// own fields, or no record when it is gone.
async fn follow(client: &Client, kind: &str, mut id: i64) -> anyhow::Result<(i64, Option<Value>)> {
    for _ in 0..16 {
        let a = client.get(&format!("/api/v1/{kind}/{id}")).await?;
        match a.status {
            200 if a.body["deleted_at"].is_string() => return Ok((id, None)),
            200 => return Ok((id, Some(own_fields(kind, a.body)))),
            301 | 307 | 308 | 404 | 410 => match merged_into(&a.body) {
                Some(next) if next != id => id = next,
                _ => return Ok((id, None)),
            },
            s => bail!("reading {kind} {id} answered HTTP {s}: {}", a.body),
        }
    }
    bail!("{kind} {id}: more than 16 merges in a row")
}

/// Syncs every type in `kinds`, in order.
pub async fn sync_all(client: &Client, mirror: &mut Mirror, kinds: &[String]) -> anyhow::Result<BTreeMap<String, Synced>> {
    let mut out = BTreeMap::new();
    for kind in kinds {
        out.insert(kind.clone(), sync_kind(client, mirror, kind).await?);
    }
    Ok(out)
}

/// Every live record of `kind` on the server now (the ordinary list, page by page), by id, with
/// its own fields only.
pub async fn server_records(client: &Client, kind: &str) -> anyhow::Result<BTreeMap<i64, Value>> {
    let mut out = BTreeMap::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = cursor.as_ref().map(|c| format!("&cursor={}", encode(c))).unwrap_or_default();
        let a = client.get(&format!("/api/v1/{kind}?limit={PAGE}&sort=id{page}")).await?;
        if a.status != 200 {
            bail!("listing {kind} answered HTTP {}: {}", a.status, a.body);
        }
        for record in a.body["data"].as_array().into_iter().flatten() {
            let id = record["id"].as_i64().with_context(|| format!("a {kind} record without an id: {record}"))?;
            out.insert(id, own_fields(kind, record.clone()));
        }
        match a.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return Ok(out),
        }
    }
}

/// One way the mirror differs from the server.
#[derive(Debug, Clone, PartialEq)]
pub enum Difference {
    /// On the server, not in the mirror.
    Missing { kind: String, id: i64 },
    /// In the mirror, gone from the server.
    Extra { kind: String, id: i64 },
    /// In both, with these fields different (mirror value, server value; `None` when absent).
    Changed { kind: String, id: i64, fields: Vec<(String, Option<Value>, Option<Value>)> },
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Difference::Missing { kind, id } => write!(f, "{kind} {id}: on the server, missing from the mirror"),
            Difference::Extra { kind, id } => write!(f, "{kind} {id}: in the mirror, gone from the server"),
            Difference::Changed { kind, id, fields } => {
                write!(f, "{kind} {id}:")?;
                let shown = |v: &Option<Value>| v.as_ref().map(|v| v.to_string()).unwrap_or_else(|| "(absent)".into());
                for (name, mine, theirs) in fields {
                    write!(f, " {name} mirror={} server={};", shown(mine), shown(theirs))?;
                }
                Ok(())
            }
        }
    }
}

/// Compares the mirror's `kind` with the server's current records: what is missing, extra or
/// different, record by record and field by field.
pub fn differences(kind: &str, mirror: &BTreeMap<i64, Value>, server: &BTreeMap<i64, Value>) -> Vec<Difference> {
    let mut out = vec![];
    for (id, theirs) in server {
        match mirror.get(id) {
            None => out.push(Difference::Missing { kind: kind.into(), id: *id }),
            Some(mine) if mine != theirs => {
                let empty = serde_json::Map::new();
                let (m, t) = (mine.as_object().unwrap_or(&empty), theirs.as_object().unwrap_or(&empty));
                let mut names: Vec<&String> = m.keys().chain(t.keys()).collect();
                names.sort();
                names.dedup();
                let fields = names
                    .into_iter()
                    .filter(|n| m.get(*n) != t.get(*n))
                    .map(|n| (n.clone(), m.get(n).cloned(), t.get(n).cloned()))
                    .collect();
                out.push(Difference::Changed { kind: kind.into(), id: *id, fields });
            }
            Some(_) => {}
        }
    }
    for id in mirror.keys().filter(|id| !server.contains_key(id)) {
        out.push(Difference::Extra { kind: kind.into(), id: *id });
    }
    out
}

/// Compares the mirror with the server for every type in `kinds`.
pub async fn compare(client: &Client, mirror: &Mirror, kinds: &[String]) -> anyhow::Result<Vec<Difference>> {
    let mut out = vec![];
    for kind in kinds {
        let server = server_records(client, kind).await?;
        out.extend(differences(kind, &mirror.records(kind)?, &server));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn derived_fields_are_left_out() {
        let r = own_fields("customers", json!({"id": 1, "name": "A", "company_id": 3, "company_name": "Acme", "first_name": "A"}));
        assert_eq!(r, json!({"id": 1, "name": "A", "company_id": 3, "first_name": "A"}));
        let c = own_fields("companies", json!({"id": 2, "name": "Acme", "people_count": 4}));
        assert_eq!(c, json!({"id": 2, "name": "Acme"}));
    }

    #[test]
    fn merges_are_read_from_either_field() {
        assert_eq!(merged_into(&json!({"merged_into": 7})), Some(7));
        assert_eq!(merged_into(&json!({"merged_into_id": 8})), Some(8));
        assert_eq!(merged_into(&json!({"merged_into_id": null})), None);
    }

    #[test]
    fn differences_name_the_record_and_the_field() {
        let mirror = BTreeMap::from([(1, json!({"id": 1, "name": "A"})), (2, json!({"id": 2}))]);
        let server = BTreeMap::from([(1, json!({"id": 1, "name": "B"})), (3, json!({"id": 3}))]);
        let d = differences("customers", &mirror, &server);
        assert_eq!(
            d,
            vec![
                Difference::Changed { kind: "customers".into(), id: 1, fields: vec![("name".into(), Some(json!("A")), Some(json!("B")))] },
                Difference::Missing { kind: "customers".into(), id: 3 },
                Difference::Extra { kind: "customers".into(), id: 2 },
            ]
        );
    }
}
