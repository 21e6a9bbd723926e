//! Sending a campaign: `send_campaign` records a sending (audited); the background job
//! [`Store::expand_campaign_sends`] writes the members' mails into `mail_queue` in batches,
//! each batch in one transaction with the sending's member cursor, so a restart continues after
//! the last batch and the unique `(send_id, person_id)` index keeps any person from being
//! queued twice; the sender claims marketing rows with [`Store::claim_marketing_mail`] under the
//! caps, skipping (for good) suppressed addresses, withdrawn consent and the frequency cap.
//! Delivery itself follows the queue's rule (see the service mail module): a mail is never
//! sent twice, a killed sender leaves at most the mail in flight `unconfirmed`.

use std::collections::HashMap;

use chrono::{Duration, Utc};
use rapport_domain::ValidationErrors;
use rapport_domain::customer::Customer;
use rapport_domain::marketing::email::{CampaignSend, MarketingLimits, SendInput, SendState};
use rapport_domain::now_rfc3339;
use rapport_domain::permissions::{Action, Actor, Object, require};
use rapport_domain::sales::Refused;
use rapport_domain::service::mail::StateCount;
use serde_json::json;

use super::compose::Composer;
use super::windows::Timing;
use super::{base_url, key_in};
use crate::row::Row;
use crate::service::mail::{QUEUE_COLS, queued};
use crate::sql::{Arg, Sql, marks, sql};
use crate::{Backend, Error, QueuedMail, Result, Store, WriteTx};

const SEND_COLS: &str = "id, campaign_id, template_id, topic, state, send_at, error_threshold, errors, queued, skipped, created_at, updated_at, local_send_at, time_zone, send_window";

fn send_row(r: &dyn Row) -> Result<CampaignSend> {
    Ok(CampaignSend {
        id: r.get("id")?,
        campaign_id: r.get("campaign_id")?,
        template_id: r.get("template_id")?,
        topic: r.get("topic")?,
        state: SendState::parse(&r.get::<String>("state")?).unwrap_or(SendState::Cancelled),
        send_at: r.get("send_at")?,
        error_threshold: r.get("error_threshold")?,
        errors: r.get("errors")?,
        local_send_at: r.get("local_send_at")?,
        time_zone: r.get("time_zone")?,
        window: r.get::<Option<String>>("send_window")?.and_then(|w| serde_json::from_str(&w).ok()),
        queued: r.get("queued")?,
        skipped: r.get("skipped")?,
        mails: Vec::new(),
        created_at: r.get("created_at")?,
        updated_at: r.get("updated_at")?,
    })
}

fn minute_key(t: chrono::DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M").to_string()
}

fn time_in(secs: i64) -> String {
    (Utc::now() + Duration::seconds(secs)).to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

impl Store {
    async fn latest_send(&self, tx: &mut WriteTx, campaign: i64) -> Result<Option<CampaignSend>> {
        let lock = self.backend.lock_rows();
        let q =
            sql(&format!("SELECT {SEND_COLS} FROM campaign_sends WHERE campaign_id = ? ORDER BY id DESC LIMIT 1{lock}"), [campaign.into()]);
        tx.fetch_optional(&q, send_row).await
    }

    async fn with_counts(&self, mut s: CampaignSend) -> Result<CampaignSend> {
        let q = sql("SELECT state, COUNT(*) AS n FROM mail_queue WHERE send_id = ? GROUP BY state ORDER BY state", [s.id.into()]);
        s.mails = self.read(&q, |r| Ok(StateCount { state: r.get("state")?, count: r.get("n")? })).await?;
        Ok(s)
    }

    /// Starts sending campaign `campaign`'s email with a template at `send_at` (now when
    /// absent): the background job takes it from there. A campaign being sent is refused (409,
    /// naming what may be done instead); audited.
    pub async fn send_campaign(&self, actor: &Actor, campaign: i64, input: SendInput) -> Result<CampaignSend> {
        require(actor, Object::Campaign, Action::Update)?;
        let now = now_rfc3339();
        let req = input.validated(&now)?;
        base_url(self)?;
        let mut tx = self.write_tx().await?;
        let q = sql("SELECT channel FROM campaigns WHERE id = ? AND deleted_at IS NULL", [campaign.into()]);
        let channel: String = tx.fetch_optional(&q, |r| r.get("channel")).await?.ok_or(Error::NotFound)?;
        if channel != "email" {
            return Err(Error::Invalid(ValidationErrors::single(
                "channel",
                format!("only an email campaign is sent by email; this one's channel is {channel}"),
            )));
        }
        match self.template_in(&mut tx, req.template_id).await {
            Err(Error::NotFound) => return Err(Error::Invalid(ValidationErrors::single("template_id", "no such template"))),
            other => other?,
        };
        if let Some(live) = self.latest_send(&mut tx, campaign).await?
            && !matches!(live.state, SendState::Done | SendState::Cancelled)
        {
            return Err(Refused::new(
                "campaign_send",
                "send",
                live.state.as_str(),
                live.state.allowed_actions().to_vec(),
                "the campaign is already being sent",
            )
            .into());
        }
        // A running A/B test mails the rest itself once it decides: a plain sending now would
        // mail the test share twice and pre-empt the winner.
        let q = sql("SELECT state FROM campaign_ab_tests WHERE campaign_id = ? AND state = 'testing'", [campaign.into()]);
        if tx.fetch_optional(&q, |r| r.get::<String>("state")).await?.is_some() {
            return Err(Refused::new(
                "campaign",
                "send",
                "ab_testing",
                vec![],
                "the campaign's A/B test is running: its winner is sent to the rest when the test decides",
            )
            .into());
        }
        let q = sql(
            &format!(
                "INSERT INTO campaign_sends (campaign_id, template_id, topic, state, send_at, error_threshold, created_by, created_at, updated_at, \
                 local_send_at, time_zone, send_window) VALUES (?, ?, ?, 'scheduled', ?, ?, ?, ?, ?, ?, ?, ?) RETURNING {SEND_COLS}"
            ),
            [
                campaign.into(),
                req.template_id.into(),
                req.topic.into(),
                req.send_at.into(),
                req.error_threshold.into(),
                actor.user_id.into(),
                now.clone().into(),
                now.into(),
                req.local_send_at.into(),
                req.time_zone.into(),
                req.window.map(|w| serde_json::to_string(&w).unwrap_or_default()).into(),
            ],
        );
        let s = tx.fetch_one(&q, send_row).await?;
        self.audit(
            &mut tx,
            actor,
            "send",
            "campaign",
            Some(campaign),
            json!({"send_id": s.id, "template_id": s.template_id, "send_at": &s.send_at, "topic": &s.topic, "local_send_at": &s.local_send_at, "window": &s.window}),
        )
        .await?;
        tx.commit().await?;
        Ok(s)
    }

    /// The campaign's latest sending with its mails per state.
    pub async fn campaign_send(&self, actor: &Actor, campaign: i64) -> Result<CampaignSend> {
        require(actor, Object::Campaign, Action::Read)?;
        let q = sql(&format!("SELECT {SEND_COLS} FROM campaign_sends WHERE campaign_id = ? ORDER BY id DESC LIMIT 1"), [campaign.into()]);
        let s = self.read_optional(&q, send_row).await?.ok_or(Error::NotFound)?;
        self.with_counts(s).await
    }

    /// `resume` (a paused sending, its error count reset) or `cancel` (anything not finished;
    /// its unsent mails are skipped). Anything else, or the wrong state, is a 409 naming the
    /// actions allowed now; audited.
    pub async fn act_on_campaign_send(&self, actor: &Actor, campaign: i64, action: &str) -> Result<CampaignSend> {
        require(actor, Object::Campaign, Action::Update)?;
        let mut tx = self.write_tx().await?;
        let s = self.latest_send(&mut tx, campaign).await?.ok_or(Error::NotFound)?;
        let allowed = s.state.allowed_actions();
        let act: &'static str = match action {
            "resume" => "resume",
            "cancel" => "cancel",
            _ => return Err(Error::Invalid(ValidationErrors::single("action", "use resume or cancel"))),
        };
        if !allowed.contains(&act) {
            return Err(Refused::new(
                "campaign_send",
                act,
                s.state.as_str(),
                allowed.to_vec(),
                format!("a {} sending cannot be {act}d", s.state.as_str()),
            )
            .into());
        }
        let now = now_rfc3339();
        if act == "resume" {
            // Back to expanding when members were still to be written: the job knows by its cursor.
            tx.execute(&sql(
                "UPDATE campaign_sends SET state = 'expanding', errors = 0, updated_at = ? WHERE id = ?",
                [now.clone().into(), s.id.into()],
            ))
            .await?;
        } else {
            tx.execute(&sql(
                "UPDATE campaign_sends SET state = 'cancelled', updated_at = ? WHERE id = ?",
                [now.clone().into(), s.id.into()],
            ))
            .await?;
            tx.execute(&sql(
                "UPDATE mail_queue SET state = 'skipped', error = 'the sending was cancelled' WHERE send_id = ? AND state = 'queued'",
                [s.id.into()],
            ))
            .await?;
        }
        self.audit(&mut tx, actor, act, "campaign_send", Some(s.id), json!({"campaign_id": campaign})).await?;
        tx.commit().await?;
        let q = sql(&format!("SELECT {SEND_COLS} FROM campaign_sends WHERE id = ?"), [s.id.into()]);
        let s = self.read_optional(&q, send_row).await?.ok_or(Error::NotFound)?;
        self.with_counts(s).await
    }

    /// One step of the sending job: the first due sending (scheduled or expanding, not locked
    /// by another process) gets its next `batch` members' mails written to the queue, in one
    /// transaction with its cursor; when none are left it is `sending`. Then sendings with
    /// nothing left to send become `done`. How many mails were queued.
    pub async fn expand_campaign_sends(&self, batch: i64) -> Result<u64> {
        let now = now_rfc3339();
        let due = sql(
            "SELECT id FROM campaign_sends WHERE state IN ('scheduled', 'expanding', 'sending') AND send_at <= ? LIMIT 1",
            [now.clone().into()],
        );
        if self.read_optional(&due, |r| r.get::<i64>("id")).await?.is_none() {
            return Ok(0);
        }
        let base = base_url(self)?;
        let mut tx = self.write_tx().await?;
        let skip = self.backend.skip_locked();
        let q = sql(
            &format!(
                "SELECT id, campaign_id, template_id, member_cursor FROM campaign_sends WHERE state IN ('scheduled', 'expanding') AND send_at <= ? \
                 ORDER BY send_at, id LIMIT 1{skip}"
            ),
            [now.clone().into()],
        );
        let found = tx
            .fetch_optional(&q, |r| {
                Ok((r.get::<i64>("id")?, r.get::<i64>("campaign_id")?, r.get::<i64>("template_id")?, r.get::<i64>("member_cursor")?))
            })
            .await?;
        let mut written = 0u64;
        if let Some((send, campaign, template, cursor)) = found {
            written = self.expand_batch(&mut tx, &base, send, campaign, template, cursor, batch).await?;
        }
        tx.execute(&sql(
            "UPDATE campaign_sends SET state = 'done', updated_at = ? WHERE state = 'sending' AND NOT EXISTS \
             (SELECT 1 FROM mail_queue q WHERE q.send_id = campaign_sends.id AND q.state IN ('queued', 'claimed', 'sending'))",
            [now.into()],
        ))
        .await?;
        tx.commit().await?;
        Ok(written)
    }

    #[allow(clippy::too_many_arguments)]
    async fn expand_batch(
        &self,
        tx: &mut WriteTx,
        base: &str,
        send: i64,
        campaign: i64,
        template: i64,
        cursor: i64,
        batch: i64,
    ) -> Result<u64> {
        let system = Actor::system();
        let name: String = tx.fetch_one(&sql("SELECT name FROM campaigns WHERE id = ?", [campaign.into()]), |r| r.get("name")).await?;
        let loaded = match self.template_in(tx, template).await {
            Ok((_, c)) => super::ab::SendTemplates::load(self, tx, send, c).await,
            Err(e) => Err(e),
        };
        let templates = match loaded {
            Ok(t) => t,
            Err(e) => {
                // The template was deleted or no longer parses: nothing can be sent.
                tracing::warn!(send, error = %e, "campaign sending paused: its template is unusable");
                tx.execute(&sql(
                    "UPDATE campaign_sends SET state = 'paused', updated_at = ? WHERE id = ?",
                    [now_rfc3339().into(), send.into()],
                ))
                .await?;
                return Ok(0);
            }
        };
        let key = key_in(self, tx).await?;
        let q = sql(
            &format!(
                "SELECT id, person_id, ab_variant FROM campaign_members WHERE campaign_id = ? AND id > ? AND status NOT IN ('unsubscribed', 'bounced', 'complained'){} ORDER BY id LIMIT ?",
                templates.members()
            ),
            [campaign.into(), cursor.into(), batch.into()],
        );
        let members: Vec<(i64, i64, Option<String>)> =
            tx.fetch_all(&q, |r| Ok((r.get("id")?, r.get("person_id")?, r.get("ab_variant")?))).await?;
        let now = now_rfc3339();
        let composer = Composer { base, key: &key, campaign_name: &name, campaign };
        let mut timing = Timing::of(tx, send).await?;
        let mut rows: Vec<Vec<Arg>> = Vec::new();
        let mut skipped = 0i64;
        for (_, person, variant) in &members {
            let c = match self.record_in::<Customer>(tx, &system, *person, false).await {
                Ok(c) => c,
                Err(Error::NotFound) => {
                    skipped += 1;
                    continue;
                }
                Err(e) => return Err(e),
            };
            let Some(m) = composer.compose(templates.of(variant.as_deref()), &c) else {
                skipped += 1;
                continue;
            };
            let (release, zone) = timing.release(self, tx, &c, Utc::now()).await?.map_or((now.clone(), None), |(r, z)| (r, Some(z)));
            rows.push(vec![
                m.to.clone().into(),
                m.to_name.into(),
                m.subject.into(),
                m.text.into(),
                m.html.into(),
                m.headers.into(),
                m.message_id.into(),
                release.into(),
                now.clone().into(),
                send.into(),
                campaign.into(),
                (*person).into(),
                self.email_key(&m.to).into(),
                m.token.into(),
                m.links.into(),
                zone.into(),
            ]);
        }
        let mut written = 0u64;
        for chunk in rows.chunks(200) {
            let mut q = Sql::for_bulk(
                self.backend,
                "INSERT INTO mail_queue (kind, to_addr, to_name, subject, text_body, html_body, headers, message_id, state, next_attempt_at, created_at, \
                 send_id, campaign_id, person_id, to_key, track_token, links, time_zone) VALUES ",
            );
            for (i, row) in chunk.iter().enumerate() {
                q.push(if i == 0 { "('marketing', " } else { ", ('marketing', " });
                for (j, a) in row.iter().enumerate() {
                    if j == 7 {
                        q.push("'queued', ");
                    }
                    q.arg(a.clone());
                    if j + 1 < row.len() {
                        q.push(", ");
                    }
                }
                q.push(")");
            }
            q.push(" ON CONFLICT (send_id, person_id) WHERE send_id IS NOT NULL DO NOTHING");
            written += tx.execute(&q).await?;
        }
        let last = members.last().map(|m| m.0).unwrap_or(cursor);
        let state = if (members.len() as i64) < batch { "sending" } else { "expanding" };
        tx.execute(&sql(
            "UPDATE campaign_sends SET member_cursor = ?, queued = queued + ?, skipped = skipped + ?, state = ?, updated_at = ? WHERE id = ?",
            [last.into(), (written as i64).into(), skipped.into(), state.into(), now.into(), send.into()],
        ))
        .await?;
        Ok(written)
    }

    /// Leases up to `limit` due marketing mails of running sendings (and active sequences) to sender `owner`, within
    /// the caps of `limits`; claimed mails whose address is suppressed, whose person withdrew
    /// consent (the topic or everything) or who reached the frequency cap are skipped for good
    /// instead. Caps are counted per minute as mails are claimed; with several processes a
    /// minute may overshoot by one batch per process.
    pub async fn claim_marketing_mail(
        &self,
        owner: &str,
        lease_secs: i64,
        limit: i64,
        limits: &MarketingLimits,
    ) -> Result<Vec<QueuedMail>> {
        let now_t = Utc::now();
        let now = now_t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        let due = sql(
            "SELECT id FROM mail_queue WHERE kind = 'marketing' AND state = 'queued' AND next_attempt_at <= ? LIMIT 1",
            [now.clone().into()],
        );
        if self.read_optional(&due, |r| r.get::<i64>("id")).await?.is_none() {
            return Ok(Vec::new());
        }
        let mut tx = self.write_tx().await?;
        let minute = minute_key(now_t);
        let q = sql(
            "SELECT CAST(COALESCE(SUM(CASE WHEN minute = ? THEN n ELSE 0 END), 0) AS BIGINT) AS m, \
             CAST(COALESCE(SUM(CASE WHEN minute >= ? THEN n ELSE 0 END), 0) AS BIGINT) AS h, CAST(COALESCE(SUM(n), 0) AS BIGINT) AS d \
             FROM marketing_send_counts WHERE minute >= ?",
            [minute.clone().into(), minute_key(now_t - Duration::minutes(59)).into(), minute_key(now_t - Duration::minutes(1439)).into()],
        );
        let (m, h, d): (i64, i64, i64) = tx.fetch_one(&q, |r| Ok((r.get("m")?, r.get("h")?, r.get("d")?))).await?;
        let mut budget = limit;
        for (cap, used) in [(limits.per_minute, m), (limits.per_hour, h), (limits.per_day, d)] {
            if let Some(c) = cap {
                budget = budget.min(c - used);
            }
        }
        if budget <= 0 {
            tx.commit().await?;
            return Ok(Vec::new());
        }
        let skip = match self.backend {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE OF q SKIP LOCKED",
        };
        let q = sql(
            &format!(
                // Materialized, so that PostgreSQL picks the rows once (a subquery under IN may
                // be run again per row, and its LIMIT then caps nothing).
                "WITH picked AS MATERIALIZED (SELECT q.id FROM mail_queue q WHERE q.kind = 'marketing' AND q.state = 'queued' AND q.next_attempt_at <= ? \
                 AND (EXISTS (SELECT 1 FROM campaign_sends s WHERE s.id = q.send_id AND s.state IN ('expanding', 'sending')) \
                 OR EXISTS (SELECT 1 FROM sequences sq WHERE sq.id = q.sequence_id AND sq.state = 'active' AND sq.deleted_at IS NULL)) \
                 ORDER BY q.next_attempt_at, q.id LIMIT ?{skip}) \
                 UPDATE mail_queue SET state = 'claimed', lease_owner = ?, lease_until = ?, attempts = attempts + 1 WHERE id IN (SELECT id FROM picked) \
                 AND state = 'queued' RETURNING {QUEUE_COLS}"
            ),
            [now.clone().into(), budget.into(), owner.into(), time_in(lease_secs).into()],
        );
        let mut rows = tx.fetch_all(&q, queued).await?;
        self.hold_outside_windows(&mut tx, &mut rows, now_t).await?;
        if rows.is_empty() {
            tx.commit().await?;
            return Ok(rows);
        }
        let ids: Vec<i64> = rows.iter().map(|m| m.id).collect();
        let freq = match limits.frequency_max {
            Some(_) => {
                "WHEN (SELECT COUNT(*) FROM mail_queue m WHERE m.to_key = q.to_key AND m.kind = 'marketing' AND m.state = 'sent' AND m.sent_at >= ?) >= ? THEN 'frequency cap reached' "
            }
            None => "",
        };
        let mut args: Vec<Arg> = Vec::new();
        if let Some(max) = limits.frequency_max {
            args.push((now_t - Duration::days(limits.frequency_days.max(1))).to_rfc3339_opts(chrono::SecondsFormat::Micros, true).into());
            args.push(max.into());
        }
        args.extend(ids.iter().map(|i| Arg::from(*i)));
        let q = sql(
            &format!(
                "SELECT q.id, CASE WHEN EXISTS (SELECT 1 FROM marketing_suppressions x WHERE x.email_key = q.to_key) THEN 'the address is suppressed' \
                 WHEN EXISTS (SELECT 1 FROM marketing_consents c WHERE c.person_id = q.person_id \
                 AND c.topic IN (COALESCE((SELECT cs.topic FROM campaign_sends cs WHERE cs.id = q.send_id), \
                 (SELECT sq.topic FROM sequences sq WHERE sq.id = q.sequence_id), '*'), '*') AND c.granted = 0 AND c.id = (SELECT MAX(c2.id) FROM marketing_consents c2 WHERE c2.person_id = c.person_id AND c2.topic = c.topic)) \
                 THEN 'consent withdrawn' {freq}ELSE '' END AS why FROM mail_queue q WHERE q.id IN {}",
                marks(ids.len())
            ),
            args,
        );
        let verdicts: Vec<(i64, String)> = tx.fetch_all(&q, |r| Ok((r.get("id")?, r.get("why")?))).await?;
        let mut by_reason: HashMap<String, Vec<i64>> = HashMap::new();
        for (id, why) in verdicts.into_iter().filter(|(_, w)| !w.is_empty()) {
            by_reason.entry(why).or_default().push(id);
        }
        for (why, ids) in &by_reason {
            let mut args: Vec<Arg> = vec![why.clone().into()];
            args.extend(ids.iter().map(|i| Arg::from(*i)));
            tx.execute(&sql(
                &format!(
                    "UPDATE mail_queue SET state = 'skipped', error = ?, lease_owner = NULL, lease_until = NULL WHERE id IN {}",
                    marks(ids.len())
                ),
                args,
            ))
            .await?;
        }
        let skipped: Vec<i64> = by_reason.into_values().flatten().collect();
        rows.retain(|m| !skipped.contains(&m.id));
        tx.execute(&sql(
            "INSERT INTO marketing_send_counts (minute, n) VALUES (?, ?) ON CONFLICT (minute) DO UPDATE SET n = marketing_send_counts.n + excluded.n",
            [minute.into(), (rows.len() as i64).into()],
        ))
        .await?;
        tx.commit().await?;
        rows.sort_by_key(|m| m.id);
        Ok(rows)
    }

    /// The send log's retention: marketing mails handed over (or skipped, or failed) more than
    /// `days` ago leave the queue (their events and the members' states stay), and the cap
    /// counters of days past. How many mails were deleted.
    pub async fn purge_marketing_log(&self, days: i64) -> Result<u64> {
        let before = (Utc::now() - Duration::days(days)).to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        let mut tx = self.write_tx().await?;
        let n = tx
            .execute(&sql(
                "DELETE FROM mail_queue WHERE kind = 'marketing' AND state IN ('sent', 'skipped', 'failed') AND created_at < ?",
                [before.into()],
            ))
            .await?;
        tx.execute(&sql("DELETE FROM marketing_send_counts WHERE minute < ?", [minute_key(Utc::now() - Duration::days(2)).into()])).await?;
        tx.commit().await?;
        Ok(n)
    }
}

/// Counts a failed attempt of a marketing mail against its sending, which pauses at its
/// threshold (called in the transaction that records the failure).
pub(crate) async fn count_failure(tx: &mut WriteTx, send: i64) -> Result<()> {
    tx.execute(&sql(
        "UPDATE campaign_sends SET errors = errors + 1, state = CASE WHEN errors + 1 >= error_threshold AND state IN ('expanding', 'sending') THEN 'paused' ELSE state END, \
         updated_at = ? WHERE id = ?",
        [now_rfc3339().into(), send.into()],
    ))
    .await?;
    Ok(())
}
