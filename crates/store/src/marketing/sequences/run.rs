//! The sequence job. [`Store::run_sequences`] first enrolls the people that joined the segment
//! of a `segment` sequence or granted consent for a `signup` one (an insert that skips who is
//! enrolled already, safe from any number of processes), then claims due enrollments the way
//! the mail sender claims mail (a materialized pick with `FOR UPDATE SKIP LOCKED` on
//! PostgreSQL; SQLite has one writer) and, in that same transaction, runs each one's steps up
//! to its next wait: each step's writes (its mail in the queue, the list row, the
//! notification), its row in `sequence_step_runs` (unique per enrollment and step) and the
//! enrollment's new position commit together or not at all. So a step runs exactly once per
//! person whatever processes run the job and whenever one is killed.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use chrono::{DateTime, Utc};
use rapport_domain::customer::Customer;
use rapport_domain::marketing::segments::Audience;
use rapport_domain::marketing::sequences::{Condition, SequenceRun, Step};
use rapport_domain::marketing::templates::Compiled;
use rapport_domain::notification::NewNotification;
use rapport_domain::permissions::Actor;

use super::super::compose::Composer;
use super::super::segments::audience_condition;
use super::super::{base_url, key_in};
use crate::sql::{Sql, sql};
use crate::{Error, Result, Store, WriteTx};

fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// What the steps of one sequence need, loaded once per pass.
struct Ctx {
    id: i64,
    name: String,
    campaign: i64,
    campaign_name: String,
    owner: Option<i64>,
    steps: Vec<Step>,
}

/// What a pass loads lazily and shares between enrollments.
#[derive(Default)]
struct Cache {
    sequences: HashMap<i64, Ctx>,
    templates: HashMap<i64, Option<Compiled>>,
    audiences: HashMap<i64, Option<Audience>>,
    key: Option<Vec<u8>>,
    base: Option<String>,
}

struct Due {
    id: i64,
    sequence: i64,
    person: i64,
    step: i64,
    last_mail: Option<i64>,
}

impl Store {
    /// One pass of the sequence job at `now` (the caller's clock, so tests need not wait):
    /// enrolls by segments and sign-ups, then advances up to `limit` due enrollments.
    pub async fn run_sequences(&self, now: DateTime<Utc>, limit: i64) -> Result<SequenceRun> {
        let enrolled = self.enroll_entries(now).await?;
        let steps = self.advance_enrollments(now, limit).await?;
        Ok(SequenceRun { enrolled, steps })
    }

    async fn enroll_entries(&self, now: DateTime<Utc>) -> Result<u64> {
        let q = sql(
            "SELECT id, entry, segment_id, topic, activated_at FROM sequences WHERE state = 'active' AND deleted_at IS NULL \
             AND entry IN ('segment', 'signup') ORDER BY id",
            [],
        );
        type Entry = (i64, String, Option<i64>, String, Option<String>);
        let list: Vec<Entry> =
            self.read(&q, |r| Ok((r.get("id")?, r.get("entry")?, r.get("segment_id")?, r.get("topic")?, r.get("activated_at")?))).await?;
        let now = stamp(now);
        let mut enrolled = 0;
        for (id, entry, segment, topic, activated) in list {
            let mut q = Sql::new(
                "INSERT INTO sequence_enrollments (sequence_id, person_id, step, state, next_run_at, source, created_at, updated_at) SELECT ",
            );
            q.arg(id).push(", p.id, 0, 'active', ").arg(now.clone()).push(", ").arg(entry.clone()).push(", ");
            q.arg(now.clone()).push(", ").arg(now.clone()).push(" FROM customers p WHERE p.deleted_at IS NULL AND ");
            if entry == "segment" {
                let Some(segment) = segment else { continue };
                let audience = match self.audience(&Actor::system(), segment).await {
                    Ok(a) => a,
                    Err(Error::NotFound | Error::Invalid(_)) => {
                        tracing::warn!(sequence = id, segment, "a sequence's segment is gone or no longer compiles: nobody enters");
                        continue;
                    }
                    Err(e) => return Err(e),
                };
                audience_condition(&mut q, self.backend, "p", &audience);
            } else {
                // Who granted the sequence's topic (or everything) since it was activated.
                q.push("EXISTS (SELECT 1 FROM marketing_consents c WHERE c.person_id = p.id AND c.granted = 1 AND c.topic IN (")
                    .arg(topic)
                    .push(", '*') AND c.at >= ")
                    .arg(activated.unwrap_or_else(|| now.clone()))
                    .push(")");
            }
            q.push(" AND NOT EXISTS (SELECT 1 FROM sequence_enrollments e WHERE e.sequence_id = ").arg(id);
            q.push(" AND e.person_id = p.id) ON CONFLICT (sequence_id, person_id) DO NOTHING");
            let mut tx = self.write_tx().await?;
            enrolled += tx.execute(&q).await?;
            tx.commit().await?;
        }
        Ok(enrolled)
    }

    async fn advance_enrollments(&self, now: DateTime<Utc>, limit: i64) -> Result<u64> {
        let at = stamp(now);
        let due = sql("SELECT id FROM sequence_enrollments WHERE state = 'active' AND next_run_at <= ? LIMIT 1", [at.clone().into()]);
        if self.read_optional(&due, |r| r.get::<i64>("id")).await?.is_none() {
            return Ok(0);
        }
        let mut tx = self.write_tx().await?;
        let skip = self.backend.skip_locked();
        let q = sql(
            &format!(
                // Materialized, so that PostgreSQL picks (and locks) the rows once.
                "WITH picked AS MATERIALIZED (SELECT e.id FROM sequence_enrollments e WHERE e.state = 'active' AND e.next_run_at <= ? \
                 AND EXISTS (SELECT 1 FROM sequences s WHERE s.id = e.sequence_id AND s.state = 'active' AND s.deleted_at IS NULL) \
                 ORDER BY e.next_run_at, e.id LIMIT ?{skip}) \
                 SELECT e.id, e.sequence_id, e.person_id, e.step, e.last_mail_id FROM sequence_enrollments e WHERE e.id IN (SELECT id FROM picked) \
                 ORDER BY e.id"
            ),
            [at.clone().into(), limit.into()],
        );
        let due: Vec<Due> = tx
            .fetch_all(&q, |r| {
                Ok(Due {
                    id: r.get("id")?,
                    sequence: r.get("sequence_id")?,
                    person: r.get("person_id")?,
                    step: r.get("step")?,
                    last_mail: r.get("last_mail_id")?,
                })
            })
            .await?;
        let mut cache = Cache::default();
        let mut ran = 0;
        for e in &due {
            ran += self.advance_one(&mut tx, &mut cache, e, now).await?;
        }
        tx.commit().await?;
        Ok(ran)
    }

    async fn load_sequence<'c>(&self, tx: &mut WriteTx, cache: &'c mut Cache, id: i64) -> Result<&'c Ctx> {
        if let Entry::Vacant(slot) = cache.sequences.entry(id) {
            let q = sql(
                "SELECT s.name, s.campaign_id, c.name AS campaign_name, s.owner_id, s.steps FROM sequences s JOIN campaigns c ON c.id = s.campaign_id \
                 WHERE s.id = ?",
                [id.into()],
            );
            let (name, campaign, campaign_name, owner, steps): (String, i64, String, Option<i64>, String) = tx
                .fetch_one(&q, |r| {
                    Ok((r.get("name")?, r.get("campaign_id")?, r.get("campaign_name")?, r.get("owner_id")?, r.get("steps")?))
                })
                .await?;
            let steps = serde_json::from_str(&steps).unwrap_or_default();
            slot.insert(Ctx { id, name, campaign, campaign_name, owner, steps });
        }
        Ok(&cache.sequences[&id])
    }

    /// Runs enrollment `e`'s steps up to its next wait (or its end); how many ran.
    async fn advance_one(&self, tx: &mut WriteTx, cache: &mut Cache, e: &Due, now: DateTime<Utc>) -> Result<u64> {
        let at = stamp(now);
        let steps = self.load_sequence(tx, cache, e.sequence).await?.steps.clone();
        let mut step = e.step.max(0) as usize;
        let mut last_mail = e.last_mail;
        let mut next_run = at.clone();
        let mut ran = 0u64;
        while step < steps.len() {
            let s = &steps[step];
            let claimed = tx
                .execute(&sql(
                    "INSERT INTO sequence_step_runs (enrollment_id, step, kind, outcome, at) VALUES (?, ?, ?, '', ?) \
                     ON CONFLICT (enrollment_id, step) DO NOTHING",
                    [e.id.into(), (step as i64).into(), s.kind().into(), at.clone().into()],
                ))
                .await?;
            if claimed == 0 {
                if ran == 0 {
                    // Run already (its position was committed by another pass): nothing to do.
                    return Ok(0);
                }
                return Err(Error::Conflict { field: "step".into(), message: format!("enrollment {} ran step {step} twice", e.id) });
            }
            ran += 1;
            let mut next = step + 1;
            let outcome = match s {
                Step::SendEmail { template_id } => {
                    let (outcome, mail) = self.send_step(tx, cache, e, *template_id, &at).await?;
                    last_mail = mail.or(last_mail);
                    outcome
                }
                Step::Wait { .. } => {
                    next_run = stamp(now + s.wait());
                    format!("waiting until {next_run}")
                }
                Step::Branch { condition, .. } => {
                    let held = self.holds(tx, cache, e, condition, last_mail).await?;
                    next = s.next(step, held);
                    (if held { "then" } else { "else" }).to_string()
                }
                Step::AddToList { segment_id } => {
                    let n = tx
                        .execute(&sql(
                            "INSERT INTO segment_members (segment_id, person_id, added_at) SELECT ?, ?, ? \
                             WHERE EXISTS (SELECT 1 FROM segments s WHERE s.id = ? AND s.kind = 'static' AND s.deleted_at IS NULL) \
                             ON CONFLICT (segment_id, person_id) DO NOTHING",
                            [(*segment_id).into(), e.person.into(), at.clone().into(), (*segment_id).into()],
                        ))
                        .await?;
                    (if n > 0 { "added" } else { "already in the list, or the list is gone" }).to_string()
                }
                Step::NotifyOwner { message } => self.notify_step(tx, cache, e, step, message.as_deref(), &at).await?,
            };
            tx.execute(&sql(
                "UPDATE sequence_step_runs SET outcome = ? WHERE enrollment_id = ? AND step = ?",
                [outcome.into(), e.id.into(), (step as i64).into()],
            ))
            .await?;
            step = next;
            if matches!(s, Step::Wait { .. }) {
                break;
            }
        }
        let state = if step >= steps.len() { "done" } else { "active" };
        tx.execute(&sql(
            "UPDATE sequence_enrollments SET step = ?, state = ?, next_run_at = ?, last_mail_id = ?, updated_at = ? WHERE id = ? AND step = ?",
            [(step as i64).into(), state.into(), next_run.into(), last_mail.into(), at.into(), e.id.into(), e.step.into()],
        ))
        .await?;
        Ok(ran)
    }

    /// Queues the person's mail of template `template`, as a campaign's sending would (the
    /// sender's claim then applies suppression, consent and the frequency cap); the person
    /// becomes a member of the sequence's campaign, so opens and clicks move them in its
    /// funnel. The outcome and the mail's id.
    async fn send_step(&self, tx: &mut WriteTx, cache: &mut Cache, e: &Due, template: i64, at: &str) -> Result<(String, Option<i64>)> {
        if let Entry::Vacant(slot) = cache.templates.entry(template) {
            let compiled = match self.template_in(tx, template).await {
                Ok((_, c)) => Some(c),
                Err(Error::NotFound | Error::Invalid(_)) => None,
                Err(err) => return Err(err),
            };
            slot.insert(compiled);
        }
        if cache.templates[&template].is_none() {
            return Ok((format!("not sent: template {template} is gone or no longer valid"), None));
        }
        let c = match self.record_in::<Customer>(tx, &Actor::system(), e.person, false).await {
            Ok(c) => c,
            Err(Error::NotFound) => return Ok(("not sent: the person was deleted".into(), None)),
            Err(err) => return Err(err),
        };
        if cache.key.is_none() {
            cache.key = Some(key_in(self, tx).await?);
        }
        if cache.base.is_none() {
            cache.base = Some(base_url(self)?);
        }
        let ctx = self.load_sequence(tx, cache, e.sequence).await?;
        let (sequence, campaign, campaign_name) = (ctx.id, ctx.campaign, ctx.campaign_name.clone());
        let (Some(key), Some(base), Some(Some(compiled))) = (&cache.key, &cache.base, cache.templates.get(&template)) else {
            return Ok(("not sent".into(), None));
        };
        let composer = Composer { base, key, campaign_name: &campaign_name, campaign };
        let Some(m) = composer.compose(compiled, &c) else { return Ok(("not sent: no email address".into(), None)) };
        tx.execute(&sql(
            "INSERT INTO campaign_members (campaign_id, person_id, status, source, added_at, updated_at) VALUES (?, ?, 'member', 'sequence', ?, ?) \
             ON CONFLICT (campaign_id, person_id) DO NOTHING",
            [campaign.into(), e.person.into(), at.into(), at.into()],
        ))
        .await?;
        let now = rapport_domain::now_rfc3339();
        let q = sql(
            "INSERT INTO mail_queue (kind, to_addr, to_name, subject, text_body, html_body, headers, message_id, state, next_attempt_at, created_at, \
             campaign_id, person_id, to_key, track_token, links, sequence_id) VALUES ('marketing', ?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?, ?) \
             RETURNING id",
            [
                m.to.clone().into(),
                m.to_name.into(),
                m.subject.into(),
                m.text.into(),
                m.html.into(),
                m.headers.into(),
                m.message_id.into(),
                now.clone().into(),
                now.into(),
                campaign.into(),
                e.person.into(),
                self.email_key(&m.to).into(),
                m.token.into(),
                m.links.into(),
                sequence.into(),
            ],
        );
        let id: i64 = tx.fetch_one(&q, |r| r.get("id")).await?;
        Ok((format!("queued mail {id}"), Some(id)))
    }

    /// Whether a branch's condition holds for the enrollment now.
    async fn holds(&self, tx: &mut WriteTx, cache: &mut Cache, e: &Due, c: &Condition, last_mail: Option<i64>) -> Result<bool> {
        let q = match c {
            Condition::Opened | Condition::Clicked => {
                let Some(mail) = last_mail else { return Ok(false) };
                let kinds = if matches!(c, Condition::Opened) { "'open', 'click'" } else { "'click'" };
                sql(
                    &format!("SELECT COUNT(*) AS n FROM marketing_events WHERE mail_id = ? AND kind IN ({kinds}) AND machine = 0"),
                    [mail.into()],
                )
            }
            Condition::Converted => {
                let campaign = self.load_sequence(tx, cache, e.sequence).await?.campaign;
                sql(
                    "SELECT COUNT(*) AS n FROM campaign_members WHERE campaign_id = ? AND person_id = ? AND converted_at IS NOT NULL",
                    [campaign.into(), e.person.into()],
                )
            }
            Condition::InSegment { segment_id } => {
                if !cache.audiences.contains_key(segment_id) {
                    let a = match self.audience(&Actor::system(), *segment_id).await {
                        Ok(a) => Some(a),
                        Err(Error::NotFound | Error::Invalid(_)) => None,
                        Err(err) => return Err(err),
                    };
                    cache.audiences.insert(*segment_id, a);
                }
                let Some(Some(a)) = cache.audiences.get(segment_id) else { return Ok(false) };
                let mut q = Sql::new("SELECT COUNT(*) AS n FROM customers p WHERE p.deleted_at IS NULL AND p.id = ");
                q.arg(e.person).push(" AND ");
                audience_condition(&mut q, self.backend, "p", a);
                q
            }
        };
        Ok(tx.fetch_one(&q, |r| r.get::<i64>("n")).await? > 0)
    }

    /// Tells the sequence's owner the person reached `step`.
    async fn notify_step(
        &self,
        tx: &mut WriteTx,
        cache: &mut Cache,
        e: &Due,
        step: usize,
        message: Option<&str>,
        at: &str,
    ) -> Result<String> {
        let ctx = self.load_sequence(tx, cache, e.sequence).await?;
        let (Some(owner), sequence, name) = (ctx.owner, ctx.id, ctx.name.clone()) else { return Ok("no owner to notify".into()) };
        let person = match self.record_in::<Customer>(tx, &Actor::system(), e.person, false).await {
            Ok(c) => c.data.name,
            Err(Error::NotFound) => format!("person {}", e.person),
            Err(err) => return Err(err),
        };
        let text = match message {
            Some(m) if !m.trim().is_empty() => format!("{person}: {}", m.trim()),
            _ => format!("{person} reached step {} of the sequence {name}", step + 1),
        };
        let n = NewNotification { user_id: owner, kind: "sequence".into(), text, link: Some(format!("/marketing/sequences/{sequence}")) };
        crate::notifications::notify(tx, &[n], at).await?;
        Ok(format!("notified user {owner}"))
    }
}
