//! The mail jobs `rapport serve` runs in the background: the sender, which delivers the
//! database's mail queue over SMTP (lettre), and the IMAP poller, which takes new messages from
//! a mailbox (async-imap) into tickets. Both keep their state in the database, so several
//! processes on one PostgreSQL can run them and a restart resumes where the last one stopped:
//! the sender leases rows (see `rapport_store`'s mail module for why a killed sender never
//! sends a mail twice), the poller stores UIDVALIDITY and the last UID it imported in the
//! transaction that imports the message, and Message-IDs are deduplicated besides.

use std::time::Duration;

use anyhow::{Context, anyhow};
use clap::Args;
use futures_util::StreamExt;
use lettre::address::Envelope;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, Message, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use rapport_domain::marketing::email::MarketingLimits;
use rapport_domain::service::mail::InboundMail;
use rapport_store::{ImapCursor, QueuedMail, Store};

/// Mail settings of `rapport serve` (flags or environment).
#[derive(Args, Clone, Debug, Default)]
pub struct MailArgs {
    /// SMTP server for outgoing mail: `smtps://user:pass@host:465` (TLS),
    /// `smtp://user:pass@host:587?tls=required` (STARTTLS), or `smtp://host:port` (plain, for a
    /// relay on this machine). Unset: mail stays queued until a server with it runs.
    #[arg(long, env = "RAPPORT_SMTP_URL")]
    pub smtp_url: Option<String>,
    /// The From address of outgoing mail (replies come back to it: the IMAP mailbox).
    #[arg(long, env = "RAPPORT_MAIL_FROM", default_value = "Support <support@localhost>")]
    pub mail_from: String,
    /// Seconds between looks at the mail queue.
    #[arg(long, env = "RAPPORT_MAIL_POLL_SECS", default_value_t = 5)]
    pub mail_poll_secs: u64,
    /// Seconds a sender holds the mails it claimed; another process takes them over after.
    #[arg(long, env = "RAPPORT_MAIL_LEASE_SECS", default_value_t = 120)]
    pub mail_lease_secs: i64,
    /// IMAP server to poll for inbound mail (plain IMAP; reach a remote one through a TLS
    /// tunnel such as stunnel). Unset: no polling (the inbound endpoint still works).
    #[arg(long, env = "RAPPORT_IMAP_HOST")]
    pub imap_host: Option<String>,
    /// IMAP port.
    #[arg(long, env = "RAPPORT_IMAP_PORT", default_value_t = 143)]
    pub imap_port: u16,
    /// IMAP user.
    #[arg(long, env = "RAPPORT_IMAP_USER", default_value = "")]
    pub imap_user: String,
    /// IMAP password.
    #[arg(long, env = "RAPPORT_IMAP_PASSWORD", default_value = "", hide_env_values = true)]
    pub imap_password: String,
    /// The folder to read.
    #[arg(long, env = "RAPPORT_IMAP_FOLDER", default_value = "INBOX")]
    pub imap_folder: String,
    /// Seconds between polls of the mailbox.
    #[arg(long, env = "RAPPORT_IMAP_POLL_SECS", default_value_t = 30)]
    pub imap_poll_secs: u64,
    /// Seconds before the first retry of a temporarily refused mail (4xx); doubles after.
    #[arg(long, env = "RAPPORT_MAIL_RETRY_SECS", default_value_t = 60)]
    pub mail_retry_secs: i64,
    /// Marketing mails per minute at most (the provider's quota); unset: no cap.
    #[arg(long, env = "RAPPORT_MARKETING_PER_MINUTE")]
    pub marketing_per_minute: Option<i64>,
    /// Marketing mails per hour at most.
    #[arg(long, env = "RAPPORT_MARKETING_PER_HOUR")]
    pub marketing_per_hour: Option<i64>,
    /// Marketing mails per day at most.
    #[arg(long, env = "RAPPORT_MARKETING_PER_DAY")]
    pub marketing_per_day: Option<i64>,
    /// At most this many marketing mails to one address within --frequency-days, across campaigns.
    #[arg(long, env = "RAPPORT_FREQUENCY_MAX")]
    pub frequency_max: Option<i64>,
    /// The frequency cap's window in days.
    #[arg(long, env = "RAPPORT_FREQUENCY_DAYS", default_value_t = 7)]
    pub frequency_days: i64,
    /// Days marketing mails stay in the send log (the queue) after they were handed over.
    #[arg(long, env = "RAPPORT_SEND_LOG_DAYS", default_value_t = 90)]
    pub send_log_days: i64,
    /// Bounce address of marketing mail: its return path is `local+b-TOKEN@domain` (VERP), so
    /// each bounce names its mail. Unset: the From address's.
    #[arg(long, env = "RAPPORT_BOUNCE_ADDRESS")]
    pub bounce_address: Option<String>,
    /// IMAP user of the bounce mailbox (same server as --imap-host); unset: not polled.
    #[arg(long, env = "RAPPORT_BOUNCE_IMAP_USER")]
    pub bounce_imap_user: Option<String>,
    /// Password of the bounce mailbox.
    #[arg(long, env = "RAPPORT_BOUNCE_IMAP_PASSWORD", default_value = "", hide_env_values = true)]
    pub bounce_imap_password: String,
    /// Soft bounces after which an address is suppressed.
    #[arg(long, env = "RAPPORT_SOFT_BOUNCE_LIMIT", default_value_t = 3)]
    pub soft_bounce_limit: i64,
}

/// Starts the jobs the settings ask for.
pub fn spawn(store: &Store, args: &MailArgs) -> anyhow::Result<()> {
    store.set_mail_retry_secs(args.mail_retry_secs);
    store.set_soft_bounce_limit(args.soft_bounce_limit);
    if let Some(url) = &args.smtp_url {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .context("RAPPORT_SMTP_URL (--smtp-url)")?
            .timeout(Some(Duration::from_secs(60)))
            .build();
        let from: Mailbox = args.mail_from.parse().map_err(|e| anyhow!("RAPPORT_MAIL_FROM (--mail-from): {e}"))?;
        let bounce = match &args.bounce_address {
            Some(b) => b.clone(),
            None => from.email.to_string(),
        };
        let limits = MarketingLimits {
            per_minute: args.marketing_per_minute,
            per_hour: args.marketing_per_hour,
            per_day: args.marketing_per_day,
            frequency_max: args.frequency_max,
            frequency_days: args.frequency_days,
        };
        let sender = Sender {
            store: store.clone(),
            transport,
            from,
            owner: owner(),
            lease: args.mail_lease_secs.max(5),
            bounce,
            limits,
            log_days: args.send_log_days.max(1),
        };
        let every = Duration::from_secs(args.mail_poll_secs.max(1));
        tracing::info!(owner = %sender.owner, "mail sender started");
        tokio::spawn(async move {
            loop {
                match sender.pass().await {
                    // A full batch (or a sending being written out): more may be due at once.
                    Ok(n) if n >= BATCH as usize => continue,
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %format!("{e:#}"), "mail sender"),
                }
                tokio::time::sleep(every).await;
            }
        });
    }
    if let (Some(host), Some(user)) = (args.imap_host.clone(), args.bounce_imap_user.clone()) {
        let mut a = args.clone();
        a.imap_user = user;
        a.imap_password = args.bounce_imap_password.clone();
        let poller = Poller { store: store.clone(), args: a, host, bounces: true };
        let every = Duration::from_secs(args.imap_poll_secs.max(1));
        tokio::spawn(async move {
            loop {
                if let Err(e) = poller.poll().await {
                    tracing::warn!(error = %format!("{e:#}"), "bounce mailbox poller");
                }
                tokio::time::sleep(every).await;
            }
        });
    }
    if let Some(host) = args.imap_host.clone() {
        let poller = Poller { store: store.clone(), args: args.clone(), host, bounces: false };
        let every = Duration::from_secs(args.imap_poll_secs.max(1));
        tokio::spawn(async move {
            loop {
                if let Err(e) = poller.poll().await {
                    tracing::warn!(error = %format!("{e:#}"), "IMAP poller");
                }
                tokio::time::sleep(every).await;
            }
        });
    }
    Ok(())
}

/// This process's name on its leases.
fn owner() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "rapport".into());
    format!("{host}:{}:{}", std::process::id(), rapport_store::crypto::hex(&rand::random::<[u8; 4]>()))
}

const BATCH: i64 = 20;
/// Marketing mails claimed at once, and members written to the queue per step.
const MARKETING_BATCH: i64 = 100;
const EXPAND_BATCH: i64 = 500;

struct Sender {
    store: Store,
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    owner: String,
    lease: i64,
    /// The bounce address VERP return paths are made from.
    bounce: String,
    limits: MarketingLimits,
    log_days: i64,
}

impl Sender {
    /// Recovers expired leases, then sends one batch of due mail; how many were claimed.
    async fn pass(&self) -> anyhow::Result<usize> {
        let (requeued, unconfirmed) = self.store.recover_mail().await?;
        if requeued + unconfirmed > 0 {
            tracing::warn!(requeued, unconfirmed, "mail leases expired: unsent claims queued again, interrupted sends marked unconfirmed");
        }
        // Campaign sendings: the next members' mails into the queue, then old ones out of the log.
        let expanded = self.store.expand_campaign_sends(EXPAND_BATCH).await?;
        if rand::random::<u16>() < 64 {
            self.store.purge_marketing_log(self.log_days).await?;
        }
        let mut batch = self.store.claim_mail(&self.owner, self.lease, BATCH).await?;
        let transactional = batch.len();
        batch.extend(self.store.claim_marketing_mail(&self.owner, self.lease, MARKETING_BATCH, &self.limits).await?);
        let busy = transactional >= BATCH as usize || batch.len() - transactional >= MARKETING_BATCH as usize || expanded > 0;
        for m in &batch {
            let message = match build(m, &self.from, &self.bounce) {
                Ok(message) => message,
                Err(e) => {
                    self.store.mail_attempt_failed(m, &self.owner, &format!("cannot build the message: {e}"), true).await?;
                    continue;
                }
            };
            // Committed before the SMTP transaction starts: from here a crash leaves the mail
            // `unconfirmed`, never resent on its own.
            if !self.store.mail_sending(m.id, &self.owner, self.lease).await? {
                continue;
            }
            match self.transport.send(message).await {
                Ok(_) => self.store.mail_sent(m.id, &self.owner).await?,
                Err(e) => {
                    // A 5xx answer is final; a 4xx, a refused connection or a timeout is retried.
                    let state = self.store.mail_attempt_failed(m, &self.owner, &e.to_string(), e.is_permanent()).await?;
                    tracing::warn!(id = m.id, error = %e, state = state.as_str(), "mail not sent");
                }
            }
        }
        Ok(if busy { BATCH as usize } else { batch.len().min(BATCH as usize - 1) })
    }
}

/// The message of a queued mail: its Message-ID, threading or unsubscribe headers, its text
/// (and HTML as the alternative), and for marketing mail a VERP return path naming its token.
fn build(m: &QueuedMail, from: &Mailbox, bounce: &str) -> anyhow::Result<Message> {
    let to = Mailbox::new(m.to_name.clone(), m.to_addr.parse()?);
    let mut b =
        Message::builder().from(from.clone()).to(to).subject(m.subject.clone()).message_id(Some(format!("<{}>", m.message_id))).date_now();
    for (name, value) in &m.headers {
        let Some(value) = value.as_str() else { continue };
        b = match name.as_str() {
            "In-Reply-To" => b.in_reply_to(value.to_string()),
            "References" => b.references(value.to_string()),
            other => b.raw_header(HeaderValue::new(HeaderName::new_from_ascii(other.to_string())?, value.to_string())),
        };
    }
    if let Some(token) = &m.track_token
        && let Some(path) = rapport_domain::marketing::email::verp(bounce, token)
    {
        let to = m.to_addr.parse()?;
        b = b.envelope(Envelope::new(Some(path.parse()?), vec![to])?);
    }
    Ok(match &m.html_body {
        Some(html) => b.multipart(MultiPart::alternative_plain_html(m.text_body.clone(), html.clone()))?,
        None => b.header(ContentType::TEXT_PLAIN).body(m.text_body.clone())?,
    })
}

struct Poller {
    store: Store,
    args: MailArgs,
    host: String,
    /// The bounce mailbox: messages are bounce reports for marketing mail, not tickets.
    bounces: bool,
}

impl Poller {
    /// Imports every message after the last UID taken (all of them after a UIDVALIDITY
    /// change, which renumbers the mailbox; Message-IDs keep that from importing twice).
    async fn poll(&self) -> anyhow::Result<()> {
        let a = &self.args;
        let tcp = tokio::net::TcpStream::connect((self.host.as_str(), a.imap_port))
            .await
            .with_context(|| format!("cannot reach IMAP at {}:{}", self.host, a.imap_port))?;
        let mut client = async_imap::Client::new(tcp);
        client.read_response().await?.ok_or_else(|| anyhow!("the IMAP server sent no greeting"))?;
        let mut session = client.login(&a.imap_user, &a.imap_password).await.map_err(|(e, _)| anyhow!("IMAP login: {e}"))?;
        let mailbox = session.select(&a.imap_folder).await.with_context(|| format!("IMAP folder {}", a.imap_folder))?;
        let uidvalidity = i64::from(mailbox.uid_validity.unwrap_or(0));
        let key = format!("{}@{}:{}/{}", a.imap_user, self.host, a.imap_port, a.imap_folder);
        let start = match self.store.imap_position(&key).await? {
            Some((v, last)) if v == uidvalidity => last + 1,
            _ => 1,
        };
        // `n:*` always matches the highest UID, even below n: keep only the new ones.
        let mut uids: Vec<u32> =
            session.uid_search(format!("UID {start}:*")).await?.into_iter().filter(|u| i64::from(*u) >= start).collect();
        uids.sort_unstable();
        for uid in uids {
            let raw = {
                let mut fetches = session.uid_fetch(uid.to_string(), "BODY.PEEK[]").await?;
                let mut raw = None;
                while let Some(f) = fetches.next().await {
                    if let Some(body) = f?.body() {
                        raw = Some(body.to_vec());
                    }
                }
                raw
            };
            let cursor = ImapCursor { mailbox: key.clone(), uidvalidity, uid: i64::from(uid) };
            if self.bounces {
                match raw.as_deref() {
                    Some(raw) => {
                        let out = self.store.receive_bounce_mail(raw, Some(&cursor)).await?;
                        tracing::info!(uid, outcome = ?out, "bounce mailbox message taken");
                    }
                    None => self.store.set_imap_position(&cursor).await?,
                }
                continue;
            }
            match raw.as_deref().map(InboundMail::parse) {
                Some(Ok(mail)) => {
                    let r = self.store.receive_email(&mail, None, None, Some(&cursor)).await?;
                    tracing::info!(uid, ticket = r.ticket_id, outcome = r.outcome, "IMAP message taken");
                }
                Some(Err(e)) => {
                    tracing::warn!(uid, error = %e, "IMAP message skipped: not usable mail");
                    self.store.set_imap_position(&cursor).await?;
                }
                None => self.store.set_imap_position(&cursor).await?,
            }
        }
        session.logout().await?;
        Ok(())
    }
}
