//! Open pixel, click redirects and the web view of marketing mail, by the mail's token. A
//! machine's open or click (see [`rapport_domain::marketing::tracking::machine_reason`]) is
//! recorded with `machine = 1` and its reason and moves no member state; a person's moves the
//! member to `opened` or `clicked`. A click goes only to a link of that very mail.

use rapport_domain::marketing::tracking::machine_reason;
use rapport_domain::now_rfc3339;

use super::email::advance_member;
use crate::row::Row;
use crate::sql::sql;
use crate::{Error, Result, Store, WriteTx};

/// What a tracking request found.
#[derive(Debug, Clone)]
pub struct Tracked {
    /// Where a click goes.
    pub url: Option<String>,
    /// Why the request was taken for a machine's, when it was.
    pub machine: Option<&'static str>,
}

/// The queue row behind a token.
pub(crate) struct MailOfToken {
    pub id: i64,
    pub campaign_id: Option<i64>,
    pub person_id: Option<i64>,
    pub to_key: Option<String>,
    pub to_addr: String,
    pub links: Vec<String>,
    pub sent_at: Option<String>,
}

pub(crate) async fn mail_of_token(tx: &mut WriteTx, token: &str) -> Result<MailOfToken> {
    let q = sql("SELECT id, campaign_id, person_id, to_key, to_addr, links, sent_at FROM mail_queue WHERE track_token = ?", [token.into()]);
    tx.fetch_optional(&q, |r: &dyn Row| {
        let links: Option<String> = r.get("links")?;
        Ok(MailOfToken {
            id: r.get("id")?,
            campaign_id: r.get("campaign_id")?,
            person_id: r.get("person_id")?,
            to_key: r.get("to_key")?,
            to_addr: r.get("to_addr")?,
            links: links.and_then(|l| serde_json::from_str(&l).ok()).unwrap_or_default(),
            sent_at: r.get("sent_at")?,
        })
    })
    .await?
    .ok_or(Error::NotFound)
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn event(
    tx: &mut WriteTx,
    m: &MailOfToken,
    kind: &str,
    machine: Option<&str>,
    reason: Option<&str>,
    url: Option<&str>,
    ua: Option<&str>,
    at: &str,
) -> Result<()> {
    let q = sql(
        "INSERT INTO marketing_events (mail_id, campaign_id, person_id, email_key, kind, machine, reason, url, user_agent, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            m.id.into(),
            m.campaign_id.into(),
            m.person_id.into(),
            m.to_key.clone().into(),
            kind.into(),
            i64::from(machine.is_some()).into(),
            machine.or(reason).map(str::to_string).into(),
            url.map(str::to_string).into(),
            ua.map(|u| u.chars().take(300).collect::<String>()).into(),
            at.into(),
        ],
    );
    tx.execute(&q).await?;
    Ok(())
}

fn secs_since(sent_at: Option<&str>) -> Option<i64> {
    let t = chrono::DateTime::parse_from_rfc3339(sent_at?).ok()?;
    Some((chrono::Utc::now() - t.with_timezone(&chrono::Utc)).num_seconds())
}

impl Store {
    async fn track(&self, token: &str, link: Option<usize>, head: bool, ua: Option<&str>) -> Result<Tracked> {
        if !self.marketing_token_ok(token).await? {
            return Err(Error::NotFound);
        }
        let mut tx = self.write_tx().await?;
        let m = mail_of_token(&mut tx, token).await?;
        let url = match link {
            Some(n) => Some(m.links.get(n).cloned().ok_or(Error::NotFound)?),
            None => None,
        };
        let machine = machine_reason(head, ua, secs_since(m.sent_at.as_deref()), link.is_some());
        let kind = if link.is_some() { "click" } else { "open" };
        let now = now_rfc3339();
        event(&mut tx, &m, kind, machine, None, url.as_deref(), ua, &now).await?;
        if machine.is_none()
            && let (Some(c), Some(p)) = (m.campaign_id, m.person_id)
        {
            // A click shows the mail was opened, whether or not its images loaded.
            advance_member(&mut tx, c, p, "opened", &now).await?;
            if link.is_some() {
                advance_member(&mut tx, c, p, "clicked", &now).await?;
            }
        }
        tx.commit().await?;
        Ok(Tracked { url, machine })
    }

    /// Records an open of the mail with `token` (HEAD requests and proxies as machine opens).
    pub async fn track_open(&self, token: &str, head: bool, user_agent: Option<&str>) -> Result<Tracked> {
        self.track(token, None, head, user_agent).await
    }

    /// Records a click on link `n` of the mail with `token` and gives its URL; a link the mail
    /// does not have is "not found".
    pub async fn track_click(&self, token: &str, n: usize, head: bool, user_agent: Option<&str>) -> Result<Tracked> {
        self.track(token, Some(n), head, user_agent).await
    }

    /// The mail with `token` as it was sent: subject, text and HTML (the web view).
    pub async fn web_view(&self, token: &str) -> Result<(String, String, Option<String>)> {
        if !self.marketing_token_ok(token).await? {
            return Err(Error::NotFound);
        }
        let q = sql("SELECT subject, text_body, html_body FROM mail_queue WHERE track_token = ?", [token.into()]);
        self.read_optional(&q, |r| Ok((r.get("subject")?, r.get("text_body")?, r.get("html_body")?))).await?.ok_or(Error::NotFound)
    }
}
