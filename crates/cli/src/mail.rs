//! The mail jobs `rapport serve` runs in the background: the sender, which delivers the
//! database's mail queue over SMTP (lettre), and the IMAP poller, which takes new messages from
//! a mailbox (async-imap) into tickets. Both keep their state in the database, so several
//! processes on one PostgreSQL can run them and a restart resumes where the last one stopped:
//! the sender leases rows (see `rapport_store`'s mail module for why a killed sender never
//! sends a mail twice), the poller stores UIDVALIDITY and the last UID it imported in the
//! transaction that imports the message, and Message-IDs are deduplicated besides.
//!
//! Where the servers are comes from the mail settings admins save (`/admin/mail/settings`,
//! `/api/v1/mail/settings`), read before every pass so a change applies without a restart; a
//! field they leave unset falls back to the flag (or environment variable) below, then to its
//! default. The SMTP relay is taken as a whole: the saved one when it names a host, else
//! `--smtp-url`.

mod imap;

use std::collections::HashSet;
use std::time::Duration;

use anyhow::{Context, anyhow};
use clap::Args;
use futures_util::StreamExt;
use lettre::address::Envelope;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, Message, MultiPart};
use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use rapport_domain::marketing::email::MarketingLimits;
use rapport_domain::service::mail::InboundMail;
use rapport_domain::service::mail_settings::{MailSettingsData, TlsMode};
use rapport_store::{ImapCursor, QueuedMail, Store};
use tokio::sync::{mpsc, oneshot};

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
    /// SMTP transactions in flight at once, each on its own connection to the relay (providers
    /// cap connections: raise it to what yours allows for faster campaigns). A kill leaves at
    /// most this many mails unconfirmed.
    #[arg(long, env = "RAPPORT_SMTP_CONNECTIONS", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=200))]
    pub smtp_connections: u32,
    /// Seconds a sender holds the mails it claimed; another process takes them over after.
    #[arg(long, env = "RAPPORT_MAIL_LEASE_SECS", default_value_t = 120)]
    pub mail_lease_secs: i64,
    /// IMAP server to poll for inbound mail. Unset: no polling (the inbound endpoint still
    /// works), unless the saved mail settings name one.
    #[arg(long, env = "RAPPORT_IMAP_HOST")]
    pub imap_host: Option<String>,
    /// How the IMAP connection is secured: `tls` (imaps, from the first byte), `starttls`, or
    /// `none` (plain: a server on this machine or behind a tunnel).
    #[arg(long, env = "RAPPORT_IMAP_TLS", default_value = "none", value_parser = tls_mode)]
    pub imap_tls: TlsMode,
    /// IMAP port; unset: 993 with `--imap-tls tls`, else 143.
    #[arg(long, env = "RAPPORT_IMAP_PORT")]
    pub imap_port: Option<u16>,
    /// A PEM file of CA certificates trusted for the IMAP server besides the public roots (a
    /// self-signed server certificate, or a private CA).
    #[arg(long, env = "RAPPORT_IMAP_CA_FILE")]
    pub imap_ca_file: Option<std::path::PathBuf>,
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

/// A `--imap-tls` value.
fn tls_mode(s: &str) -> Result<TlsMode, String> {
    TlsMode::parse(s).ok_or_else(|| format!("'{s}' is not one of {}", TlsMode::NAMES.join(", ")))
}

/// The SMTP relay of a pass: the saved one when it names a host, else the flag's URL.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Relay {
    Url(String),
    Saved { host: String, port: u16, tls: TlsMode, user: Option<String>, password: Option<String> },
}

impl Relay {
    fn of(args: &MailArgs, s: &MailSettingsData) -> Option<Relay> {
        match &s.smtp_host {
            Some(host) => {
                let tls = s.smtp_tls.unwrap_or_default();
                let port = s.smtp_port.and_then(|p| u16::try_from(p).ok()).unwrap_or(tls.smtp_port());
                Some(Relay::Saved { host: host.clone(), port, tls, user: s.smtp_user.clone(), password: s.smtp_password.clone() })
            }
            None => args.smtp_url.clone().map(Relay::Url),
        }
    }

    fn transport(&self, connections: u32) -> anyhow::Result<AsyncSmtpTransport<Tokio1Executor>> {
        let b = match self {
            Relay::Url(url) => AsyncSmtpTransport::<Tokio1Executor>::from_url(url).context("RAPPORT_SMTP_URL (--smtp-url)")?,
            Relay::Saved { host, port, tls, user, password } => {
                let b = match tls {
                    TlsMode::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host)?,
                    TlsMode::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)?,
                    TlsMode::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
                };
                let b = b.port(*port);
                match user {
                    Some(u) => b.credentials(Credentials::new(u.clone(), password.clone().unwrap_or_default())),
                    None => b,
                }
            }
        };
        Ok(b.timeout(Some(Duration::from_secs(60))).pool_config(PoolConfig::new().max_size(connections)).build())
    }
}

/// The mailbox of a pass, field by field from the saved settings, else the flags (`user` and
/// `password` given: the bounce mailbox's, on the same server).
fn mailbox_of(args: &MailArgs, flag_ca: &Option<String>, s: &MailSettingsData, login: Option<(&str, &str)>) -> Option<imap::Mailbox> {
    let host = s.imap_host.clone().or_else(|| args.imap_host.clone())?;
    let tls = s.imap_tls.unwrap_or(args.imap_tls);
    let port = s.imap_port.and_then(|p| u16::try_from(p).ok()).or(args.imap_port).unwrap_or(tls.imap_port());
    let (user, password) = match login {
        Some((u, p)) => (u.to_string(), p.to_string()),
        None => (
            s.imap_user.clone().unwrap_or_else(|| args.imap_user.clone()),
            s.imap_password.clone().unwrap_or_else(|| args.imap_password.clone()),
        ),
    };
    let folder = s.imap_folder.clone().unwrap_or_else(|| args.imap_folder.clone());
    let ca_pem = s.imap_ca_pem.clone().or_else(|| flag_ca.clone());
    Some(imap::Mailbox { host, port, tls, user, password, folder, ca_pem })
}

/// Seconds between reads of the mailbox.
fn poll_secs(args: &MailArgs, s: &MailSettingsData) -> u64 {
    s.imap_poll_secs.and_then(|n| u64::try_from(n).ok()).unwrap_or(args.imap_poll_secs).max(1)
}

/// Starts the mail jobs. Flags are checked here (a bad one stops the start); saved settings
/// at each pass (a bad one is logged, and the pass waits for a fix).
pub fn spawn(store: &Store, args: &MailArgs) -> anyhow::Result<()> {
    store.set_mail_retry_secs(args.mail_retry_secs);
    store.set_soft_bounce_limit(args.soft_bounce_limit);
    if let Some(url) = &args.smtp_url {
        Relay::Url(url.clone()).transport(args.smtp_connections)?;
    }
    let _: Mailbox = args.mail_from.parse().map_err(|e| anyhow!("RAPPORT_MAIL_FROM (--mail-from): {e}"))?;
    let flag_ca = match &args.imap_ca_file {
        Some(path) => {
            let pem = std::fs::read_to_string(path).with_context(|| format!("RAPPORT_IMAP_CA_FILE (--imap-ca-file) {}", path.display()))?;
            imap::tls_config(Some(&pem)).with_context(|| format!("RAPPORT_IMAP_CA_FILE (--imap-ca-file) {}", path.display()))?;
            Some(pem)
        }
        None => None,
    };
    let limits = MarketingLimits {
        per_minute: args.marketing_per_minute,
        per_hour: args.marketing_per_hour,
        per_day: args.marketing_per_day,
        frequency_max: args.frequency_max,
        frequency_days: args.frequency_days,
    };
    let mut sender = Sender {
        store: store.clone(),
        args: args.clone(),
        relay: None,
        owner: owner(),
        lease: args.mail_lease_secs.max(5),
        limits,
        log_days: args.send_log_days.max(1),
    };
    let every = Duration::from_secs(args.mail_poll_secs.max(1));
    tokio::spawn(async move {
        let mut started = false;
        loop {
            match sender.pass().await {
                // A full batch (or a sending being written out): more may be due at once.
                Ok(Some(n)) if n >= BATCH as usize => continue,
                Ok(Some(_)) if !started => {
                    started = true;
                    tracing::info!(owner = %sender.owner, "mail sender started");
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %format!("{e:#}"), "mail sender"),
            }
            tokio::time::sleep(every).await;
        }
    });
    let bounce_login = args.bounce_imap_user.clone().map(|u| (u, args.bounce_imap_password.clone()));
    for bounces in [false, true] {
        if bounces && bounce_login.is_none() {
            continue;
        }
        let poller = Poller { store: store.clone(), bounces };
        let (args, flag_ca, login) = (args.clone(), flag_ca.clone(), bounce_login.clone());
        tokio::spawn(async move {
            loop {
                let settings = match poller.store.mail_settings_data().await {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::warn!(error = %format!("{e:#}"), "mail settings unreadable");
                        MailSettingsData::default()
                    }
                };
                let login = if bounces { login.as_ref().map(|(u, p)| (u.as_str(), p.as_str())) } else { None };
                if let Some(m) = mailbox_of(&args, &flag_ca, &settings, login)
                    && let Err(e) = poller.poll(&m).await
                {
                    let what = if bounces { "bounce mailbox poller" } else { "IMAP poller" };
                    tracing::warn!(error = %format!("{e:#}"), mailbox = %m.key(), tls = m.tls.as_str(), "{what}");
                }
                tokio::time::sleep(Duration::from_secs(poll_secs(&args, &settings))).await;
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
/// Marketing mails claimed at once (at least; see [`Sender::pass`]), and members written to the
/// queue per step.
const MARKETING_BATCH: i64 = 100;
const EXPAND_BATCH: i64 = 500;

/// The relay a sender built its transport for, with the From and bounce addresses.
struct Connected {
    relay: Relay,
    from_text: String,
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// The bounce address VERP return paths are made from.
    bounce: String,
}

struct Sender {
    store: Store,
    args: MailArgs,
    /// Rebuilt when the settings name another relay or From address.
    relay: Option<Connected>,
    owner: String,
    lease: i64,
    limits: MarketingLimits,
    log_days: i64,
}

impl Sender {
    /// The transport of the relay the settings name now (none: mail waits in the queue).
    async fn connected(&mut self) -> anyhow::Result<Option<&Connected>> {
        let s = self.store.mail_settings_data().await?;
        let Some(relay) = Relay::of(&self.args, &s) else {
            self.relay = None;
            return Ok(None);
        };
        let from_text = s.mail_from.clone().unwrap_or_else(|| self.args.mail_from.clone());
        if self.relay.as_ref().is_none_or(|c| c.relay != relay || c.from_text != from_text) {
            let from: Mailbox = from_text.parse().map_err(|e| anyhow!("the From address {from_text}: {e}"))?;
            let bounce = match &self.args.bounce_address {
                Some(b) => b.clone(),
                None => from.email.to_string(),
            };
            let transport = relay.transport(self.args.smtp_connections)?;
            self.relay = Some(Connected { relay, from_text, transport, from, bounce });
        }
        Ok(self.relay.as_ref())
    }

    /// Recovers expired leases, then sends one batch of due mail; how many were claimed (none:
    /// no relay is set).
    async fn pass(&mut self) -> anyhow::Result<Option<usize>> {
        let (store, owner, lease, limits, log_days) = (self.store.clone(), self.owner.clone(), self.lease, self.limits, self.log_days);
        let in_flight = self.args.smtp_connections as usize;
        let Some(c) = self.connected().await? else { return Ok(None) };
        let (requeued, unconfirmed) = store.recover_mail().await?;
        if requeued + unconfirmed > 0 {
            tracing::warn!(requeued, unconfirmed, "mail leases expired: unsent claims queued again, interrupted sends marked unconfirmed");
        }
        // A pass ends when its slowest mail is done, so each pass claims several mails per
        // connection: with a claim no larger than the connections, every pass drained the pool.
        let marketing_batch = MARKETING_BATCH.max(4 * in_flight as i64);
        // Campaign sendings: the next members' mails into the queue, then old ones out of the log.
        let expanded = store.expand_campaign_sends(EXPAND_BATCH.max(marketing_batch)).await?;
        if rand::random::<u16>() < 64 {
            store.purge_marketing_log(log_days).await?;
        }
        let mut batch = store.claim_mail(&owner, lease, BATCH).await?;
        let transactional = batch.len();
        batch.extend(store.claim_marketing_mail(&owner, lease, marketing_batch, &limits).await?);
        let busy = transactional >= BATCH as usize || batch.len() - transactional >= marketing_batch as usize || expanded > 0;
        // Each mail: `sending` committed just before its SMTP transaction (from there a crash
        // leaves it `unconfirmed`, never resent on its own), then `sent` or the failure, with
        // `--smtp-connections` mails in flight over pooled connections. The mails that start
        // while one `sending` write commits are marked together by the next, and those the relay
        // accepted while one `sent` write commits are confirmed together by the next, instead
        // of two transactions per mail. A mail holds its place in flight until its `sent` is committed, so a kill leaves at most the mails in
        // flight unconfirmed. (One mail after another waited for two commits and one SMTP round
        // trip each, about 18 mails a second on a loaded machine; marking a whole batch
        // `sending` first left the whole batch unconfirmed after a kill.)
        let (store, owner) = (&store, owner.as_str());
        let mut ready = Vec::with_capacity(batch.len());
        for m in &batch {
            match build(m, &c.from, &c.bounce) {
                Ok(message) => ready.push((m, message)),
                Err(e) => {
                    store.mail_attempt_failed(m, owner, &format!("cannot build the message: {e}"), true).await?;
                }
            }
        }
        let transport = &c.transport;
        let (mark, marking) = mpsc::unbounded_channel();
        let (confirm, confirming) = mpsc::unbounded_channel();
        // Each delivery holds a sender of both channels: the two writing loops end when the
        // last delivery is done.
        let deliveries: Vec<_> =
            ready.into_iter().map(|(m, message)| deliver(store, owner, transport, mark.clone(), confirm.clone(), m, message)).collect();
        drop((mark, confirm));
        let mut deliveries = futures_util::stream::iter(deliveries).buffer_unordered(in_flight);
        let sends = async move {
            while let Some(done) = deliveries.next().await {
                done?;
            }
            anyhow::Ok(())
        };
        tokio::try_join!(
            sends,
            write_states(store, owner, lease, StateWrite::Sending, marking),
            write_states(store, owner, lease, StateWrite::Sent, confirming)
        )?;
        Ok(Some(if busy { BATCH as usize } else { batch.len().min(BATCH as usize - 1) }))
    }
}

/// A mail's state write asked for, and where to answer whether it was written.
type Asked = (i64, oneshot::Sender<bool>);

/// The two state writes of a delivery (see [`Sender::pass`]).
#[derive(Clone, Copy)]
enum StateWrite {
    Sending,
    Sent,
}

/// Most mails one state write takes.
const STATE_WRITE: usize = 500;

/// Writes the state asked for, of the mails asked while the previous write committed together,
/// and answers whether each was written (`Sending` only for mails still leased to `owner`).
async fn write_states(
    store: &Store,
    owner: &str,
    lease: i64,
    state: StateWrite,
    mut asked: mpsc::UnboundedReceiver<Asked>,
) -> anyhow::Result<()> {
    let mut waiting = Vec::new();
    while asked.recv_many(&mut waiting, STATE_WRITE).await > 0 {
        let ids: Vec<i64> = waiting.iter().map(|(id, _)| *id).collect();
        let written: HashSet<i64> = match state {
            StateWrite::Sending => store.mails_sending(&ids, owner, lease).await?,
            StateWrite::Sent => store.mails_sent(&ids, owner).await?,
        }
        .into_iter()
        .collect();
        for (id, reply) in waiting.drain(..) {
            let _ = reply.send(written.contains(&id));
        }
    }
    Ok(())
}

/// Asks a state write for mail `id` and waits for it: whether it was written (`false` also when
/// the writing loop stopped, whose error ends the pass).
async fn ask(writer: &mpsc::UnboundedSender<Asked>, id: i64) -> bool {
    let (reply, answer) = oneshot::channel();
    writer.send((id, reply)).is_ok() && answer.await.unwrap_or(false)
}

/// One mail's delivery (see [`Sender::pass`]): `sending`, the SMTP transaction, then `sent` or
/// the failure recorded.
async fn deliver(
    store: &Store,
    owner: &str,
    transport: &AsyncSmtpTransport<Tokio1Executor>,
    mark: mpsc::UnboundedSender<Asked>,
    confirm: mpsc::UnboundedSender<Asked>,
    m: &QueuedMail,
    message: Message,
) -> anyhow::Result<()> {
    if !ask(&mark, m.id).await {
        return Ok(()); // the lease was lost: another sender has the mail
    }
    match transport.send(message).await {
        Ok(_) => {
            ask(&confirm, m.id).await;
        }
        Err(e) => {
            // A 5xx answer is final; a 4xx, a refused connection or a timeout is retried.
            let state = store.mail_attempt_failed(m, owner, &e.to_string(), e.is_permanent()).await?;
            tracing::warn!(id = m.id, error = %e, state = state.as_str(), "mail not sent");
        }
    }
    Ok(())
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
    /// The bounce mailbox: messages are bounce reports for marketing mail, not tickets.
    bounces: bool,
}

impl Poller {
    /// Imports every message after the last UID taken (all of them after a UIDVALIDITY
    /// change, which renumbers the mailbox; Message-IDs keep that from importing twice).
    async fn poll(&self, m: &imap::Mailbox) -> anyhow::Result<()> {
        let mut session = imap::login(m).await?;
        let mailbox = session.select(&m.folder).await.with_context(|| format!("IMAP folder {}", m.folder))?;
        let uidvalidity = i64::from(mailbox.uid_validity.unwrap_or(0));
        let key = m.key();
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
