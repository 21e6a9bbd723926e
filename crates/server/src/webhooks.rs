//! The webhook sender: leases due deliveries from the outbox, posts each one signed, and
//! records how it went. Targets are resolved here and the connection goes to the address that
//! was checked (pinned), so a DNS answer that changes between the check and the connection
//! cannot point a delivery into the server's own network. Redirects are not followed, for the
//! same reason: a 3xx is a failed attempt.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hmac::{KeyInit, Mac};
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use rapport_domain::webhooks::{parse_target, refused_address, retry_delay};
use rapport_store::{AttemptOutcome, DueDelivery, Store};

/// How long one attempt may take, connection included.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a sender holds a delivery it leased by default: well over one attempt. A delivery
/// whose sender died is retried by another (or the restarted one) after this.
pub const DEFAULT_LEASE_SECS: i64 = 30;

/// Deliveries leased per pass (posted concurrently).
const BATCH: i64 = 32;

/// `Rapport-Signature` for `body` sent at unix time `t`: `t=<t>,v1=<hex HMAC-SHA256 of
/// "<t>.<body>" under the secret>`. Receivers recompute it and refuse old timestamps, so a
/// captured delivery cannot be replayed later.
pub fn signature(secret: &str, t: i64, body: &str) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(format!("{t}.{body}").as_bytes());
    let digest = mac.finalize().into_bytes();
    format!("t={t},v1={}", digest.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

/// Where a delivery may connect: the target's addresses, the refused ones left out unless
/// `allow_private`; an error naming the address and why when none is left.
async fn pinned_address(host: &str, port: u16, allow_private: bool) -> Result<SocketAddr, String> {
    let addrs: Vec<SocketAddr> = match host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => tokio::net::lookup_host((host, port)).await.map_err(|e| format!("cannot resolve {host}: {e}"))?.collect(),
    };
    if allow_private {
        return addrs.first().copied().ok_or_else(|| format!("{host} has no address"));
    }
    match addrs.iter().find(|a| refused_address(a.ip()).is_none()) {
        Some(a) => Ok(*a),
        None => {
            let first = addrs.first().ok_or_else(|| format!("{host} has no address"))?;
            let why = refused_address(first.ip()).unwrap_or("not allowed");
            Err(format!("refused: {host} resolves to {}, {why}; an admin may allow private targets in the webhook settings", first.ip()))
        }
    }
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

/// Sends one POST of `body` to `url`, connected to the pinned address; the HTTP status.
async fn post(url: &str, headers: &[(&str, String)], body: String, allow_private: bool) -> Result<u16, String> {
    let target = parse_target(url)?;
    let host = target.host_str().ok_or("the URL has no host")?.to_string();
    let port = target.port_or_known_default().ok_or("the URL has no port")?;
    let addr = pinned_address(&host, port, allow_private).await?;
    let tcp = tokio::net::TcpStream::connect(addr).await.map_err(|e| format!("cannot connect to {addr}: {e}"))?;
    let mut path = target.path().to_string();
    if let Some(q) = target.query() {
        path = format!("{path}?{q}");
    }
    let authority = match target.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.clone(),
    };
    let mut req = hyper::Request::post(path).header(hyper::header::HOST, authority);
    for (name, value) in headers {
        req = req.header(*name, value);
    }
    let req = req.body(Full::new(Bytes::from(body))).map_err(|e| e.to_string())?;
    let status = if target.scheme() == "https" {
        let name = rustls::pki_types::ServerName::try_from(host.clone()).map_err(|e| format!("bad TLS name {host}: {e}"))?;
        let tls = tokio_rustls::TlsConnector::from(tls_config()).connect(name, tcp).await.map_err(|e| format!("TLS with {host}: {e}"))?;
        send(TokioIo::new(tls), req).await?
    } else {
        send(TokioIo::new(tcp), req).await?
    };
    Ok(status)
}

async fn send<IO>(io: IO, req: hyper::Request<Full<Bytes>>) -> Result<u16, String>
where
    IO: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await.map_err(|e| format!("HTTP handshake: {e}"))?;
    let driver = tokio::spawn(conn);
    let res = sender.send_request(req).await.map_err(|e| format!("HTTP: {e}"));
    driver.abort();
    Ok(res?.status().as_u16())
}

/// One attempt of a leased delivery, timed, as the outbox records it.
async fn attempt(d: &DueDelivery, allow_private: bool) -> AttemptOutcome {
    let started = Instant::now();
    let t = chrono::Utc::now().timestamp();
    let headers = [
        ("content-type", "application/json".to_string()),
        ("user-agent", format!("Rapport-Webhooks/{}", env!("CARGO_PKG_VERSION"))),
        ("rapport-event-id", d.event_id.to_string()),
        ("rapport-event-type", d.event_type.clone()),
        ("rapport-delivery-attempt", d.attempts.to_string()),
        ("rapport-signature", signature(&d.secret, t, &d.body)),
    ];
    let result = match tokio::time::timeout(ATTEMPT_TIMEOUT, post(&d.url, &headers, d.body.clone(), allow_private)).await {
        Ok(r) => r,
        Err(_) => Err(format!("no answer within {} s", ATTEMPT_TIMEOUT.as_secs())),
    };
    let duration_ms = started.elapsed().as_millis() as i64;
    match result {
        Ok(status) if (200..300).contains(&status) => AttemptOutcome { status: Some(i64::from(status)), error: None, duration_ms },
        Ok(status) => {
            AttemptOutcome { status: Some(i64::from(status)), error: Some(format!("the receiver answered HTTP {status}")), duration_ms }
        }
        Err(e) => AttemptOutcome { status: None, error: Some(e), duration_ms },
    }
}

/// One pass of the sender as `holder`: leases due deliveries for `lease_secs` (more than
/// [`ATTEMPT_TIMEOUT`]), posts them concurrently and records each attempt. How many were
/// attempted.
pub async fn deliver_due(store: &Store, holder: &str, lease_secs: i64) -> rapport_store::Result<usize> {
    let lease_secs = lease_secs.max(ATTEMPT_TIMEOUT.as_secs() as i64 + 1);
    let due = store.claim_webhook_deliveries(holder, lease_secs, BATCH).await?;
    if due.is_empty() {
        return Ok(0);
    }
    let allow_private = store.webhook_sender_settings().await?.allow_private_targets;
    let mut set = tokio::task::JoinSet::new();
    for d in due {
        set.spawn(async move {
            let outcome = attempt(&d, allow_private).await;
            (d, outcome)
        });
    }
    let mut n = 0;
    while let Some(joined) = set.join_next().await {
        let Ok((d, outcome)) = joined else { continue };
        let retry = outcome.error.as_ref().and_then(|_| retry_delay(d.attempts, 0.8 + 0.4 * rand::random::<f64>()));
        store.record_webhook_attempt(&d, holder, &outcome, retry).await?;
        n += 1;
    }
    Ok(n)
}

/// Runs the sender every `period` (at once again after a full batch). Several servers may run
/// it on one database: each delivery is leased to one of them at a time.
pub fn spawn_sender(store: Store, period: Duration, lease_secs: i64) -> tokio::task::JoinHandle<()> {
    let holder = crate::jobs::holder_name();
    tokio::spawn(async move {
        loop {
            match deliver_due(&store, &holder, lease_secs).await {
                Ok(n) if n as i64 >= BATCH => continue,
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "webhook sender failed; it runs again at the next tick"),
            }
            tokio::time::sleep(period).await;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_hmac_sha256_over_time_and_body() {
        // Computed independently: printf '1700000000.{"id":1}' | openssl dgst -sha256 -hmac whsec_test
        assert_eq!(
            signature("whsec_test", 1_700_000_000, r#"{"id":1}"#),
            "t=1700000000,v1=2f441ba4b3b2d50d28a9ab9d9fd8880376ecd1eb5d0435401553f5d8d0a5dcf8"
        );
    }

    #[tokio::test]
    async fn private_targets_are_refused_unless_allowed() {
        let e = pinned_address("127.0.0.1", 80, false).await.unwrap_err();
        assert!(e.contains("127.0.0.1, a loopback address") && e.contains("allow private targets"), "{e}");
        let e = pinned_address("localhost", 80, false).await.unwrap_err();
        assert!(e.starts_with("refused: localhost resolves to"), "names are resolved before the check: {e}");
        assert_eq!(pinned_address("127.0.0.1", 8080, true).await.unwrap(), "127.0.0.1:8080".parse().unwrap());
        assert!(pinned_address("[::1]", 80, false).await.is_err());
        assert_eq!(pinned_address("93.184.216.34", 443, false).await.unwrap(), "93.184.216.34:443".parse().unwrap());
    }
}
