//! The IMAP poller over TLS (issue 11 §2), against Dovecot with a certificate from a CA the test
//! makes (openssl): imaps is refused while the CA is unknown and works with `--imap-ca-file`;
//! STARTTLS on the plain port works too; and a mailbox saved in the mail settings (its CA as
//! PEM text) is polled by a server started without any IMAP flag, without a restart.

use super::*;

/// A CA and a server certificate it signed for `127.0.0.1` and `localhost`: (CA, cert, key).
fn certificates(dir: &Path) -> Result<(PathBuf, PathBuf, PathBuf), String> {
    let run = |args: &[&str]| -> Result<(), String> {
        let out = Command::new("openssl").args(args).current_dir(dir).output().map_err(|e| format!("openssl: {e}"))?;
        if out.status.success() { Ok(()) } else { Err(format!("openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr))) }
    };
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    .map_err(|e| e.to_string())?;
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
    run(&[&["req", "-x509"][..], &ec, &["-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=Rapport test CA"]].concat())?;
    run(&[&["req"][..], &ec, &["-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost"]].concat())?;
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "server.ext",
    ])?;
    Ok((dir.join("ca.pem"), dir.join("server.pem"), dir.join("server.key")))
}

/// `rapport serve` with `flags`, its log in `log`; waits until it listens.
fn serve_logged(db: &str, dir: &Path, log: &Path, flags: &[&str]) -> Server {
    let addr = format!("127.0.0.1:{}", free_port());
    let mut child = Command::new(RAPPORT)
        .args(["--database", db, "serve", "--addr", &addr, "--imap-poll-secs", "1"])
        .args(flags)
        .current_dir(dir)
        .env_remove("RAPPORT_DATABASE_URL")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert!(lines.any(|l| l.is_ok_and(|l| l.contains("serving on"))), "the server never listened");
    Server { proc: Proc(child), addr }
}

const LOGIN: [&str; 6] = ["--imap-host", "127.0.0.1", "--imap-user", "support", "--imap-password", "secret"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_poller_reads_the_mailbox_over_imaps_and_starttls_trusting_a_custom_ca() {
    if !Path::new(DOVECOT).is_file() {
        return skip("Dovecot is not installed (Debian: apt-get install dovecot-imapd)");
    }
    let dir = std::env::temp_dir().join(format!("rapport-imaps-{}-{:x}", std::process::id(), rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    let (ca, cert, key) = match certificates(&dir) {
        Ok(c) => c,
        Err(e) => return skip(&format!("cannot make test certificates: {e}")),
    };
    let (_dovecot, imap, imaps) = start_dovecot_with(&dir.join("dovecot"), Some((&cert, &key)));
    let db = dir.join("tls.db").display().to_string();
    create_admin(&db);
    say(&format!("mail over TLS: IMAP 127.0.0.1:{imap} (STARTTLS), imaps 127.0.0.1:{imaps}, files in {}", dir.display()));
    append(imap, &mail("ann@example.com", "Over TLS", "tls1@mail.example.com", "", "Encrypted, please.")).await;

    // imaps with the public roots only: the test CA is unknown, so the poller refuses the
    // server and imports nothing.
    let log = dir.join("untrusted.log");
    let imaps_port = imaps.to_string();
    let server = serve_logged(&db, &dir, &log, &[&LOGIN[..], &["--imap-tls", "tls", "--imap-port", &imaps_port]].concat());
    let refusal = wait_for("the poller to refuse the certificate", Duration::from_secs(30), || {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        text.lines().find(|l| l.contains("IMAP poller") && l.contains("TLS with IMAP")).map(String::from)
    });
    assert!(refusal.contains("UnknownIssuer") || refusal.contains("certificate"), "{refusal}");
    let token = login(&server.addr);
    assert!(tickets(&server.addr, &token).is_empty(), "nothing imported from an untrusted server");
    drop(server);

    // With the CA trusted: the mail opens a ticket.
    let ca_file = ca.display().to_string();
    let trusted = [&LOGIN[..], &["--imap-tls", "tls", "--imap-port", &imaps_port, "--imap-ca-file", &ca_file]].concat();
    let server = serve_logged(&db, &dir, &dir.join("imaps.log"), &trusted);
    let token = login(&server.addr);
    let t = wait_for("the ticket over imaps", Duration::from_secs(30), || Some(tickets(&server.addr, &token)).filter(|t| !t.is_empty()));
    assert_eq!((t.len(), t[0]["subject"].as_str()), (1, Some("Over TLS")));
    drop(server);

    // STARTTLS on the plain port.
    append(imap, &mail("bob@example.com", "Upgraded", "tls2@mail.example.com", "", "STARTTLS, please.")).await;
    let imap_port = imap.to_string();
    let starttls = [&LOGIN[..], &["--imap-tls", "starttls", "--imap-port", &imap_port, "--imap-ca-file", &ca_file]].concat();
    let server = serve_logged(&db, &dir, &dir.join("starttls.log"), &starttls);
    let token = login(&server.addr);
    wait_for("the ticket over STARTTLS", Duration::from_secs(30), || (tickets(&server.addr, &token).len() == 2).then_some(()));
    drop(server);

    // No IMAP flag at all: an admin saves the mailbox (imaps, the CA as PEM text) in the mail
    // settings, and the running server polls it from its next pass.
    append(imap, &mail("cy@example.com", "Saved settings", "tls3@mail.example.com", "", "From the form.")).await;
    let server = serve_logged(&db, &dir, &dir.join("saved.log"), &[]);
    let token = login(&server.addr);
    let pem = std::fs::read_to_string(&ca).unwrap();
    let body = serde_json::json!({"imap_host": "127.0.0.1", "imap_port": imaps, "imap_tls": "tls", "imap_user": "support",
        "imap_password": "secret", "imap_ca_pem": pem, "imap_poll_secs": 5});
    let (status, saved) = http(&server.addr, "PATCH", "/api/v1/mail/settings", Some(&token), &body.to_string());
    assert_eq!(status, 200, "{saved}");
    let all = wait_for("the ticket through the saved settings", Duration::from_secs(30), || {
        Some(tickets(&server.addr, &token)).filter(|t| t.len() == 3)
    });
    assert!(all.iter().any(|t| t["subject"].as_str() == Some("Saved settings")), "{all:?}");
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
