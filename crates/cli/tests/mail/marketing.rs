//! Marketing mail against the real SMTP receiver and Dovecot (issue 12 §3–5), in the harness
//! of the ticket mail test: a campaign's 30 members get one mail each with their merge fields,
//! `List-Unsubscribe`, `List-Unsubscribe-Post` and a Message-ID; a 451 is answered by a retry;
//! a SIGKILL in the middle of the campaign and a restart send nothing twice; the unsubscribe
//! link's GET changes nothing and its POST unsubscribes; a bounce message to the VERP return
//! path in the bounce mailbox suppresses its address.

use super::*;

const PEOPLE: usize = 30;

fn suppressed(addr: &str, token: &str, email: &str) -> bool {
    let (status, body) = http(addr, "GET", &format!("/api/v1/marketing/suppressions?email={email}"), Some(token), "");
    assert_eq!(status, 200, "{body}");
    body["suppressed"].as_bool().unwrap()
}

fn header<'a>(raw: &'a str, name: &str) -> Option<&'a str> {
    raw.lines().find_map(|l| l.strip_prefix(&format!("{name}: ")))
}

fn send_state(addr: &str, token: &str, campaign: i64) -> Value {
    http(addr, "GET", &format!("/api/v1/campaigns/{campaign}/send"), Some(token), "").1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn marketing_mail_through_smtp_unsubscribes_bounces_and_survives_a_kill() {
    if !Path::new(DOVECOT).is_file() {
        return skip("Dovecot is not installed (Debian: apt-get install dovecot-imapd)");
    }
    let venv = match ensure_venv() {
        Ok(v) => v,
        Err(e) => return skip(&format!("no Python SMTP receiver: {e}")),
    };
    let dir = std::env::temp_dir().join(format!("rapport-mkmail-{}-{:x}", std::process::id(), rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    let (_dovecot, imap) = start_dovecot(&dir.join("dovecot"));
    let (_sink, smtp) = start_sink(&venv, &dir);
    let db = dir.join("mk.db").display().to_string();
    create_admin(&db);
    say(&format!("marketing mail: IMAP 127.0.0.1:{imap}, SMTP 127.0.0.1:{smtp}, files in {}", dir.display()));
    let flags = [
        "--public-url",
        "http://{addr}",
        "--mail-retry-secs",
        "1",
        "--bounce-address",
        "bounces@rapport.test",
        "--bounce-imap-user",
        "bounces",
        "--bounce-imap-password",
        "secret",
    ];
    let server = serve_with(&db, &dir, imap, smtp, &flags);
    let token = login(&server.addr);

    // A campaign, a template and 30 members; the fourth person's first mail is refused with 451.
    let (s, c) = http(
        &server.addr,
        "POST",
        "/api/v1/campaigns",
        Some(&token),
        r#"{"name":"Winter Sale","channel":"email","budget_minor":0,"currency":"USD","starts_on":"2026-01-01","ends_on":"2026-12-31"}"#,
    );
    assert_eq!(s, 201, "{c}");
    let campaign = c["id"].as_i64().unwrap();
    let body = json_template();
    let (s, t) = http(&server.addr, "POST", "/api/v1/email_templates", Some(&token), &body);
    assert_eq!(s, 201, "{t}");
    let mut people = Vec::new();
    for n in 0..PEOPLE {
        let (s, p) = http(
            &server.addr,
            "POST",
            "/api/v1/customers",
            Some(&token),
            &format!(r#"{{"name":"Person{n} Test","email":"p{n}@example.com"}}"#),
        );
        assert_eq!(s, 201, "{p}");
        people.push(p["id"].as_i64().unwrap());
    }
    {
        use sqlx::Connection;
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(&format!("sqlite://{db}")).await.unwrap();
        for p in &people {
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "INSERT INTO campaign_members (campaign_id, person_id, status, source, added_at, updated_at) VALUES ({campaign}, {p}, 'member', 'test', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')"
            )))
            .execute(&mut conn)
            .await
            .unwrap();
        }
    }
    // The last member is refused for a while: the first ones are in flight at the kill, and a
    // mail in flight then may end unconfirmed, never sent.
    std::fs::write(dir.join("tempfail"), "p29@example.com").unwrap();
    std::fs::write(dir.join("delay"), "0.3").unwrap();
    let (s, r) = http(
        &server.addr,
        "POST",
        &format!("/api/v1/campaigns/{campaign}/send"),
        Some(&token),
        &format!(r#"{{"template_id":{}}}"#, t["id"]),
    );
    assert_eq!(s, 202, "{r}");

    // Killed mid-campaign.
    wait_for("the first marketing mails", Duration::from_secs(60), || (received(&dir).len() >= 5).then_some(()));
    let Server { proc: mut p, .. } = server;
    p.0.kill().unwrap(); // SIGKILL
    p.0.wait().unwrap();
    let at_kill = received(&dir).len();
    assert!(at_kill < PEOPLE, "the kill came mid-campaign ({at_kill} of {PEOPLE})");

    std::fs::write(dir.join("delay"), "0").unwrap();
    let server = serve_with(&db, &dir, imap, smtp, &flags);
    let token = login(&server.addr);
    let state = wait_for("the campaign to finish", Duration::from_secs(120), || {
        let s = send_state(&server.addr, &token, campaign);
        (s["state"] == "done").then_some(s)
    });
    let all = received(&dir);
    let mut ids: Vec<&str> = all.iter().map(|(m, _)| m.message_id.as_str()).collect();
    ids.sort_unstable();
    let n = ids.len();
    ids.dedup();
    assert_eq!(ids.len(), n, "a marketing mail was sent twice");
    let unconfirmed =
        state["mails"].as_array().unwrap().iter().find(|m| m["state"] == "unconfirmed").and_then(|m| m["count"].as_i64()).unwrap_or(0);
    assert!(unconfirmed <= super::IN_FLIGHT, "at most the mails in flight at the kill are unconfirmed: {state}");
    // A mail the relay accepted just before the kill, whose `sent` was not yet written, is
    // both received and unconfirmed: never sent again, and counted on both sides here.
    let (n_i, people) = (n as i64, PEOPLE as i64);
    assert!(n_i <= people && n_i + unconfirmed >= people, "every member got at most one mail, and every other one is unconfirmed: {state}");
    say(&format!("marketing mail: {at_kill} delivered before the kill, {n} in all, {unconfirmed} unconfirmed"));

    // The 451 was retried: p29 got its mail once. Merge fields and headers.
    let to_p29: Vec<&(InboundMail, String)> = all
        .iter()
        .filter(|(_, raw)| raw.contains("To: \"Person29 Test\" <p29@example.com>") || raw.contains("To: Person29 Test <p29@example.com>"))
        .collect();
    assert_eq!(to_p29.len(), 1, "the temporarily refused mail arrived once after its retry");
    let (m, raw) = to_p29[0];
    assert_eq!(m.subject, "Hi Person29, winter is here");
    assert!(m.body.contains("Dear Person29 Test"), "{}", m.body);
    assert!(m.message_id.ends_with(&format!(".c{campaign}@rapport")), "{}", m.message_id);
    assert_eq!(header(raw, "List-Unsubscribe-Post"), Some("List-Unsubscribe=One-Click"));
    let unsub = header(raw, "List-Unsubscribe").expect("List-Unsubscribe").trim_start_matches('<').trim_end_matches('>').to_string();
    let path = unsub.split_once(&server_addr_prefix(&unsub)).map(|(_, p)| p.to_string()).unwrap();
    let verp = header(raw, "X-Sink-Mail-From").unwrap().trim_matches(['<', '>']).to_string();
    assert!(verp.starts_with("bounces+b-") && verp.ends_with("@rapport.test"), "{verp}");

    // The unsubscribe link on the new server's address: GET confirms only, POST unsubscribes.
    let (s, page) = http_as(&server.addr, "GET", &path, None, "text/plain", "");
    assert_eq!(s, 200, "{page}");
    assert!(!suppressed(&server.addr, &token, "p29@example.com"), "a GET unsubscribes nobody");
    let (s, _) = http_as(&server.addr, "POST", &path, None, "application/x-www-form-urlencoded", "List-Unsubscribe=One-Click");
    assert_eq!(s, 200);
    assert!(suppressed(&server.addr, &token, "p29@example.com"));

    // A bounce for p5's mail, delivered to its VERP address in the bounce mailbox.
    let p5 = all
        .iter()
        .find(|(_, raw)| raw.contains("<p5@example.com>"))
        .map(|(_, raw)| header(raw, "X-Sink-Mail-From").unwrap().trim_matches(['<', '>']).to_string());
    if let Some(return_path) = p5 {
        let dsn = format!(
            "From: MAILER-DAEMON@mx.example.com\r\nTo: {return_path}\r\nSubject: Undelivered Mail Returned to Sender\r\nMessage-ID: <dsn1@mx.example.com>\r\nAuto-Submitted: auto-replied\r\n\
             Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nThe mail could not be delivered.\r\n\
             --b\r\nContent-Type: message/delivery-status\r\n\r\nFinal-Recipient: rfc822; p5@example.com\r\nAction: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 user unknown\r\n--b--\r\n"
        );
        append_to(imap, "bounces", &dsn).await;
        wait_for("the bounce to suppress p5", Duration::from_secs(30), || suppressed(&server.addr, &token, "p5@example.com").then_some(()));
    } else {
        // p5's was the mail in flight at the kill.
        assert_eq!(unconfirmed, 1);
    }
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

/// `http://127.0.0.1:PORT` of a link.
fn server_addr_prefix(link: &str) -> String {
    let rest = link.trim_start_matches("http://");
    format!("http://{}", rest.split('/').next().unwrap())
}

fn json_template() -> String {
    serde_json::json!({
        "name": "Winter",
        "subject": "Hi {{first_name}}, winter is here",
        "text_body": "Dear {{name}},\n\nour winter sale: https://shop.example/winter\n\nUnsubscribe: {{unsubscribe_url}}",
        "html_body": "<p>Dear {{name}},</p><p><a href=\"https://shop.example/winter\">Winter sale</a></p><p><a href=\"{{unsubscribe_url}}\">Unsubscribe</a></p>"
    })
    .to_string()
}
