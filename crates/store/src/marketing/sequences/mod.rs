//! Drip sequences (see [`rapport_domain::marketing::sequences`]): shared marketing data like
//! templates (every role that reads campaigns reads them; marketers and admins change them),
//! their steps checked on save against live templates, segments and the campaign, audited;
//! enrollments by hand; and the background job that enrolls and advances people ([`run`]).

mod run;

use std::collections::BTreeMap;

use rapport_domain::ValidationErrors;
use rapport_domain::marketing::sequences::{Enrollment, Sequence, SequenceData, SequenceInput, SequenceState, Step, StepRun};
use rapport_domain::now_rfc3339;
use rapport_domain::permissions::{Action, Actor, Object, require};
use rapport_domain::query::Page;
use rapport_domain::sales::Refused;
use serde_json::json;

use super::base_url;
use crate::records::{check_version, visible};
use crate::row::Row;
use crate::sql::{Sql, sql};
use crate::{Error, Result, Store, WriteTx};

const COLS: &str = "id, name, campaign_id, topic, entry, segment_id, steps, owner_id, state, activated_at, created_at, updated_at, version";

fn from_row(r: &dyn Row) -> Result<Sequence> {
    let steps: String = r.get("steps")?;
    Ok(Sequence {
        id: r.get("id")?,
        data: SequenceData {
            name: r.get("name")?,
            campaign_id: r.get("campaign_id")?,
            topic: r.get("topic")?,
            entry: r.get("entry")?,
            segment_id: r.get("segment_id")?,
            steps: serde_json::from_str(&steps).unwrap_or_default(),
            owner_id: r.get("owner_id")?,
        },
        state: SequenceState::parse(&r.get::<String>("state")?).unwrap_or(SequenceState::Paused),
        activated_at: r.get("activated_at")?,
        enrolled: BTreeMap::new(),
        created_at: r.get("created_at")?,
        updated_at: r.get("updated_at")?,
        version: r.get("version")?,
    })
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> Error {
    Error::Invalid(ValidationErrors::single(field, message))
}

/// The most people one enrollment request names.
const MAX_ENROLL: usize = 1000;

impl Store {
    /// What the sequence refers to must exist: an email campaign the actor reaches, live
    /// templates, segments (static ones for `add_to_list`).
    async fn check_sequence(&self, actor: &Actor, tx: &mut WriteTx, d: &SequenceData) -> Result<()> {
        match self.get_campaign(actor, d.campaign_id).await {
            Ok(c) if c.data.channel == "email" => {}
            Ok(c) => return Err(invalid("campaign_id", format!("a sequence sends email: the campaign's channel is {}", c.data.channel))),
            Err(Error::NotFound) => return Err(invalid("campaign_id", "no such campaign")),
            Err(e) => return Err(e),
        }
        if let Some(owner) = d.owner_id {
            let q = sql("SELECT id FROM users WHERE id = ? AND is_active = 1", [owner.into()]);
            if tx.fetch_optional(&q, |r| r.get::<i64>("id")).await?.is_none() {
                return Err(invalid("owner_id", "no such active user"));
            }
        }
        let kind = |id: i64| sql("SELECT kind FROM segments WHERE id = ? AND deleted_at IS NULL", [id.into()]);
        if let Some(s) = d.segment_id
            && tx.fetch_optional(&kind(s), |r| r.get::<String>("kind")).await?.is_none()
        {
            return Err(invalid("segment_id", "no such segment"));
        }
        let mut errs = ValidationErrors::default();
        for (i, step) in d.steps.iter().enumerate() {
            if let Step::SendEmail { template_id } = step {
                let q = sql("SELECT id FROM email_templates WHERE id = ? AND deleted_at IS NULL", [(*template_id).into()]);
                if tx.fetch_optional(&q, |r| r.get::<i64>("id")).await?.is_none() {
                    errs.add(format!("steps[{i}].template_id"), "no such template");
                }
            }
            if let Some((id, field)) = step.segments() {
                match tx.fetch_optional(&kind(id), |r| r.get::<String>("kind")).await? {
                    None => errs.add(format!("steps[{i}].{field}"), "no such segment"),
                    Some(k) if k != "static" && matches!(step, Step::AddToList { .. }) => {
                        errs.add(format!("steps[{i}].{field}"), "people are added to static segments (lists) only")
                    }
                    Some(_) => {}
                }
            }
        }
        errs.into_result(()).map_err(Error::Invalid)
    }

    async fn with_enrolled(&self, mut s: Sequence) -> Result<Sequence> {
        let q =
            sql("SELECT state, COUNT(*) AS n FROM sequence_enrollments WHERE sequence_id = ? GROUP BY state ORDER BY state", [s.id.into()]);
        s.enrolled = self.read(&q, |r| Ok((r.get::<String>("state")?, r.get::<i64>("n")?))).await?.into_iter().collect();
        for state in ["active", "done"] {
            s.enrolled.entry(state.into()).or_insert(0);
        }
        Ok(s)
    }

    async fn sequence_in(&self, tx: &mut WriteTx, id: i64) -> Result<Sequence> {
        let lock = self.backend.lock_rows();
        let q = sql(&format!("SELECT {COLS} FROM sequences WHERE id = ? AND deleted_at IS NULL{lock}"), [id.into()]);
        tx.fetch_optional(&q, from_row).await?.ok_or(Error::NotFound)
    }

    /// A page of live sequences by id (`after` the cursor's id).
    pub async fn list_sequences(&self, actor: &Actor, after: Option<i64>, limit: u32) -> Result<Page<Sequence>> {
        require(actor, Object::Campaign, Action::Read)?;
        let limit = limit.clamp(1, 200);
        let q = sql(
            &format!("SELECT {COLS} FROM sequences WHERE deleted_at IS NULL AND id > ? ORDER BY id LIMIT ?"),
            [after.unwrap_or(0).into(), (limit as i64 + 1).into()],
        );
        let mut rows = self.read(&q, from_row).await?;
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let next_cursor = if more { rows.last().map(|s| s.id.to_string()) } else { None };
        let mut data = Vec::with_capacity(rows.len());
        for s in rows {
            data.push(self.with_enrolled(s).await?);
        }
        Ok(Page { data, next_cursor, sync_token: None })
    }

    /// One live sequence with its enrollment counts.
    pub async fn get_sequence(&self, actor: &Actor, id: i64) -> Result<Sequence> {
        require(actor, Object::Campaign, Action::Read)?;
        let q = sql(&format!("SELECT {COLS} FROM sequences WHERE id = ? AND deleted_at IS NULL"), [id.into()]);
        let s = self.read_optional(&q, from_row).await?.ok_or(Error::NotFound)?;
        self.with_enrolled(s).await
    }

    /// Creates a sequence, as a draft; its owner is the creator unless named. Audited.
    pub async fn create_sequence(&self, actor: &Actor, input: SequenceInput) -> Result<Sequence> {
        require(actor, Object::Campaign, Action::Create)?;
        let mut d = input.apply(None)?;
        if d.owner_id.is_none() {
            d.owner_id = actor.user_id;
        }
        let mut tx = self.write_tx().await?;
        self.check_sequence(actor, &mut tx, &d).await?;
        let now = now_rfc3339();
        let q = sql(
            &format!(
                "INSERT INTO sequences (name, campaign_id, topic, entry, segment_id, steps, owner_id, state, created_at, updated_at, version) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, 'draft', ?, ?, 1) RETURNING {COLS}"
            ),
            [
                d.name.into(),
                d.campaign_id.into(),
                d.topic.into(),
                d.entry.into(),
                d.segment_id.into(),
                serde_json::to_string(&d.steps).unwrap_or_else(|_| "[]".into()).into(),
                d.owner_id.into(),
                now.clone().into(),
                now.into(),
            ],
        );
        let s = tx.fetch_one(&q, from_row).await?;
        self.audit(&mut tx, actor, "create", "sequence", Some(s.id), json!({"after": &s})).await?;
        tx.commit().await?;
        self.with_enrolled(s).await
    }

    /// Changes the fields sent; `If-Match` refuses a stale version. People already enrolled
    /// keep their step numbers. Audited.
    pub async fn update_sequence(&self, actor: &Actor, id: i64, if_match: Option<i64>, input: SequenceInput) -> Result<Sequence> {
        require(actor, Object::Campaign, Action::Update)?;
        let mut tx = self.write_tx().await?;
        let before = self.sequence_in(&mut tx, id).await?;
        check_version(if_match, before.version)?;
        let d = input.apply(Some(&before.data))?;
        self.check_sequence(actor, &mut tx, &d).await?;
        let q = sql(
            &format!(
                "UPDATE sequences SET name = ?, campaign_id = ?, topic = ?, entry = ?, segment_id = ?, steps = ?, owner_id = ?, updated_at = ?, \
                 version = version + 1 WHERE id = ? RETURNING {COLS}"
            ),
            [
                d.name.into(),
                d.campaign_id.into(),
                d.topic.into(),
                d.entry.into(),
                d.segment_id.into(),
                serde_json::to_string(&d.steps).unwrap_or_else(|_| "[]".into()).into(),
                d.owner_id.into(),
                now_rfc3339().into(),
                id.into(),
            ],
        );
        let after = tx.fetch_one(&q, from_row).await?;
        self.audit(&mut tx, actor, "update", "sequence", Some(id), crate::audit::diff(&before, &after)).await?;
        tx.commit().await?;
        self.with_enrolled(after).await
    }

    /// Deletes a sequence (soft): nobody advances any more and its queued mails stay unsent.
    pub async fn delete_sequence(&self, actor: &Actor, id: i64, if_match: Option<i64>) -> Result<()> {
        require(actor, Object::Campaign, Action::Delete)?;
        let mut tx = self.write_tx().await?;
        let s = self.sequence_in(&mut tx, id).await?;
        check_version(if_match, s.version)?;
        let now = now_rfc3339();
        tx.execute(&sql(
            "UPDATE sequences SET deleted_at = ?, updated_at = ?, version = version + 1 WHERE id = ?",
            [now.clone().into(), now.into(), id.into()],
        ))
        .await?;
        self.audit(&mut tx, actor, "delete", "sequence", Some(id), json!({})).await?;
        tx.commit().await
    }

    /// `activate` (a draft), `pause` (an active one) or `resume` (a paused one); the wrong
    /// state is a 409 naming the actions allowed now. A sequence that sends mail needs the
    /// server's public address to activate. Audited.
    pub async fn act_on_sequence(&self, actor: &Actor, id: i64, action: &str) -> Result<Sequence> {
        require(actor, Object::Campaign, Action::Update)?;
        let mut tx = self.write_tx().await?;
        let s = self.sequence_in(&mut tx, id).await?;
        let to = s.state.act(action)?;
        if to == SequenceState::Active && s.data.steps.iter().any(|st| matches!(st, Step::SendEmail { .. })) {
            base_url(self)?;
        }
        let now = now_rfc3339();
        let q = sql(
            &format!(
                "UPDATE sequences SET state = ?, activated_at = COALESCE(activated_at, ?), updated_at = ?, version = version + 1 WHERE id = ? RETURNING {COLS}"
            ),
            [to.as_str().into(), now.clone().into(), now.into(), id.into()],
        );
        let after = tx.fetch_one(&q, from_row).await?;
        self.audit(&mut tx, actor, action, "sequence", Some(id), json!({"from": s.state.as_str(), "to": to.as_str()})).await?;
        tx.commit().await?;
        self.with_enrolled(after).await
    }

    /// Enrolls people by hand (people the actor may see; anyone already in the sequence stays
    /// where they are); they start at the first step at the job's next pass. How many entered.
    pub async fn enroll(&self, actor: &Actor, id: i64, person_ids: &[i64]) -> Result<u64> {
        require(actor, Object::Campaign, Action::Update)?;
        require(actor, Object::Customer, Action::Read)?;
        if person_ids.is_empty() || person_ids.len() > MAX_ENROLL {
            return Err(invalid("person_ids", format!("name 1 to {MAX_ENROLL} people")));
        }
        let mut tx = self.write_tx().await?;
        self.sequence_in(&mut tx, id).await?;
        let now = now_rfc3339();
        let mut added = 0;
        for chunk in person_ids.chunks(200) {
            let mut q = Sql::new(
                "INSERT INTO sequence_enrollments (sequence_id, person_id, step, state, next_run_at, source, created_at, updated_at) SELECT ",
            );
            q.arg(id).push(", p.id, 0, 'active', ").arg(now.clone()).push(", 'manual', ").arg(now.clone()).push(", ").arg(now.clone());
            q.push(" FROM customers p WHERE p.deleted_at IS NULL AND p.id IN (");
            for (i, p) in chunk.iter().enumerate() {
                q.push(if i == 0 { "" } else { ", " }).arg(*p);
            }
            q.push(")");
            visible(&mut q, actor, "p");
            q.push(" ON CONFLICT (sequence_id, person_id) DO NOTHING");
            added += tx.execute(&q).await?;
        }
        self.audit(&mut tx, actor, "enroll", "sequence", Some(id), json!({"enrolled": added})).await?;
        tx.commit().await?;
        Ok(added)
    }

    /// A page of a sequence's enrollments the actor may see, by person id, each with the
    /// steps it ran.
    pub async fn list_enrollments(&self, actor: &Actor, id: i64, after: Option<i64>, limit: u32) -> Result<Page<Enrollment>> {
        require(actor, Object::Customer, Action::Read)?;
        self.get_sequence(actor, id).await?;
        let limit = limit.clamp(1, 500);
        let mut q = Sql::new(
            "SELECT e.id, e.sequence_id, e.person_id, p.name AS person_name, e.step, e.state, e.next_run_at, e.source, e.created_at, e.updated_at \
             FROM sequence_enrollments e JOIN customers p ON p.id = e.person_id AND p.deleted_at IS NULL WHERE e.sequence_id = ",
        );
        q.arg(id).push(" AND e.person_id > ").arg(after.unwrap_or(0));
        visible(&mut q, actor, "p");
        q.push(" ORDER BY e.person_id LIMIT ").arg(limit as i64 + 1);
        let mut rows = self.read(&q, enrollment_row).await?;
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        for e in &mut rows {
            e.history = self.step_runs(e.id).await?;
        }
        let next_cursor = if more { rows.last().map(|e| e.person_id.to_string()) } else { None };
        Ok(Page { data: rows, next_cursor, sync_token: None })
    }

    async fn step_runs(&self, enrollment: i64) -> Result<Vec<StepRun>> {
        let q =
            sql("SELECT step, kind, outcome, at FROM sequence_step_runs WHERE enrollment_id = ? ORDER BY at, step", [enrollment.into()]);
        self.read(&q, |r| Ok(StepRun { step: r.get("step")?, kind: r.get("kind")?, outcome: r.get("outcome")?, at: r.get("at")? })).await
    }

    /// Takes one person out of a sequence by hand: their enrollment becomes `exited` (no
    /// further step runs; the job advances `active` ones only) and a mail of the sequence
    /// still queued for them is skipped. Only an active enrollment of a person the actor may
    /// see exits; a finished or exited one is a 409. Audited; on the person's timeline.
    pub async fn exit_enrollment(&self, actor: &Actor, id: i64, enrollment: i64) -> Result<Enrollment> {
        require(actor, Object::Campaign, Action::Update)?;
        require(actor, Object::Customer, Action::Read)?;
        let mut tx = self.write_tx().await?;
        self.sequence_in(&mut tx, id).await?;
        let mut q = Sql::new(&format!("{ENROLLMENT_SELECT} WHERE e.sequence_id = "));
        q.arg(id).push(" AND e.id = ").arg(enrollment);
        visible(&mut q, actor, "p");
        let e = tx.fetch_optional(&q, enrollment_row).await?.ok_or(Error::NotFound)?;
        if e.state != "active" {
            let state = if e.state == "done" { "done" } else { "exited" };
            return Err(Refused::new("enrollment", "exit", state, vec![], "the person has left the sequence already").into());
        }
        let now = now_rfc3339();
        let changed = tx
            .execute(&sql(
                "UPDATE sequence_enrollments SET state = 'exited', updated_at = ? WHERE id = ? AND state = 'active'",
                [now.clone().into(), enrollment.into()],
            ))
            .await?;
        if changed == 0 {
            return Err(Refused::new("enrollment", "exit", "exited", vec![], "the person has left the sequence already").into());
        }
        let skipped = tx
            .execute(&sql(
                "UPDATE mail_queue SET state = 'skipped', error = 'taken out of the sequence' WHERE sequence_id = ? AND person_id = ? AND state = 'queued'",
                [id.into(), e.person_id.into()],
            ))
            .await?;
        let diff = json!({"enrollment_id": enrollment, "person_id": e.person_id, "from": "active", "to": "exited", "step": e.step, "mail_skipped": skipped});
        self.audit(&mut tx, actor, "exit", "sequence", Some(id), diff).await?;
        tx.commit().await?;
        let history = self.step_runs(enrollment).await?;
        Ok(Enrollment { state: "exited".into(), updated_at: now, history, ..e })
    }
}

const ENROLLMENT_SELECT: &str = "SELECT e.id, e.sequence_id, e.person_id, p.name AS person_name, e.step, e.state, e.next_run_at, e.source, \
     e.created_at, e.updated_at FROM sequence_enrollments e JOIN customers p ON p.id = e.person_id AND p.deleted_at IS NULL";

fn enrollment_row(r: &dyn Row) -> Result<Enrollment> {
    Ok(Enrollment {
        id: r.get("id")?,
        sequence_id: r.get("sequence_id")?,
        person_id: r.get("person_id")?,
        person_name: r.get("person_name")?,
        step: r.get("step")?,
        state: r.get("state")?,
        next_run_at: r.get("next_run_at")?,
        source: r.get("source")?,
        history: Vec::new(),
        created_at: r.get("created_at")?,
        updated_at: r.get("updated_at")?,
    })
}
