//! Segments, on the shared record machinery, and the compiler from their rules to SQL.
//!
//! A segment's audience is one condition on the people table (aliased by the caller), built
//! from the checked rule tree with every value bound as a parameter: person columns compared
//! directly, company fields as correlated scalar subqueries, custom fields through each
//! engine's JSON operator. Order statistics, tags and engagement are sets of people read once
//! per count (`p.id IN (…)`, uncorrelated: both engines build the set once and probe it per
//! person, where a correlated subquery would seek its table a million times): tags and campaign
//! members through their indexes, order statistics from `customer_order_stats` (kept by triggers
//! on orders), where a person without orders has no row — so a condition that holds for the
//! empty statistic (spend 0, count 0, no date) is compiled as "not among those it fails for". Every leaf yields true or false, never NULL, so `not` is the exact complement.
//! Excluded segments are `AND NOT (<their condition>)`. Counts apply the reader's record
//! visibility; large counts are kept for a few seconds, since the builder asks on each edit.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use rapport_domain::ValidationErrors;
use rapport_domain::custom_field::FieldObject;
use rapport_domain::marketing::segments::{Audience, Condition, Rule, Segment, SegmentData, SegmentInput, Source, ValueType, parse_rules};
use rapport_domain::now_rfc3339;
use rapport_domain::permissions::{Action, Actor, Object, require};
use rapport_domain::query::{ListParams, Page};
use rapport_domain::record::RecordSpec;
use serde_json::{Value, json};

use crate::records::engine::Table;
use crate::records::visible;
use crate::sql::{Arg, Sql, sql};
use crate::{Backend, Error, Result, Store, WriteTx};

impl Table for Segment {
    const SPEC: &'static RecordSpec = &rapport_domain::marketing::segments::SPEC;
    type Data = SegmentData;

    fn data(&self) -> &SegmentData {
        &self.data
    }
    fn version(&self) -> i64 {
        self.version
    }
    fn tombstone(self) -> Segment {
        Segment::tombstone(self)
    }

    async fn after_insert(_: &Store, tx: &mut WriteTx, _: &Actor, id: i64, data: &SegmentData) -> Result<()> {
        check_excludes(tx, id, &data.exclude).await
    }

    async fn after_update(_: &Store, tx: &mut WriteTx, _: &Actor, id: i64, before: &SegmentData, after: &SegmentData) -> Result<()> {
        if before.exclude != after.exclude {
            check_excludes(tx, id, &after.exclude).await?;
        }
        Ok(())
    }
}

/// Each excluded segment must be live, and excluding it must not lead back to segment `id`.
async fn check_excludes(tx: &mut WriteTx, id: i64, exclude: &[i64]) -> Result<()> {
    for (i, x) in exclude.iter().enumerate() {
        let field = format!("exclude[{i}]");
        let mut todo = vec![*x];
        let mut seen = HashSet::new();
        while let Some(s) = todo.pop() {
            if s == id {
                return Err(Error::Invalid(ValidationErrors::single(
                    field,
                    format!("segment {x} excludes this segment: a segment cannot exclude itself"),
                )));
            }
            if !seen.insert(s) {
                continue;
            }
            let q = sql("SELECT exclude FROM segments WHERE id = ? AND deleted_at IS NULL", [s.into()]);
            match tx.fetch_optional(&q, |r| r.get::<String>("exclude")).await? {
                Some(e) => todo.extend(serde_json::from_str::<Vec<i64>>(&e).unwrap_or_default()),
                None if s == *x => return Err(Error::Invalid(ValidationErrors::single(field, format!("there is no segment with id {x}")))),
                None => {}
            }
        }
    }
    Ok(())
}

/// Appends the condition that a person aliased `a` is in `audience`.
pub(crate) fn audience_condition(q: &mut Sql, backend: Backend, a: &str, audience: &Audience) {
    q.push("(");
    match &audience.rules {
        Some(r) => rule(q, backend, a, r),
        None => {
            q.push(&format!("EXISTS (SELECT 1 FROM segment_members sm WHERE sm.person_id = {a}.id AND sm.segment_id = "));
            q.arg(audience.segment_id).push(")");
        }
    }
    for x in &audience.exclude {
        q.push(" AND NOT ");
        audience_condition(q, backend, a, x);
    }
    q.push(")");
}

fn rule(q: &mut Sql, backend: Backend, a: &str, r: &Rule) {
    match r {
        Rule::All(v) | Rule::Any(v) if v.is_empty() => {
            q.push(if matches!(r, Rule::All(_)) { "1 = 1" } else { "1 = 0" });
        }
        Rule::All(v) | Rule::Any(v) => {
            let join = if matches!(r, Rule::All(_)) { " AND " } else { " OR " };
            q.push("(");
            for (i, x) in v.iter().enumerate() {
                if i > 0 {
                    q.push(join);
                }
                rule(q, backend, a, x);
            }
            q.push(")");
        }
        Rule::Not(x) => {
            q.push("NOT (");
            rule(q, backend, a, x);
            q.push(")");
        }
        Rule::Cond(c) => cond(q, backend, a, c),
    }
}

fn arg_of(v: &Value, ty: ValueType) -> Arg {
    match (ty, v) {
        (ValueType::Number | ValueType::Campaign, Value::Number(n)) => match n.as_i64() {
            Some(i) => Arg::Int(Some(i)),
            None => Arg::Real(n.as_f64()),
        },
        (_, Value::String(s)) => Arg::from(s.clone()),
        (_, other) => Arg::from(other.to_string()),
    }
}

/// Whether a custom key is safe to write into SQL text (keys are checked when defined; this
/// keeps the compiler safe on its own).
fn plain_key(k: &str) -> bool {
    !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn cond(q: &mut Sql, backend: Backend, a: &str, c: &Condition) {
    let expr = match &c.source {
        Source::Tag => {
            let not = if c.op == "has_not" { "NOT " } else { "" };
            q.push(&format!("{a}.id {not}IN (SELECT tg.customer_id FROM customer_tags tg WHERE tg.tag = "));
            q.arg(arg_of(&c.values[0], c.ty)).push(")");
            return;
        }
        Source::Engagement(kind) => {
            let milestone = match kind.as_str() {
                "received" => " AND cm.sent_at IS NOT NULL AND cm.bounced_at IS NULL",
                "opened" => " AND cm.opened_at IS NOT NULL",
                "clicked" => " AND cm.clicked_at IS NOT NULL",
                "not_opened" => " AND cm.sent_at IS NOT NULL AND cm.opened_at IS NULL",
                _ => "",
            };
            q.push(&format!("{a}.id IN (SELECT cm.person_id FROM campaign_members cm WHERE cm.campaign_id = "));
            q.arg(arg_of(&c.values[0], c.ty)).push(milestone).push(")");
            return;
        }
        Source::Person { column, time: true } => format!("substr({a}.{column}, 1, 10)"),
        Source::Person { column, time: false } => format!("{a}.{column}"),
        Source::Company { column } => {
            format!("(SELECT c.{column} FROM companies c WHERE c.id = {a}.company_id AND c.deleted_at IS NULL)")
        }
        Source::Custom { key } if !plain_key(key) => {
            q.push("1 = 0");
            return;
        }
        Source::Custom { key } => match (backend, c.ty) {
            (Backend::Sqlite, _) => format!("json_extract({a}.custom, '$.{key}')"),
            (Backend::Postgres, ValueType::Number) => format!("(({a}.custom::jsonb) ->> '{key}')::float8"),
            (Backend::Postgres, _) => format!("(({a}.custom::jsonb) ->> '{key}')"),
        },
        Source::TotalSpend | Source::OrderCount | Source::LastOrderDate => {
            let (column, empty) = match c.source {
                Source::TotalSpend => ("os.total_spend", Some(0.0)),
                Source::OrderCount => ("os.order_count", Some(0.0)),
                _ => ("os.last_order_date", None),
            };
            let (set, not) = if holds_for(c, empty) { ("NOT IN", "NOT ") } else { ("IN", "") };
            q.push(&format!("{a}.id {set} (SELECT os.customer_id FROM customer_order_stats os WHERE {not}"));
            compare(q, backend, column, c);
            q.push(")");
            return;
        }
    };
    compare(q, backend, &expr, c);
}

/// Whether condition `c` on an order statistic holds for a person without live orders, whose
/// statistic is `empty` (0 for spend and count, no value — SQL's NULL — for the last date), as
/// [`compare`] would decide in SQL.
fn holds_for(c: &Condition, empty: Option<f64>) -> bool {
    let num = |v: &Value| v.as_f64().or_else(|| v.as_str().and_then(|s| s.parse().ok()));
    let Some(x) = empty else {
        return matches!(c.op.as_str(), "ne" | "not_in" | "not_within_last_days" | "is_empty");
    };
    let first = c.values.first().and_then(num);
    match c.op.as_str() {
        "eq" => first == Some(x),
        "ne" => first != Some(x),
        "gt" => first.is_some_and(|v| x > v),
        "gte" => first.is_some_and(|v| x >= v),
        "lt" => first.is_some_and(|v| x < v),
        "lte" => first.is_some_and(|v| x <= v),
        "in" => c.values.iter().any(|v| num(v) == Some(x)),
        "not_in" => !c.values.iter().any(|v| num(v) == Some(x)),
        "is_set" => true,
        _ => false,
    }
}

/// Appends condition `c` on the value `expr`: true or false, never NULL.
fn compare(q: &mut Sql, backend: Backend, expr: &str, c: &Condition) {
    let value = |q: &mut Sql, v: &Value| {
        if c.ty == ValueType::Bool {
            // JSON booleans read as 1/0 through SQLite's json_extract, as text through `->>`.
            let b = v.as_bool().unwrap_or(false);
            match backend {
                Backend::Sqlite => q.arg(b as i64),
                Backend::Postgres => q.arg(b.to_string()),
            };
        } else {
            q.arg(arg_of(v, c.ty));
        }
    };
    let cmp = |op: &str| match op {
        "eq" => "=",
        "ne" => "<>",
        "gt" => ">",
        "gte" => ">=",
        "lt" => "<",
        _ => "<=",
    };
    match c.op.as_str() {
        "eq" | "gt" | "gte" | "lt" | "lte" => {
            q.push(&format!("({expr} IS NOT NULL AND {expr} {} ", cmp(&c.op)));
            value(q, &c.values[0]);
            q.push(")");
        }
        "ne" => {
            q.push(&format!("({expr} IS NULL OR {expr} <> "));
            value(q, &c.values[0]);
            q.push(")");
        }
        "in" | "not_in" => {
            let (pre, op) = if c.op == "in" { ("IS NOT NULL AND", "IN") } else { ("IS NULL OR", "NOT IN") };
            q.push(&format!("({expr} {pre} {expr} {op} ("));
            for (i, v) in c.values.iter().enumerate() {
                if i > 0 {
                    q.push(", ");
                }
                value(q, v);
            }
            q.push("))");
        }
        "contains" | "starts_with" => {
            let raw = c.values[0].as_str().unwrap_or("").to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
            let pattern = if c.op == "contains" { format!("%{raw}%") } else { format!("{raw}%") };
            q.push(&format!("({expr} IS NOT NULL AND lower({expr}) LIKE ")).arg(pattern).push(" ESCAPE '\\')");
        }
        "within_last_days" | "not_within_last_days" => {
            let days = c.values[0].as_i64().unwrap_or(0);
            let cutoff = (chrono::Utc::now().date_naive() - chrono::Duration::days(days)).format("%Y-%m-%d").to_string();
            let (pre, op) = if c.op == "within_last_days" { ("IS NOT NULL AND", ">=") } else { ("IS NULL OR", "<") };
            q.push(&format!("({expr} {pre} {expr} {op} ")).arg(cutoff).push(")");
        }
        "is_set" | "is_empty" => {
            let set = match c.ty {
                ValueType::Text => format!("({expr} IS NOT NULL AND {expr} <> '')"),
                _ => format!("({expr} IS NOT NULL)"),
            };
            q.push(&if c.op == "is_set" { set } else { format!("NOT {set}") });
        }
        _ => {
            q.push("1 = 0");
        }
    }
}

/// Counts at or above this many are kept for [`COUNT_TTL`].
const CACHE_FROM: i64 = 10_000;
const COUNT_TTL: Duration = Duration::from_secs(10);

type CountCache = Mutex<HashMap<String, (Instant, i64)>>;

fn count_cache() -> &'static CountCache {
    static CACHE: OnceLock<CountCache> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

impl Store {
    /// One live segment.
    pub async fn get_segment(&self, actor: &Actor, id: i64) -> Result<Segment> {
        self.get_record(actor, id).await
    }

    /// A page of segments matching `p`.
    pub async fn list_segments(&self, actor: &Actor, p: &ListParams) -> Result<Page<Segment>> {
        self.list_records(actor, p).await
    }

    /// Adds a segment; its rules are checked against people's custom fields, its exclusions
    /// must name live segments.
    pub async fn create_segment(&self, actor: &Actor, input: SegmentInput) -> Result<Segment> {
        require(actor, Object::Campaign, Action::Create)?;
        let defs = self.list_custom_fields(actor, Some(FieldObject::Customer)).await?;
        self.create_record(actor, input.apply(None, &defs)?).await
    }

    /// Changes the fields of a segment that were sent.
    pub async fn update_segment(&self, actor: &Actor, id: i64, if_match: Option<i64>, input: SegmentInput) -> Result<Segment> {
        let defs = self.list_custom_fields(actor, Some(FieldObject::Customer)).await?;
        self.update_record(actor, id, if_match, |cur: &SegmentData| input.apply(Some(cur), &defs)).await
    }

    /// Soft-deletes a segment (segments excluding it stop excluding it).
    pub async fn delete_segment(&self, actor: &Actor, id: i64, if_match: Option<i64>) -> Result<()> {
        self.delete_record::<Segment>(actor, id, if_match).await
    }

    /// Segment `id` resolved for compiling, with the segments it excludes.
    pub async fn audience(&self, actor: &Actor, id: i64) -> Result<Audience> {
        let defs = self.list_custom_fields(&Actor::system(), Some(FieldObject::Customer)).await?;
        let mut seen = HashSet::new();
        Box::pin(self.resolve(actor, id, &defs, &mut seen)).await
    }

    async fn resolve(
        &self,
        actor: &Actor,
        id: i64,
        defs: &[rapport_domain::custom_field::CustomField],
        seen: &mut HashSet<i64>,
    ) -> Result<Audience> {
        let s = self.get_segment(actor, id).await?;
        seen.insert(id);
        let rules = if s.data.kind == "static" {
            None
        } else {
            let mut errs = ValidationErrors::default();
            let r = parse_rules(&s.data.rules, "rules", defs, &mut errs);
            if !errs.0.is_empty() {
                return Err(Error::Invalid(errs));
            }
            r
        };
        let mut exclude = vec![];
        for x in &s.data.exclude {
            if seen.contains(x) {
                continue;
            }
            match Box::pin(self.resolve(actor, *x, defs, seen)).await {
                Ok(a) => exclude.push(a),
                Err(Error::NotFound) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(Audience { segment_id: id, rules, exclude })
    }

    fn audience_count_sql(&self, actor: &Actor, audience: &Audience) -> Sql {
        let mut q = Sql::new("SELECT COUNT(*) AS n FROM customers p WHERE p.deleted_at IS NULL AND ");
        audience_condition(&mut q, self.backend, "p", audience);
        visible(&mut q, actor, "p");
        q
    }

    /// The engine's plan of the count of rules not saved yet (as [`Store::preview_count`]
    /// counts them), planned as for a large database: for the plan tests.
    pub async fn explain_preview_count(&self, actor: &Actor, rules: &Value) -> Result<String> {
        let defs = self.list_custom_fields(&Actor::system(), Some(FieldObject::Customer)).await?;
        let mut errs = ValidationErrors::default();
        let rule = parse_rules(rules, "rules", &defs, &mut errs);
        if !errs.0.is_empty() {
            return Err(Error::Invalid(errs));
        }
        self.explain(&self.audience_count_sql(actor, &Audience { segment_id: 0, rules: rule, exclude: vec![] }), true).await
    }

    /// How many live people the actor may see are in `audience`.
    pub async fn audience_count(&self, actor: &Actor, audience: &Audience) -> Result<i64> {
        require(actor, Object::Campaign, Action::Read)?;
        require(actor, Object::Customer, Action::Read)?;
        let q = self.audience_count_sql(actor, audience);
        let key = format!("{:p}|{}|{:?}", std::sync::Arc::as_ptr(&self.sessions), q.text, q.args());
        if let Some((at, n)) = count_cache().lock().ok().and_then(|c| c.get(&key).copied())
            && at.elapsed() < COUNT_TTL
        {
            return Ok(n);
        }
        let n = self.read(&q, |r| r.get::<i64>("n")).await?.into_iter().next().unwrap_or(0);
        if n >= CACHE_FROM
            && let Ok(mut c) = count_cache().lock()
        {
            c.retain(|_, (at, _)| at.elapsed() < COUNT_TTL);
            c.insert(key, (Instant::now(), n));
        }
        Ok(n)
    }

    /// The live count of rules not saved yet (the builder's preview): checked as a save would.
    pub async fn preview_count(&self, actor: &Actor, rules: &Value, exclude: &[i64]) -> Result<i64> {
        require(actor, Object::Campaign, Action::Read)?;
        let defs = self.list_custom_fields(&Actor::system(), Some(FieldObject::Customer)).await?;
        let mut errs = ValidationErrors::default();
        let rule = parse_rules(rules, "rules", &defs, &mut errs);
        let mut excluded = vec![];
        for (i, x) in exclude.iter().enumerate() {
            match self.audience(actor, *x).await {
                Ok(a) => excluded.push(a),
                Err(Error::NotFound) => errs.add(format!("exclude[{i}]"), format!("there is no segment with id {x}")),
                Err(e) => return Err(e),
            }
        }
        if !errs.0.is_empty() {
            return Err(Error::Invalid(errs));
        }
        self.audience_count(actor, &Audience { segment_id: 0, rules: rule, exclude: excluded }).await
    }

    /// Adds people to a static segment (only people the actor may see); how many joined.
    pub async fn join_list(&self, actor: &Actor, segment_id: i64, person_ids: &[i64]) -> Result<u64> {
        require(actor, Object::Campaign, Action::Update)?;
        let s = self.get_segment(actor, segment_id).await?;
        if s.data.kind != "static" {
            return Err(Error::Invalid(ValidationErrors::single(
                "segment_id",
                "people join static segments (lists) only; a dynamic segment's rules decide",
            )));
        }
        let mut tx = self.write_tx().await?;
        let now = now_rfc3339();
        let mut added = 0;
        for chunk in person_ids.chunks(200) {
            let mut q = Sql::new("INSERT INTO segment_members (segment_id, person_id, added_at) SELECT ");
            q.arg(segment_id).push(", p.id, ").arg(now.clone()).push(" FROM customers p WHERE p.deleted_at IS NULL AND p.id IN (");
            for (i, id) in chunk.iter().enumerate() {
                q.push(if i == 0 { "" } else { ", " }).arg(*id);
            }
            q.push(")");
            visible(&mut q, actor, "p");
            q.push(" ON CONFLICT (segment_id, person_id) DO NOTHING");
            added += tx.execute(&q).await?;
        }
        self.audit(&mut tx, actor, "update", "segment", Some(segment_id), json!({"joined": added})).await?;
        tx.commit().await?;
        Ok(added)
    }

    /// Takes people out of a static segment; how many left.
    pub async fn leave_list(&self, actor: &Actor, segment_id: i64, person_ids: &[i64]) -> Result<u64> {
        require(actor, Object::Campaign, Action::Update)?;
        self.get_segment(actor, segment_id).await?;
        let mut tx = self.write_tx().await?;
        let mut left = 0;
        for id in person_ids {
            left += tx
                .execute(&sql("DELETE FROM segment_members WHERE segment_id = ? AND person_id = ?", [segment_id.into(), (*id).into()]))
                .await?;
        }
        self.audit(&mut tx, actor, "update", "segment", Some(segment_id), json!({"left": left})).await?;
        tx.commit().await?;
        Ok(left)
    }
}
