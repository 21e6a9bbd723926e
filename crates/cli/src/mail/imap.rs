//! The connection to an IMAP mailbox: plain, upgraded with STARTTLS, or TLS from the first byte
//! (imaps), with rustls (ring; the webpki roots, plus the certificates of a custom CA for a
//! server with a self-signed certificate or a private CA). The ticket poller and the marketing
//! bounce poller both connect through here.

use std::fmt::Debug;
use std::sync::Arc;

use anyhow::{Context, anyhow, bail};
use rapport_domain::service::mail_settings::TlsMode;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// The byte stream under a session, whichever way it is secured.
pub trait Stream: AsyncRead + AsyncWrite + Unpin + Debug + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Debug + Send> Stream for T {}

/// A logged-in IMAP session.
pub type Session = async_imap::Session<Box<dyn Stream>>;

/// Where a mailbox is and how to reach it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mailbox {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    pub user: String,
    pub password: String,
    pub folder: String,
    /// PEM certificates trusted besides the public roots.
    pub ca_pem: Option<String>,
}

impl Mailbox {
    /// Its key in the poller's positions: user, host, port and folder, not the TLS mode (a
    /// mailbox read again under another key is deduplicated by Message-ID).
    pub fn key(&self) -> String {
        format!("{}@{}:{}/{}", self.user, self.host, self.port, self.folder)
    }
}

/// The client TLS settings: the webpki roots and the certificates of `ca_pem`.
pub fn tls_config(ca_pem: Option<&str>) -> anyhow::Result<Arc<rustls::ClientConfig>> {
    let mut roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    if let Some(pem) = ca_pem {
        let mut added = 0;
        for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
            roots.add(cert.context("the custom CA certificates are not valid PEM")?).context("a custom CA certificate")?;
            added += 1;
        }
        if added == 0 {
            bail!("the custom CA holds no PEM certificate");
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS versions")?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

async fn wrap(tcp: TcpStream, m: &Mailbox) -> anyhow::Result<Box<dyn Stream>> {
    let name = ServerName::try_from(m.host.clone()).map_err(|e| anyhow!("bad TLS name {}: {e}", m.host))?;
    let tls = tokio_rustls::TlsConnector::from(tls_config(m.ca_pem.as_deref())?)
        .connect(name, tcp)
        .await
        .with_context(|| format!("TLS with IMAP at {}:{}", m.host, m.port))?;
    Ok(Box::new(tls))
}

async fn greeted(mut client: async_imap::Client<Box<dyn Stream>>) -> anyhow::Result<async_imap::Client<Box<dyn Stream>>> {
    client.read_response().await?.ok_or_else(|| anyhow!("the IMAP server sent no greeting"))?;
    Ok(client)
}

/// Connects, secures the connection as the mailbox says, and logs in.
pub async fn login(m: &Mailbox) -> anyhow::Result<Session> {
    let tcp = TcpStream::connect((m.host.as_str(), m.port)).await.with_context(|| format!("cannot reach IMAP at {}:{}", m.host, m.port))?;
    let client = match m.tls {
        TlsMode::None => greeted(async_imap::Client::new(Box::new(tcp) as Box<dyn Stream>)).await?,
        TlsMode::Tls => greeted(async_imap::Client::new(wrap(tcp, m).await?)).await?,
        TlsMode::Starttls => {
            let mut plain = async_imap::Client::new(tcp);
            plain.read_response().await?.ok_or_else(|| anyhow!("the IMAP server sent no greeting"))?;
            plain.run_command_and_check_ok("STARTTLS", None).await.context("the IMAP server refused STARTTLS")?;
            // No greeting follows STARTTLS: the session goes on inside TLS.
            async_imap::Client::new(wrap(plain.into_inner(), m).await?)
        }
    };
    client.login(&m.user, &m.password).await.map_err(|(e, _)| anyhow!("IMAP login: {e}"))
}
