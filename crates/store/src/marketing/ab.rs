//! A/B tests of an email campaign (see [`rapport_domain::marketing::ab`]): defining the
//! variants, starting the test (each member's variant from the seed, a sending of phase
//! `test`), the counts the comparison reads, and the decision, taken exactly once: the test
//! moves from `testing` to `decided` in the transaction that writes the winner's sending
//! (phase `rest`), so a second process deciding the same test changes nothing.
//! The statistics themselves live in `rapport_analytics::ab`, applied by the server's job.

use std::collections::HashMap;

use rapport_domain::ValidationErrors;
use rapport_domain::marketing::ab::{AbMetric, AbStartInput, AbState, AbTest, AbTestInput, KEYS, Variant, VariantResult, assign};
use rapport_domain::marketing::email::SendInput;
use rapport_domain::marketing::templates::Compiled;
use rapport_domain::now_rfc3339;
use rapport_domain::permissions::{Action, Actor, Object, require};
use rapport_domain::sales::Refused;
use serde_json::json;

use super::base_url;
use crate::row::Row;
use crate::sql::{Arg, Sql, sql};
use crate::{Error, Result, Store, WriteTx};

const TEST_COLS: &str = "campaign_id, test_percent, wait_minutes, metric, fallback, seed, topic, state, test_send_id, decide_at, winner, \
                         winner_send_id, decided_at";

/// "Delivered": handed over and not bounced.
const DELIVERED: &str = "COALESCE(delivered_at, sent_at) IS NOT NULL AND bounced_at IS NULL";

fn test_row(r: &dyn Row) -> Result<AbTest> {
    Ok(AbTest {
        campaign_id: r.get("campaign_id")?,
        variants: vec![],
        test_percent: r.get("test_percent")?,
        wait_minutes: r.get("wait_minutes")?,
        metric: AbMetric::parse(&r.get::<String>("metric")?).unwrap_or_default(),
        fallback: r.get("fallback")?,
        seed: r.get("seed")?,
        topic: r.get("topic")?,
        state: AbState::parse(&r.get::<String>("state")?),
        test_send_id: r.get("test_send_id")?,
        decide_at: r.get("decide_at")?,
        winner: r.get("winner")?,
        winner_send_id: r.get("winner_send_id")?,
        decided_at: r.get("decided_at")?,
    })
}

fn variant_row(r: &dyn Row) -> Result<Variant> {
    Ok(Variant { key: r.get("key")?, template_id: r.get("template_id")?, subject: r.get("subject")? })
}

fn time_after(at: &str, minutes: i64) -> String {
    let t = chrono::DateTime::parse_from_rfc3339(at).map(|t| t.with_timezone(&chrono::Utc)).unwrap_or_else(|_| chrono::Utc::now());
    (t + chrono::Duration::minutes(minutes)).to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// The templates a sending renders with: one for everyone, or (an A/B sending) one per variant.
pub(crate) struct SendTemplates {
    phase: Option<String>,
    default: Compiled,
    by_variant: HashMap<String, Compiled>,
}

impl SendTemplates {
    /// The templates of sending `send`, whose own template is `default`: a test sending adds
    /// each variant's, the sending to the rest uses the winner's (with its subject).
    pub(crate) async fn load(store: &Store, tx: &mut WriteTx, send: i64, default: Compiled) -> Result<SendTemplates> {
        let q = sql(
            "SELECT s.ab_phase, s.campaign_id, t.winner FROM campaign_sends s LEFT JOIN campaign_ab_tests t ON t.campaign_id = s.campaign_id \
             WHERE s.id = ?",
            [send.into()],
        );
        let (phase, campaign, winner): (Option<String>, i64, Option<String>) =
            tx.fetch_one(&q, |r| Ok((r.get("ab_phase")?, r.get("campaign_id")?, r.get("winner")?))).await?;
        let mut out = SendTemplates { phase, default, by_variant: HashMap::new() };
        let Some(phase) = out.phase.clone() else { return Ok(out) };
        let q = sql("SELECT key, template_id, subject FROM campaign_variants WHERE campaign_id = ? ORDER BY position", [campaign.into()]);
        for v in tx.fetch_all(&q, variant_row).await? {
            if phase == "test" || winner.as_deref() == Some(v.key.as_str()) {
                let c = store.variant_template(tx, v.template_id, v.subject.as_deref()).await?;
                if phase == "rest" {
                    out.default = c;
                } else {
                    out.by_variant.insert(v.key, c);
                }
            }
        }
        Ok(out)
    }

    /// The condition on `campaign_members` of the members this sending mails.
    pub(crate) fn members(&self) -> &'static str {
        match self.phase.as_deref() {
            Some("test") => " AND ab_variant IS NOT NULL",
            Some(_) => " AND ab_variant IS NULL",
            None => "",
        }
    }

    /// The template of a member with `variant`.
    pub(crate) fn of(&self, variant: Option<&str>) -> &Compiled {
        variant.and_then(|v| self.by_variant.get(v)).unwrap_or(&self.default)
    }
}

impl Store {
    /// A template, parsed with `subject` instead of its own when given.
    async fn variant_template(&self, tx: &mut WriteTx, id: i64, subject: Option<&str>) -> Result<Compiled> {
        let (t, compiled) = self.template_in(tx, id).await?;
        let Some(s) = subject else { return Ok(compiled) };
        let keys = self.template_keys(tx).await?;
        let data = rapport_domain::marketing::templates::TemplateData { subject: s.to_string(), ..t.data };
        data.validated(&keys).map(|(_, c)| c).map_err(|e| {
            let mut v = ValidationErrors::default();
            for f in e.0 {
                v.add("subject", f.message);
            }
            Error::Invalid(v)
        })
    }

    async fn ab_test_in(&self, tx: &mut WriteTx, campaign: i64, lock: bool) -> Result<Option<AbTest>> {
        let lock = if lock { self.backend.lock_rows() } else { "" };
        let q = sql(&format!("SELECT {TEST_COLS} FROM campaign_ab_tests WHERE campaign_id = ?{lock}"), [campaign.into()]);
        let Some(mut t) = tx.fetch_optional(&q, test_row).await? else { return Ok(None) };
        let q = sql("SELECT key, template_id, subject FROM campaign_variants WHERE campaign_id = ? ORDER BY position", [campaign.into()]);
        t.variants = tx.fetch_all(&q, variant_row).await?;
        Ok(Some(t))
    }

    /// The campaign's A/B test (404 when it has none, or the campaign is not one the actor sees).
    pub async fn ab_test(&self, actor: &Actor, campaign: i64) -> Result<AbTest> {
        require(actor, Object::Campaign, Action::Read)?;
        self.get_campaign(actor, campaign).await?;
        let q = sql(&format!("SELECT {TEST_COLS} FROM campaign_ab_tests WHERE campaign_id = ?"), [campaign.into()]);
        let mut t = self.read_optional(&q, test_row).await?.ok_or(Error::NotFound)?;
        let q = sql("SELECT key, template_id, subject FROM campaign_variants WHERE campaign_id = ? ORDER BY position", [campaign.into()]);
        t.variants = self.read(&q, variant_row).await?;
        Ok(t)
    }

    /// Defines (or, while a draft, redefines) the campaign's A/B test; audited. A test already
    /// started is refused (409).
    pub async fn put_ab_test(&self, actor: &Actor, campaign: i64, input: AbTestInput) -> Result<AbTest> {
        require(actor, Object::Campaign, Action::Update)?;
        let c = self.get_campaign(actor, campaign).await?;
        let spec = input.validated()?;
        if c.data.channel != "email" {
            return Err(Error::Invalid(ValidationErrors::single(
                "channel",
                format!("only an email campaign has A/B tests; this one's channel is {}", c.data.channel),
            )));
        }
        let now = now_rfc3339();
        let mut tx = self.write_tx().await?;
        let before = self.ab_test_in(&mut tx, campaign, true).await?;
        if let Some(b) = &before
            && b.state != AbState::Draft
        {
            return Err(Refused::new("ab_test", "define", b.state.as_str(), vec![], "a test that started keeps its variants").into());
        }
        let mut errs = ValidationErrors::default();
        for (i, (template, subject)) in spec.variants.iter().enumerate() {
            match self.variant_template(&mut tx, *template, subject.as_deref()).await {
                Ok(_) => {}
                Err(Error::NotFound) => errs.add(format!("variants[{i}].template_id"), "no such template"),
                Err(Error::Invalid(e)) => {
                    for f in e.0 {
                        errs.add(format!("variants[{i}].{}", f.field), f.message);
                    }
                }
                Err(e) => return Err(e),
            }
        }
        errs.into_result(())?;
        let seed = spec.seed.or(before.as_ref().map(|b| b.seed)).unwrap_or_else(|| i64::from(rand::random::<u32>()));
        let args: Vec<Arg> = vec![
            campaign.into(),
            spec.test_percent.into(),
            spec.wait_minutes.into(),
            spec.metric.as_str().into(),
            spec.fallback.clone().into(),
            seed.into(),
            spec.topic.clone().into(),
            now.clone().into(),
            now.into(),
        ];
        tx.execute(&sql(
            "INSERT INTO campaign_ab_tests (campaign_id, test_percent, wait_minutes, metric, fallback, seed, topic, state, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, 'draft', ?, ?) ON CONFLICT (campaign_id) DO UPDATE SET test_percent = excluded.test_percent, \
             wait_minutes = excluded.wait_minutes, metric = excluded.metric, fallback = excluded.fallback, seed = excluded.seed, \
             topic = excluded.topic, updated_at = excluded.updated_at",
            args,
        ))
        .await?;
        tx.execute(&sql("DELETE FROM campaign_variants WHERE campaign_id = ?", [campaign.into()])).await?;
        for (i, (template, subject)) in spec.variants.iter().enumerate() {
            tx.execute(&sql(
                "INSERT INTO campaign_variants (campaign_id, key, position, template_id, subject) VALUES (?, ?, ?, ?, ?)",
                [campaign.into(), KEYS[i].into(), (i as i64).into(), (*template).into(), subject.clone().into()],
            ))
            .await?;
        }
        let diff = json!({"ab_test": {"variants": spec.variants.len(), "test_percent": spec.test_percent, "wait_minutes": spec.wait_minutes,
            "metric": spec.metric.as_str(), "fallback": spec.fallback, "seed": seed}});
        self.audit(&mut tx, actor, "update", "campaign", Some(campaign), diff).await?;
        tx.commit().await?;
        self.ab_test(actor, campaign).await
    }

    /// Starts the test: every member gets a variant or none (the rest) from the seed, and a
    /// sending mails the test share their variants at `send_at`; audited. Only a draft starts,
    /// and not while the campaign is being sent (409).
    pub async fn start_ab_test(&self, actor: &Actor, campaign: i64, input: AbStartInput) -> Result<AbTest> {
        require(actor, Object::Campaign, Action::Update)?;
        self.get_campaign(actor, campaign).await?;
        let now = now_rfc3339();
        let req = SendInput { template_id: 0, send_at: input.send_at, error_threshold: input.error_threshold, ..Default::default() }
            .validated(&now)?;
        base_url(self)?;
        let mut tx = self.write_tx().await?;
        let t = self.ab_test_in(&mut tx, campaign, true).await?.ok_or(Error::NotFound)?;
        if t.state != AbState::Draft {
            return Err(Refused::new("ab_test", "start", t.state.as_str(), vec![], "the test has started already").into());
        }
        let q = sql(
            "SELECT state FROM campaign_sends WHERE campaign_id = ? AND state IN ('scheduled', 'expanding', 'sending', 'paused')",
            [campaign.into()],
        );
        if let Some(state) = tx.fetch_optional(&q, |r| r.get::<String>("state")).await? {
            return Err(Refused::new(
                "campaign_send",
                "send",
                if state == "paused" { "paused" } else { "sending" },
                vec!["cancel"],
                "the campaign is already being sent",
            )
            .into());
        }
        let q = sql("SELECT id, person_id FROM campaign_members WHERE campaign_id = ? ORDER BY id", [campaign.into()]);
        let members: Vec<(i64, i64)> = tx.fetch_all(&q, |r| Ok((r.get("id")?, r.get("person_id")?))).await?;
        let mut by_variant: Vec<Vec<i64>> = vec![vec![]; t.variants.len()];
        for (id, person) in &members {
            if let Some(v) = assign(t.seed, *person, t.test_percent, t.variants.len()) {
                by_variant[v].push(*id);
            }
        }
        tx.execute(&sql("UPDATE campaign_members SET ab_variant = NULL WHERE campaign_id = ?", [campaign.into()])).await?;
        for (v, ids) in t.variants.iter().zip(&by_variant) {
            for chunk in ids.chunks(500) {
                let mut q = Sql::new("UPDATE campaign_members SET ab_variant = ");
                q.arg(v.key.clone()).push(" WHERE id IN (");
                for (i, id) in chunk.iter().enumerate() {
                    q.push(if i == 0 { "" } else { ", " }).arg(*id);
                }
                q.push(")");
                tx.execute(&q).await?;
            }
        }
        let first = t.variants.first().map(|v| v.template_id).ok_or(Error::NotFound)?;
        let q = sql(
            "INSERT INTO campaign_sends (campaign_id, template_id, topic, state, send_at, error_threshold, created_by, created_at, updated_at, ab_phase) \
             VALUES (?, ?, ?, 'scheduled', ?, ?, ?, ?, ?, 'test') RETURNING id",
            [
                campaign.into(),
                first.into(),
                t.topic.clone().into(),
                req.send_at.clone().into(),
                req.error_threshold.into(),
                actor.user_id.into(),
                now.clone().into(),
                now.clone().into(),
            ],
        );
        let send: i64 = tx.fetch_one(&q, |r| r.get("id")).await?;
        let decide_at = time_after(&req.send_at, t.wait_minutes);
        tx.execute(&sql(
            "UPDATE campaign_ab_tests SET state = 'testing', test_send_id = ?, decide_at = ?, updated_at = ? WHERE campaign_id = ?",
            [send.into(), decide_at.clone().into(), now.into(), campaign.into()],
        ))
        .await?;
        let counts: Vec<usize> = by_variant.iter().map(Vec::len).collect();
        let diff = json!({"ab_test": "started", "send_id": send, "send_at": req.send_at, "decide_at": decide_at, "assigned": counts});
        self.audit(&mut tx, actor, "send", "campaign", Some(campaign), diff).await?;
        tx.commit().await?;
        self.ab_test(actor, campaign).await
    }

    /// Each variant's members, deliveries, opens, clicks and conversions (every member counts,
    /// whoever reads), in key order, and how many members are in the rest.
    pub async fn ab_counts(&self, t: &AbTest) -> Result<(Vec<VariantResult>, i64)> {
        let col = t.metric.column();
        let q = sql(
            &format!(
                "SELECT ab_variant, CAST(COUNT(*) AS BIGINT) AS members, \
                 CAST(COALESCE(SUM(CASE WHEN {DELIVERED} THEN 1 ELSE 0 END), 0) AS BIGINT) AS delivered, \
                 CAST(COALESCE(SUM(CASE WHEN {DELIVERED} AND opened_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS BIGINT) AS opened, \
                 CAST(COALESCE(SUM(CASE WHEN {DELIVERED} AND clicked_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS BIGINT) AS clicked, \
                 CAST(COALESCE(SUM(CASE WHEN {DELIVERED} AND converted_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS BIGINT) AS converted, \
                 CAST(COALESCE(SUM(CASE WHEN {DELIVERED} AND {col} IS NOT NULL THEN 1 ELSE 0 END), 0) AS BIGINT) AS successes \
                 FROM campaign_members WHERE campaign_id = ? GROUP BY ab_variant"
            ),
            [t.campaign_id.into()],
        );
        let rows = self
            .read(&q, |r| {
                Ok((
                    r.get::<Option<String>>("ab_variant")?,
                    VariantResult {
                        key: String::new(),
                        members: r.get("members")?,
                        delivered: r.get("delivered")?,
                        opened: r.get("opened")?,
                        clicked: r.get("clicked")?,
                        converted: r.get("converted")?,
                        successes: r.get("successes")?,
                        rate: None,
                    },
                ))
            })
            .await?;
        let rest = rows.iter().filter(|(k, _)| k.is_none()).map(|(_, v)| v.members).sum();
        let out = t
            .variants
            .iter()
            .map(|v| {
                let mut r =
                    rows.iter().find(|(k, _)| k.as_deref() == Some(v.key.as_str())).map(|(_, r)| r.clone()).unwrap_or(VariantResult {
                        key: String::new(),
                        members: 0,
                        delivered: 0,
                        opened: 0,
                        clicked: 0,
                        converted: 0,
                        successes: 0,
                        rate: None,
                    });
                r.key = v.key.clone();
                r.rate = (r.delivered > 0).then(|| r.successes as f64 / r.delivered as f64);
                r
            })
            .collect();
        Ok((out, rest))
    }

    /// The result stored when the test was decided.
    pub async fn ab_decided_result(&self, campaign: i64) -> Result<Option<serde_json::Value>> {
        let q = sql("SELECT result FROM campaign_ab_tests WHERE campaign_id = ? AND state = 'decided'", [campaign.into()]);
        let raw: Option<Option<String>> = self.read_optional(&q, |r| r.get("result")).await?;
        Ok(raw.flatten().and_then(|s| serde_json::from_str(&s).ok()))
    }

    /// The tests due for a decision at `now`: testing, past their wait, their test mails all
    /// handed over.
    pub async fn due_ab_tests(&self, now: chrono::DateTime<chrono::Utc>) -> Result<Vec<AbTest>> {
        let at = now.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        let q = sql(
            "SELECT t.campaign_id FROM campaign_ab_tests t JOIN campaign_sends s ON s.id = t.test_send_id \
             JOIN campaigns c ON c.id = t.campaign_id AND c.deleted_at IS NULL WHERE t.state = 'testing' AND t.decide_at <= ? AND s.state = 'done' ORDER BY t.decide_at, t.campaign_id",
            [at.into()],
        );
        let ids: Vec<i64> = self.read(&q, |r| r.get("campaign_id")).await?;
        let mut out = vec![];
        for id in ids {
            out.push(self.ab_test(&Actor::system(), id).await?);
        }
        Ok(out)
    }

    /// Records the decision of a testing test and writes the sending of `send_variant` to the
    /// rest of its audience, in one transaction that only a test still `testing` passes: of two
    /// processes deciding at once, one decides and the other changes nothing (`false`).
    pub async fn decide_ab_test(&self, campaign: i64, send_variant: &str, result: &serde_json::Value, holder: &str) -> Result<bool> {
        let now = now_rfc3339();
        let mut tx = self.write_tx().await?;
        let n = tx
            .execute(&sql(
                "UPDATE campaign_ab_tests SET state = 'decided', winner = ?, result = ?, decided_by = ?, decided_at = ?, updated_at = ? \
                 WHERE campaign_id = ? AND state = 'testing'",
                [send_variant.into(), result.to_string().into(), holder.into(), now.clone().into(), now.clone().into(), campaign.into()],
            ))
            .await?;
        if n == 0 {
            tx.commit().await?;
            return Ok(false);
        }
        let q = sql(
            "SELECT v.template_id, t.topic, s.error_threshold FROM campaign_ab_tests t JOIN campaign_variants v ON v.campaign_id = t.campaign_id \
             AND v.key = ? LEFT JOIN campaign_sends s ON s.id = t.test_send_id WHERE t.campaign_id = ?",
            [send_variant.into(), campaign.into()],
        );
        let (template, topic, threshold): (i64, String, Option<i64>) =
            tx.fetch_one(&q, |r| Ok((r.get("template_id")?, r.get("topic")?, r.get("error_threshold")?))).await?;
        let q = sql(
            "INSERT INTO campaign_sends (campaign_id, template_id, topic, state, send_at, error_threshold, created_at, updated_at, ab_phase) \
             VALUES (?, ?, ?, 'scheduled', ?, ?, ?, ?, 'rest') RETURNING id",
            [
                campaign.into(),
                template.into(),
                topic.into(),
                now.clone().into(),
                threshold.unwrap_or(50).into(),
                now.clone().into(),
                now.clone().into(),
            ],
        );
        let send: i64 = tx.fetch_one(&q, |r| r.get("id")).await?;
        tx.execute(&sql("UPDATE campaign_ab_tests SET winner_send_id = ? WHERE campaign_id = ?", [send.into(), campaign.into()])).await?;
        let diff = json!({"ab_test": "decided", "send_variant": send_variant, "send_id": send, "outcome": result.get("outcome")});
        self.audit(&mut tx, &Actor::system(), "send", "campaign", Some(campaign), diff).await?;
        tx.commit().await?;
        Ok(true)
    }
}
