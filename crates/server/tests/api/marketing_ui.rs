//! Issue 12's screens and what they show, on both engines: the campaign list (filters) and
//! page (status buttons that are exactly the legal steps, adding the audience, sending, the
//! funnel of people's responses), the segment builder (live count for the session, refused
//! rules named by path, save, static lists), the people list's segment filter, the names of
//! k-means clusters (API, rename, shown on the person's page), and the communication log on a
//! person's timeline.

use axum::http::{StatusCode, header};
use rapport_domain::permissions::Actor;
use serde_json::{Value, json};

use crate::each_backend;
use crate::helpers::{ADMIN_EMAIL, TestApp};
use crate::ui::{csrf_of, form, page, session};

fn encoded(pairs: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(pairs).unwrap()
}

async fn person(app: &TestApp, name: &str, tag: &str) -> i64 {
    let email = format!("{}@example.com", name.to_lowercase().replace(' ', "."));
    app.customer(json!({"name": name, "email": email, "tags": [tag]})).await["id"].as_i64().unwrap()
}

/// The people a funnel row counts, from the campaign page's table.
fn reached(html: &str, state: &str) -> i64 {
    let at = html.find(&format!("<tr data-state=\"{state}\"")).unwrap_or_else(|| panic!("no funnel row {state}: {html}"));
    let cell = &html[at..];
    let num = cell.find("<td class=\"num\">").unwrap() + "<td class=\"num\">".len();
    cell[num..cell[num..].find('<').unwrap() + num].trim().parse().unwrap()
}

async fn timeline_kinds(app: &TestApp, person: i64) -> Vec<String> {
    let r = app.get(&format!("/api/v1/customers/{person}/timeline?limit=100")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body["data"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn a_campaign_page_offers_the_legal_steps_sends_and_draws_the_funnel_and_the_timeline_logs_each_message() {
    each_backend!(|app| {
        app.store.set_public_url("https://crm.example.com");
        let (ann, bob) = (person(&app, "Ann Funnel", "spring").await, person(&app, "Bob Funnel", "spring").await);
        let seg = app
            .post(
                "/api/v1/segments",
                json!({"name": "Spring people", "rules": {"all": [{"field": "tag", "op": "has", "value": "spring"}]}}),
            )
            .await;
        assert_eq!(seg.status, StatusCode::CREATED, "{}", seg.body);
        let body = json!({"name": "Spring sale", "channel": "email", "budget_minor": 100_000, "actual_spend_minor": 25_000, "currency": "EUR",
            "starts_on": "2026-03-01", "ends_on": "2026-03-31", "segment_id": seg.body["id"]});
        let c = app.post("/api/v1/campaigns", body).await;
        assert_eq!(c.status, StatusCode::CREATED, "{}", c.body);
        let id = c.body["id"].as_i64().unwrap();
        let other = app
            .post(
                "/api/v1/campaigns",
                json!({"name": "Fair booth", "channel": "event", "budget_minor": 0, "currency": "EUR",
                "starts_on": "2026-05-01", "ends_on": "2026-05-02"}),
            )
            .await;
        assert_eq!(other.status, StatusCode::CREATED);
        let cookie = session(&app, ADMIN_EMAIL).await;

        // The list, at both addresses, filtered by channel and status.
        let (status, html) = page(&app, "/marketing/campaigns", &cookie).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert!(html.contains("Spring sale") && html.contains("Fair booth") && html.contains("Spring people"), "{html}");
        let (_, html) = page(&app, "/campaigns?channel=email", &cookie).await;
        assert!(html.contains("Spring sale") && !html.contains("Fair booth"));
        let (_, html) = page(&app, "/marketing/campaigns?status=active", &cookie).await;
        assert!(!html.contains("Spring sale"), "planned, not active");

        // The page: money, the audience, the steps a planned campaign may take.
        let path = format!("/campaigns/{id}");
        let (status, html) = page(&app, &format!("/marketing/campaigns/{id}"), &cookie).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert!(html.contains("1,000.00 EUR") && html.contains("250.00 EUR") && html.contains("25%"), "budget and spend: {html}");
        assert!(html.contains(&format!("/customers?segment_id={}", seg.body["id"])), "see the audience's people");
        let buttons = |html: &str| -> Vec<String> {
            html.match_indices("name=\"status\" value=\"")
                .map(|(i, m)| html[i + m.len()..].split('"').next().unwrap().to_string())
                .collect()
        };
        assert_eq!(buttons(&html), ["active", "cancelled"]);
        let csrf = csrf_of(&html);

        // A step the machine does not allow is refused on the page, and nothing changes.
        let (status, _, html) =
            form(&app, &format!("{path}/status"), Some(&cookie), &encoded(&[("_csrf", &csrf), ("status", "completed")])).await;
        assert_eq!(status, StatusCode::CONFLICT, "{html}");
        assert!(html.contains("role=\"alert\"") && html.contains("active"), "{html}");
        assert_eq!(app.get(&format!("/api/v1/campaigns/{id}")).await.body["status"], "planned");
        let (status, headers, _) =
            form(&app, &format!("{path}/status"), Some(&cookie), &encoded(&[("_csrf", &csrf), ("status", "active")])).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(headers[header::LOCATION], path.as_str());
        let (_, html) = page(&app, &path, &cookie).await;
        assert_eq!(buttons(&html), ["completed", "cancelled"]);

        // The audience's people join; the send form offers the templates.
        let (status, _, _) = form(&app, &format!("{path}/add_audience"), Some(&cookie), &encoded(&[("_csrf", &csrf)])).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let t = app
            .post(
                "/api/v1/email_templates",
                json!({"name": "Sale mail", "subject": "Hi {{name}}", "text_body": "Shop https://shop.example/ {{unsubscribe_url}}"}),
            )
            .await;
        assert_eq!(t.status, StatusCode::CREATED, "{}", t.body);
        let (_, html) = page(&app, &path, &cookie).await;
        assert!(html.contains("id=\"members-count\">2<") && html.contains("Sale mail") && html.contains("Send to 2 members"), "{html}");
        let (status, _, html) =
            form(&app, &format!("{path}/send"), Some(&cookie), &encoded(&[("_csrf", &csrf), ("template_id", "")])).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "no template chosen: {html}");
        let template = t.body["id"].to_string();
        let (status, _, _) =
            form(&app, &format!("{path}/send"), Some(&cookie), &encoded(&[("_csrf", &csrf), ("template_id", &template)])).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let (_, html) = page(&app, &path, &cookie).await;
        assert!(
            html.contains("id=\"send-state\">scheduled<") && html.contains("Cancel sending") && !html.contains("id=\"send-form\""),
            "{html}"
        );
        assert_eq!(app.get(&format!("/api/v1/campaigns/{id}/send")).await.body["template_id"], t.body["id"]);
        let (status, _, _) =
            form(&app, &format!("{path}/send/actions"), Some(&cookie), &encoded(&[("_csrf", &csrf), ("action", "resume")])).await;
        assert_eq!(status, StatusCode::CONFLICT, "a scheduled sending cannot be resumed");
        let (status, _, _) =
            form(&app, &format!("{path}/send/actions"), Some(&cookie), &encoded(&[("_csrf", &csrf), ("action", "cancel")])).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let (_, html) = page(&app, &path, &cookie).await;
        assert!(
            html.contains("id=\"send-state\">cancelled<") && html.contains("id=\"send-form\""),
            "a cancelled sending may be followed by another"
        );

        // Responses move the funnel; each message's milestone is on the person's timeline.
        let members = format!("/api/v1/campaigns/{id}/members");
        for (p, state) in [(ann, "clicked"), (bob, "sent"), (bob, "bounced")] {
            let r = app.post(&format!("{members}/{p}/responses"), json!({"state": state})).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        }
        let (_, html) = page(&app, &path, &cookie).await;
        assert_eq!(
            ["sent", "delivered", "opened", "clicked", "responded", "converted", "bounced", "unsubscribed"].map(|s| reached(&html, s)),
            [2, 1, 1, 1, 0, 0, 1, 0]
        );
        assert!(html.contains("<svg") && html.contains("Clicked: 1 (100% of previous"), "the funnel is drawn: {html}");
        let kinds = timeline_kinds(&app, ann).await;
        for k in ["message_sent", "message_delivered", "message_opened", "message_clicked"] {
            assert!(kinds.contains(&k.to_string()), "{k} on Ann's timeline: {kinds:?}");
        }
        assert!(!kinds.contains(&"message_bounced".to_string()));
        let kinds = timeline_kinds(&app, bob).await;
        assert!(kinds.contains(&"message_sent".to_string()) && kinds.contains(&"message_bounced".to_string()), "{kinds:?}");
        assert!(!kinds.contains(&"message_opened".to_string()), "{kinds:?}");
        let r = app.get(&format!("/api/v1/customers/{ann}/timeline?limit=100")).await;
        let click = r.body["data"].as_array().unwrap().iter().find(|e| e["kind"] == "message_clicked").unwrap().clone();
        assert_eq!(
            (click["title"].as_str(), click["link"].as_str()),
            (Some("Spring sale"), Some(format!("/marketing/campaigns/{id}").as_str()))
        );
        assert_eq!(click["summary"], "Clicked a link · email campaign");
        let (_, html) = page(&app, &format!("/customers/{ann}"), &cookie).await;
        assert!(html.contains("Clicked a link") && html.contains("Message"), "the person's page shows the log");
        // A deleted campaign's messages leave the timeline with it.
        let r = app.delete(&format!("/api/v1/campaigns/{id}")).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT);
        assert!(!timeline_kinds(&app, ann).await.iter().any(|k| k.starts_with("message_")));
    });
}

#[tokio::test]
async fn the_segment_builder_counts_live_names_wrong_rules_by_path_saves_and_keeps_lists() {
    each_backend!(|app| {
        let (ann, _) = (person(&app, "Ann Builder", "vip").await, person(&app, "Bob Builder", "other").await);
        let cookie = session(&app, ADMIN_EMAIL).await;
        let (status, html) = page(&app, "/marketing/segments/new", &cookie).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert!(html.contains("orders.total_spend") && html.contains("engagement.not_opened"), "the field catalogue is on the page");
        assert!(html.contains("/static/marketing.js"));
        let csrf = csrf_of(&html);

        // The live count: the session's form, counted as the API counts.
        let rules = json!({"all": [{"field": "tag", "op": "has", "value": "vip"}]}).to_string();
        let (status, _, body) =
            form(&app, "/segments/preview_count", Some(&cookie), &encoded(&[("_csrf", &csrf), ("rules", &rules)])).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["count"], 1);
        let api = app.post("/api/v1/segments/preview_count", json!({"rules": serde_json::from_str::<Value>(&rules).unwrap()})).await;
        assert_eq!(api.body["count"], 1);
        let bad = json!({"all": [{"field": "tag", "op": "has", "value": "vip"}, {"any": [{"field": "orders.count", "op": "contains", "value": 1}]}]})
            .to_string();
        let (status, _, body) = form(&app, "/segments/preview_count", Some(&cookie), &encoded(&[("_csrf", &csrf), ("rules", &bad)])).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let problem: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(problem["errors"][0]["field"], "rules.all[1].any[0].op");
        let (status, _, _) =
            form(&app, "/segments/preview_count", Some(&cookie), &encoded(&[("_csrf", &csrf), ("rules", &rules)]).replace("_csrf=", "x="))
                .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "the count needs the form's CSRF token");

        // A refused save keeps what was typed and names the wrong rule's path.
        let (status, _, html) = form(
            &app,
            "/segments/new",
            Some(&cookie),
            &encoded(&[("_csrf", &csrf), ("name", "VIPs"), ("kind", "dynamic"), ("rules", &bad), ("exclude", "")]),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("rules.all[1].any[0].op") && html.contains("value=\"VIPs\""), "{html}");
        let (status, headers, _) = form(
            &app,
            "/marketing/segments/new",
            Some(&cookie),
            &encoded(&[("_csrf", &csrf), ("name", "VIPs"), ("kind", "dynamic"), ("rules", &rules), ("exclude", "")]),
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let at = headers[header::LOCATION].to_str().unwrap().to_string();
        let id: i64 = at.rsplit('/').next().unwrap().parse().unwrap();
        let (_, html) = page(&app, &at, &cookie).await;
        assert!(
            html.contains("id=\"live-count\" aria-live=\"polite\">1<") && html.contains(&format!("/customers?segment_id={id}")),
            "{html}"
        );
        assert_eq!(app.get(&format!("/api/v1/segments/{id}")).await.body["rules"]["all"][0]["value"], "vip");

        // The people list takes the segment (a type-ahead over segments), and says when it cannot.
        let (_, html) = page(&app, &format!("/customers?segment_id={id}"), &cookie).await;
        assert!(html.contains("Ann Builder") && !html.contains("Bob Builder"), "{html}");
        assert!(html.contains("data-lookup=\"/lookup/segments\"") && html.contains("value=\"VIPs\""), "the chooser shows the segment");
        let (status, html) = page(&app, "/customers?segment_id=999999", &cookie).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("there is no segment with id 999999") && !html.contains("Ann Builder"), "{html}");
        let (_, found) = page(&app, "/lookup/segments?q=vip", &cookie).await;
        assert_eq!(serde_json::from_str::<Value>(&found).unwrap(), json!([{"id": id, "title": "VIPs"}]));
        let (_, html) = page(&app, "/marketing/segments", &cookie).await;
        assert!(html.contains(&format!("href=\"/segments/{id}\"")), "{html}");

        // Leaving out another segment's people: its box on the builder, in the live count too.
        let (_, html) = page(&app, "/marketing/segments/new", &cookie).await;
        assert!(html.contains(&format!("name=\"exclude.{id}\" value=\"on\" data-exclude=\"{id}\"> VIPs")), "{html}");
        let builders =
            json!({"any": [{"field": "tag", "op": "has", "value": "vip"}, {"field": "tag", "op": "has", "value": "other"}]}).to_string();
        let count = |exclude: String| {
            let body = encoded(&[("_csrf", &csrf), ("rules", &builders), ("exclude", &exclude)]);
            let app = &app;
            let cookie = &cookie;
            async move {
                serde_json::from_str::<Value>(&form(app, "/segments/preview_count", Some(cookie), &body).await.2).unwrap()["count"].clone()
            }
        };
        assert_eq!((count(String::new()).await, count(id.to_string()).await), (json!(2), json!(1)));
        let ticked = format!("exclude.{id}");
        let (status, headers, _) = form(
            &app,
            "/marketing/segments/new",
            Some(&cookie),
            &encoded(&[("_csrf", &csrf), ("name", "Builders but VIPs"), ("kind", "dynamic"), ("rules", &builders), (&ticked, "on")]),
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let at = headers[header::LOCATION].to_str().unwrap().to_string();
        let (_, html) = page(&app, &at, &cookie).await;
        assert!(html.contains(&format!("name=\"exclude.{id}\" value=\"on\" data-exclude=\"{id}\" checked> VIPs")), "{html}");
        assert!(html.contains("id=\"live-count\" aria-live=\"polite\">1<"), "Bob only: {html}");
        let other: i64 = at.rsplit('/').next().unwrap().parse().unwrap();
        assert_eq!(app.get(&format!("/api/v1/segments/{other}")).await.body["exclude"], json!([id]));
        assert!(!html.contains(&format!("name=\"exclude.{other}\"")), "a segment cannot leave itself out");

        // A static list: people added and removed by hand.
        let (status, headers, _) = form(
            &app,
            "/segments/new",
            Some(&cookie),
            &encoded(&[("_csrf", &csrf), ("name", "Fair visitors"), ("kind", "static"), ("rules", "")]),
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let list = headers[header::LOCATION].to_str().unwrap().to_string();
        let person_id = ann.to_string();
        let (status, _, _) =
            form(&app, &format!("{list}/members"), Some(&cookie), &encoded(&[("_csrf", &csrf), ("person_id", &person_id), ("op", "add")]))
                .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let (_, html) = page(&app, &list, &cookie).await;
        assert!(html.contains("People on the list: 1"), "{html}");
        let (status, _, _) = form(
            &app,
            &format!("{list}/members"),
            Some(&cookie),
            &encoded(&[("_csrf", &csrf), ("person_id", &person_id), ("op", "remove")]),
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let (_, html) = page(&app, &list, &cookie).await;
        assert!(html.contains("People on the list: 0"), "{html}");
        let (status, _, html) =
            form(&app, &format!("{list}/members"), Some(&cookie), &encoded(&[("_csrf", &csrf), ("person_id", "")])).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("data-field=\"person_id\""), "{html}");
    });
}

#[tokio::test]
async fn clusters_are_named_by_runs_renamed_by_people_and_shown_by_name() {
    each_backend!(|app| {
        let system = Actor::system();
        app.store.name_clusters(&system, &["recent, frequent, high spend".into(), "lapsed".into(), "average".into()]).await.unwrap();
        let r = app.get("/api/v1/cluster_names").await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let names: Vec<&str> = r.body.as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["recent, frequent, high spend", "lapsed", "average"]);

        let r = app
            .call(axum::http::Method::PUT, "/api/v1/cluster_names/1", Some(&app.token), Some(json!({"name": "  Win-back  "})), &[])
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!((r.body["name"].as_str(), r.body["renamed"].as_bool()), (Some("Win-back"), Some(true)));
        let r = app.call(axum::http::Method::PUT, "/api/v1/cluster_names/1", Some(&app.token), Some(json!({"name": " "})), &[]).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(r.error_fields(), ["name"]);
        let r = app.call(axum::http::Method::PUT, "/api/v1/cluster_names/9", Some(&app.token), Some(json!({"name": "Nobody"})), &[]).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "no run named cluster 9");

        // A later run with two clusters renames what people did not, and forgets cluster 2.
        app.store.name_clusters(&system, &["recent".into(), "lapsed, low spend".into()]).await.unwrap();
        let r = app.get("/api/v1/cluster_names").await;
        let names: Vec<(i64, &str, bool)> = r
            .body
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c["cluster"].as_i64().unwrap(), c["name"].as_str().unwrap(), c["renamed"].as_bool().unwrap()))
            .collect();
        assert_eq!(names, [(0, "recent", false), (1, "Win-back", true)]);
        let audit = app.get("/api/v1/audit_log?object=cluster_name").await;
        assert!(audit.body.to_string().contains("Win-back"), "the rename is audited: {}", audit.body);

        // A person's page and the segment builder's cluster field show the names.
        let p = app.customer(json!({"name": "Clara Cluster"})).await["id"].as_i64().unwrap();
        let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&app.url).await.unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("UPDATE customers SET segment = 1 WHERE id = {p}"))).execute(&mut conn).await.unwrap();
        let cookie = session(&app, ADMIN_EMAIL).await;
        let (_, html) = page(&app, &format!("/customers/{p}"), &cookie).await;
        assert!(html.contains("id=\"cluster-name\">Win-back<"), "{html}");
        let (_, html) = page(&app, "/marketing/segments/new", &cookie).await;
        assert!(html.contains("Win-back"), "the builder offers the clusters by name");
        let csrf = csrf_of(&html);
        let (status, headers, _) =
            form(&app, "/analytics/clusters/0", Some(&cookie), &encoded(&[("_csrf", &csrf), ("name", "Fresh faces")])).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(headers[header::LOCATION], "/analytics#clusters");
        assert_eq!(app.get("/api/v1/cluster_names").await.body[0]["name"], "Fresh faces");
    });
}
