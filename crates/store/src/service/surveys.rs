//! Satisfaction surveys (see [`rapport_domain::service::survey`]): made in the transaction that
//! first resolves a ticket, opened by a link whose token only the server can compute, and
//! answered (confirm or reopen) in one transaction with the ticket's move and the audit row.
//!
//! The token is HMAC-SHA256 of the ticket and a random nonce under a server secret of its own
//! (`server_secrets.survey_token_key`), so the link can be computed again when the mail module
//! sends it, while the table keeps only the token's SHA-256 to find the survey by.

use hmac::{Hmac, KeyInit, Mac};
use rapport_domain::now_rfc3339;
use rapport_domain::permissions::Actor;
use rapport_domain::service::survey::{Decision, PublicSurveyView, SurveyAnswer, SurveyInput, SurveyResponse};
use rapport_domain::service::ticket::{Ticket, TicketData};
use rapport_domain::service::workflow::{self, TicketState};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::row::Row;
use crate::sql::sql;
use crate::{Error, Result, Store, WriteTx};

const KEY: &str = "survey_token_key";

fn token_of(key: &[u8], ticket: i64, nonce: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(format!("survey\0{ticket}\0{nonce}").as_bytes());
    crate::crypto::hex(&mac.finalize().into_bytes())
}

fn token_hash(token: &str) -> String {
    crate::crypto::hex(&Sha256::digest(token.as_bytes()))
}

async fn key_in(store: &Store, tx: &mut WriteTx) -> Result<Vec<u8>> {
    crate::secrets::key_in(store, tx, KEY).await
}

/// Makes the ticket's survey when it enters `resolved` for the first time (called from the
/// ticket's update hook, in the resolving transaction).
pub(super) async fn on_status(store: &Store, tx: &mut WriteTx, id: i64, before: &TicketData, after: &TicketData) -> Result<()> {
    if after.status != TicketState::Resolved || before.status == TicketState::Resolved {
        return Ok(());
    }
    let key = key_in(store, tx).await?;
    let nonce = crate::crypto::hex(&rand::random::<[u8; 16]>());
    let hash = token_hash(&token_of(&key, id, &nonce));
    let q = sql(
        "INSERT INTO ticket_surveys (ticket_id, nonce, token_hash, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (ticket_id) DO NOTHING",
        [id.into(), nonce.into(), hash.into(), now_rfc3339().into()],
    );
    if tx.execute(&q).await? == 1 {
        store.audit(tx, &Actor::system(), "survey_create", "ticket", Some(id), json!({})).await?;
    }
    Ok(())
}

/// The path of a ticket's survey link, read in the caller's transaction (the resolving one,
/// which made the survey), or `None` before the ticket was resolved.
pub(super) async fn survey_path_in(store: &Store, tx: &mut WriteTx, ticket: i64) -> Result<Option<String>> {
    let q = sql("SELECT nonce FROM ticket_surveys WHERE ticket_id = ?", [ticket.into()]);
    let Some(nonce) = tx.fetch_optional(&q, |r| r.get::<String>("nonce")).await? else { return Ok(None) };
    let key = key_in(store, tx).await?;
    Ok(Some(format!("/support/surveys/{}", token_of(&key, ticket, &nonce))))
}

const COLS: &str = "ticket_id, created_at, csat, nps, comment, decision, agent_id, answered_at, answers";

fn response(r: &dyn Row) -> Result<SurveyResponse> {
    let answered_at: Option<String> = r.get("answered_at")?;
    let csat: Option<i64> = r.get("csat")?;
    let decision: Option<String> = r.get("decision")?;
    let answer = match (csat, decision.as_deref().and_then(Decision::parse)) {
        (Some(c), Some(decision)) => Some(SurveyAnswer {
            csat: u8::try_from(c).unwrap_or(0),
            nps: r.get::<Option<i64>>("nps")?.and_then(|n| u8::try_from(n).ok()),
            comment: r.get("comment")?,
            decision,
        }),
        _ => None,
    };
    Ok(SurveyResponse {
        ticket_id: r.get("ticket_id")?,
        created_at: r.get("created_at")?,
        answer,
        agent_id: r.get("agent_id")?,
        answered_at,
        answers: r.get("answers")?,
    })
}

impl Store {
    /// The path of a ticket's survey link (`/support/surveys/{token}`), once the ticket was
    /// resolved; for the customer's ticket page and the mail that announces the resolution.
    pub async fn survey_link(&self, ticket_id: i64) -> Result<Option<String>> {
        let q = sql("SELECT nonce FROM ticket_surveys WHERE ticket_id = ?", [ticket_id.into()]);
        let Some(nonce) = self.read_optional(&q, |r| r.get::<String>("nonce")).await? else {
            return Ok(None);
        };
        let key = crate::secrets::key_if_made(self, KEY).await?.ok_or_else(|| Error::Crypto(format!("no {KEY}")))?;
        Ok(Some(format!("/support/surveys/{}", token_of(&key, ticket_id, &nonce))))
    }

    /// A ticket's survey and its current answer, for those who may see the ticket (404 before
    /// the ticket was resolved).
    pub async fn ticket_survey(&self, actor: &Actor, ticket_id: i64) -> Result<SurveyResponse> {
        self.record_visible::<Ticket>(actor, ticket_id).await?;
        let q = sql(&format!("SELECT {COLS} FROM ticket_surveys WHERE ticket_id = ?"), [ticket_id.into()]);
        self.read_optional(&q, response).await?.ok_or(Error::NotFound)
    }

    /// What the survey page shows. A read: opening the link records nothing, since mail
    /// scanners follow links. A wrong token is "not found".
    pub async fn public_survey(&self, token: &str) -> Result<PublicSurveyView> {
        let q = sql(
            &format!(
                "SELECT s.{}, t.subject, t.status FROM ticket_surveys s JOIN tickets t ON t.id = s.ticket_id \
                 WHERE s.token_hash = ? AND t.deleted_at IS NULL",
                COLS.replace(", ", ", s.")
            ),
            [token_hash(token).into()],
        );
        let found = self
            .read_optional(&q, |r| {
                let status = TicketState::parse(&r.get::<String>("status")?).unwrap_or_default();
                Ok((response(r)?, r.get::<String>("subject")?, status))
            })
            .await?;
        let (s, subject, status) = found.ok_or(Error::NotFound)?;
        Ok(PublicSurveyView { ticket_id: s.ticket_id, subject, status, answer: s.answer })
    }

    /// The customer answers the survey: the rating (credited to the last agent who replied
    /// publicly, else the assignee) replaces any earlier one, and the decision closes or
    /// reopens a resolved ticket, in one audited transaction. A decision the ticket can no
    /// longer take (a closed ticket reopened) is refused naming what is allowed, and nothing is
    /// saved.
    pub async fn answer_survey(&self, token: &str, input: &SurveyInput, request_id: Option<String>) -> Result<SurveyResponse> {
        let answer = input.apply()?;
        let actor = Actor { request_id, ..Actor::system() };
        let now = now_rfc3339();
        let mut tx = self.write_tx().await?;
        let lock = self.backend.lock_rows();
        let q = sql(&format!("SELECT {COLS} FROM ticket_surveys WHERE token_hash = ?{lock}"), [token_hash(token).into()]);
        let before = tx.fetch_optional(&q, response).await?.ok_or(Error::NotFound)?;
        let id = before.ticket_id;
        let ticket = self.record_in::<Ticket>(&mut tx, &Actor::system(), id, false).await?;
        let replier = sql(
            "SELECT author_id FROM ticket_messages WHERE ticket_id = ? AND author = 'agent' AND internal = 0 AND author_id IS NOT NULL \
             ORDER BY at DESC, id DESC LIMIT 1",
            [id.into()],
        );
        let agent = tx.fetch_optional(&replier, |r| r.get::<i64>("author_id")).await?.or(ticket.data.owner_id);
        // A changed answer on a ticket that already stands where the decision leads moves nothing.
        if !answer.decision.reflected_in(ticket.data.status) {
            self.update_in::<Ticket, _, _>(&mut tx, &actor, id, None, |cur: &TicketData| {
                cur.perform(answer.decision.action(), workflow::Actor::Customer, None, None, &now)
            })
            .await?;
        }
        let q = sql(
            &format!(
                "UPDATE ticket_surveys SET csat = ?, nps = ?, comment = ?, decision = ?, agent_id = ?, answered_at = ?, \
                 answers = answers + 1 WHERE ticket_id = ? RETURNING {COLS}"
            ),
            [
                i64::from(answer.csat).into(),
                answer.nps.map(i64::from).into(),
                answer.comment.clone().into(),
                answer.decision.as_str().into(),
                agent.into(),
                now.clone().into(),
                id.into(),
            ],
        );
        let after = tx.fetch_one(&q, response).await?;
        let action = if before.answer.is_some() { "survey_reanswer" } else { "survey_answer" };
        let diff = json!({"before": before.answer, "after": after.answer, "agent_id": agent});
        self.audit(&mut tx, &actor, action, "ticket", Some(id), diff).await?;
        tx.commit().await?;
        Ok(after)
    }
}

/// A survey carried into the database as it stands (demo data, or answers from another help
/// desk): made when its ticket was resolved, and answered or not.
#[derive(Debug, Clone)]
pub struct ImportedSurvey {
    /// The ticket, resolved once.
    pub ticket_id: i64,
    /// When the survey was made (the resolution), RFC 3339 UTC.
    pub created_at: String,
    /// The answer and when it came, if the customer answered.
    pub answer: Option<(SurveyAnswer, String)>,
}

impl Store {
    /// The resolved-once live tickets without a survey, by id: (id, when resolved, when closed,
    /// status now).
    pub async fn tickets_without_survey(&self, actor: &Actor) -> Result<Vec<(i64, String, Option<String>, TicketState)>> {
        rapport_domain::permissions::require(
            actor,
            rapport_domain::permissions::Object::Ticket,
            rapport_domain::permissions::Action::Read,
        )?;
        let q = sql(
            "SELECT t.id, t.resolved_at, t.closed_at, t.status FROM tickets t WHERE t.resolved_at IS NOT NULL AND t.deleted_at IS NULL \
             AND NOT EXISTS (SELECT 1 FROM ticket_surveys s WHERE s.ticket_id = t.id) ORDER BY t.id",
            [],
        );
        self.read(&q, |r| {
            let status = TicketState::parse(&r.get::<String>("status")?).unwrap_or_default();
            Ok((r.get("id")?, r.get("resolved_at")?, r.get("closed_at")?, status))
        })
        .await
    }

    /// Adds surveys in one transaction with one audit row, each with a working link (a nonce
    /// under the survey key) and each answer credited as a live one is: to the last agent who
    /// replied publicly, else the assignee. A ticket that has a survey keeps it. How many were
    /// added.
    pub async fn import_surveys(&self, actor: &Actor, rows: &[ImportedSurvey]) -> Result<usize> {
        use rapport_domain::permissions::{Action, Object, require};
        require(actor, Object::Ticket, Action::Update)?;
        let mut errs = rapport_domain::ValidationErrors::default();
        for (n, r) in rows.iter().enumerate() {
            if let Some((a, _)) = &r.answer {
                if !(1..=5).contains(&a.csat) {
                    errs.add(format!("rows[{n}].csat"), "must be 1 to 5");
                }
                if a.nps.is_some_and(|x| x > 10) {
                    errs.add(format!("rows[{n}].nps"), "must be 0 to 10");
                }
            }
        }
        errs.into_result(())?;
        if rows.is_empty() {
            return Ok(0);
        }
        let mut tx = self.write_tx().await?;
        let key = key_in(self, &mut tx).await?;
        let values: Vec<[crate::sql::Arg; 11]> = rows
            .iter()
            .map(|r| {
                let nonce = crate::crypto::hex(&rand::random::<[u8; 16]>());
                let hash = token_hash(&token_of(&key, r.ticket_id, &nonce));
                let a = r.answer.as_ref();
                [
                    r.ticket_id.into(),
                    nonce.into(),
                    hash.into(),
                    r.created_at.clone().into(),
                    a.map(|(a, _)| i64::from(a.csat)).into(),
                    a.and_then(|(a, _)| a.nps.map(i64::from)).into(),
                    a.and_then(|(a, _)| a.comment.clone()).into(),
                    a.map(|(a, _)| a.decision.as_str().to_string()).into(),
                    a.map(|(_, at)| at.clone()).into(),
                    i64::from(a.is_some()).into(),
                    // The credited agent is filled in below, from the conversation.
                    Option::<i64>::None.into(),
                ]
            })
            .collect();
        let head = "INSERT INTO ticket_surveys (ticket_id, nonce, token_hash, created_at, csat, nps, comment, decision, answered_at, answers, agent_id) VALUES ";
        let mut added = 0;
        for q in crate::bulk::inserts(self.backend, head, " ON CONFLICT (ticket_id) DO NOTHING", 11, &values, |v| v.clone()) {
            added += tx.execute(&q).await?;
        }
        let (lo, hi) = rows.iter().fold((i64::MAX, i64::MIN), |(lo, hi), r| (lo.min(r.ticket_id), hi.max(r.ticket_id)));
        tx.execute(&sql(
            "UPDATE ticket_surveys SET agent_id = COALESCE(\
               (SELECT m.author_id FROM ticket_messages m WHERE m.ticket_id = ticket_surveys.ticket_id AND m.author = 'agent' \
                AND m.internal = 0 AND m.author_id IS NOT NULL ORDER BY m.at DESC, m.id DESC LIMIT 1), \
               (SELECT t.owner_id FROM tickets t WHERE t.id = ticket_surveys.ticket_id)) \
             WHERE answered_at IS NOT NULL AND agent_id IS NULL AND ticket_id BETWEEN ? AND ?",
            [lo.into(), hi.into()],
        ))
        .await?;
        let answered = rows.iter().filter(|r| r.answer.is_some()).count();
        let summary = json!({"count": added, "answered": answered, "first_ticket_id": lo, "last_ticket_id": hi});
        self.audit(&mut tx, actor, "bulk_create", "ticket_survey", None, summary).await?;
        tx.commit().await?;
        Ok(added as usize)
    }
}
