//! A small HTTP/1.1 JSON client over hyper: one connection per request (plain or TLS), the
//! bearer token on every call, a bound on how long a call may take.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use serde_json::Value;

/// How long one call may take, connection included.
const TIMEOUT: Duration = Duration::from_secs(60);

/// A Rapport server and the token to call it with.
#[derive(Clone, Debug)]
pub struct Client {
    base: url::Url,
    token: String,
}

/// An answer: the status and the JSON body (`Null` when the body is empty or not JSON).
#[derive(Clone, Debug)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// The body as JSON.
    pub body: Value,
}

impl Client {
    /// A client of the server at `url` (`http://host:port`, or `https://…`) using the API token
    /// or session token `token`.
    pub fn new(url: &str, token: &str) -> anyhow::Result<Client> {
        let base = url::Url::parse(url).with_context(|| format!("{url} is not a URL"))?;
        if !matches!(base.scheme(), "http" | "https") || base.host_str().is_none() {
            bail!("{url}: give the server as http://host:port or https://host");
        }
        Ok(Client { base, token: token.to_string() })
    }

    /// `GET path` (path and query, e.g. `/api/v1/customers?limit=5`).
    pub async fn get(&self, path: &str) -> anyhow::Result<Answer> {
        self.call("GET", path, None).await
    }

    /// One call with an optional JSON body.
    pub async fn call(&self, method: &str, path: &str, body: Option<&Value>) -> anyhow::Result<Answer> {
        tokio::time::timeout(TIMEOUT, self.send(method, path, body))
            .await
            .map_err(|_| anyhow!("{method} {path}: no answer within {} s", TIMEOUT.as_secs()))?
    }

    async fn send(&self, method: &str, path: &str, body: Option<&Value>) -> anyhow::Result<Answer> {
        let host = self.base.host_str().unwrap_or_default().to_string();
        let port = self.base.port_or_known_default().unwrap_or(80);
        let prefix = self.base.path().trim_end_matches('/');
        let authority = match self.base.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.clone(),
        };
        let payload = body.map(|b| b.to_string()).unwrap_or_default();
        let mut req = hyper::Request::builder()
            .method(method)
            .uri(format!("{prefix}{path}"))
            .header(hyper::header::HOST, authority)
            .header(hyper::header::AUTHORIZATION, format!("Bearer {}", self.token))
            .header(hyper::header::ACCEPT, "application/json");
        if body.is_some() {
            req = req.header(hyper::header::CONTENT_TYPE, "application/json");
        }
        let req = req.body(Full::new(Bytes::from(payload)))?;
        let tcp = tokio::net::TcpStream::connect((host.trim_start_matches('[').trim_end_matches(']'), port))
            .await
            .with_context(|| format!("cannot connect to {host}:{port}"))?;
        let (status, bytes) = if self.base.scheme() == "https" {
            let name = rustls::pki_types::ServerName::try_from(host.clone()).map_err(|e| anyhow!("bad TLS name {host}: {e}"))?;
            let tls =
                tokio_rustls::TlsConnector::from(tls_config()).connect(name, tcp).await.with_context(|| format!("TLS with {host}"))?;
            exchange(TokioIo::new(tls), req).await?
        } else {
            exchange(TokioIo::new(tcp), req).await?
        };
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok(Answer { status, body })
    }
}

async fn exchange<IO>(io: IO, req: hyper::Request<Full<Bytes>>) -> anyhow::Result<(u16, Bytes)>
where
    IO: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await.context("HTTP handshake")?;
    let driver = tokio::spawn(conn);
    let res = sender.send_request(req).await.context("HTTP request");
    let out = match res {
        Ok(res) => {
            let status = res.status().as_u16();
            let bytes = res.into_body().collect().await.context("HTTP body")?.to_bytes();
            Ok((status, bytes))
        }
        Err(e) => Err(e),
    };
    driver.abort();
    out
}

fn tls_config() -> Arc<rustls::ClientConfig> {
    static CONFIG: std::sync::OnceLock<Arc<rustls::ClientConfig>> = std::sync::OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .expect("ring supports the default TLS versions")
                .with_root_certificates(roots)
                .with_no_client_auth();
            Arc::new(config)
        })
        .clone()
}
