//! Activities and task lists (issue 9 §4): tasks, calls, meetings, notes and logged emails
//! linked to people, companies and opportunities; the done action; the per-user task views;
//! record visibility as for people.

use axum::http::{Method, StatusCode};
use chrono::{Duration, SecondsFormat, Utc};
use rapport_domain::permissions::Role;
use serde_json::{Value, json};

use crate::each_backend;
use crate::helpers::TestApp;

async fn user_id(app: &TestApp, token: &str) -> i64 {
    app.call(Method::GET, "/api/v1/users/me", Some(token), None, &[]).await.body["id"].as_i64().unwrap()
}

async fn activity(app: &TestApp, token: &str, body: Value) -> Value {
    let r = app.call(Method::POST, "/api/v1/activities", Some(token), Some(body.clone()), &[]).await;
    assert_eq!(r.status, StatusCode::CREATED, "{body}: {}", r.body);
    r.body
}

/// Subjects of every activity a list URL returns for `token`, all pages.
async fn subjects(app: &TestApp, token: &str, path: &str) -> Vec<String> {
    let mut out = vec![];
    let mut url = path.to_string();
    loop {
        let r = app.get_as(token, &url).await;
        assert_eq!(r.status, StatusCode::OK, "{url}: {}", r.body);
        out.extend(r.body["data"].as_array().unwrap().iter().map(|a| a["subject"].as_str().unwrap().to_string()));
        match r.body["next_cursor"].as_str() {
            Some(c) => url = format!("{path}{}cursor={c}", if path.contains('?') { "&" } else { "?" }),
            None => return out,
        }
    }
}

fn stamp(t: chrono::DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[tokio::test]
async fn each_kind_is_logged_linked_and_shown_with_names() {
    each_backend!(|app| {
        let acme = app.company(json!({"name": "Acme"})).await;
        let ann = app.customer(json!({"name": "Ann Lee", "company_id": acme["id"]})).await;
        let t = app.token.clone();
        let call = activity(&app, &t, json!({"kind": "call", "subject": "Intro call", "customer_id": ann["id"], "starts_at": "2026-03-10T10:00:00Z", "ends_at": "2026-03-10T10:20:00Z", "done": true})).await;
        assert_eq!(
            (call["customer_name"].as_str(), call["done"].as_bool(), call["done_at"].is_string()),
            (Some("Ann Lee"), Some(true), true)
        );
        let admin_id = user_id(&app, &t).await;
        assert_eq!((&call["owner_id"], &call["assignee_id"]), (&json!(admin_id), &json!(admin_id)), "owned by and assigned to the creator");
        let note =
            activity(&app, &t, json!({"kind": "note", "subject": "Prefers email", "company_id": acme["id"], "body": "Not before 10am"}))
                .await;
        assert_eq!((note["company_name"].as_str(), note["done"].as_bool()), (Some("Acme"), Some(true)));
        activity(&app, &t, json!({"kind": "meeting", "subject": "Demo", "customer_id": ann["id"], "company_id": acme["id"], "starts_at": "2026-03-11T15:00:00Z"})).await;
        activity(&app, &t, json!({"kind": "email", "subject": "Re: pricing", "opportunity_id": 77})).await;

        // Wrong input names the field.
        let r = app.post("/api/v1/activities", json!({"kind": "meeting", "subject": "x", "customer_id": ann["id"]})).await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec!["starts_at".to_string()]));
        let r = app.post("/api/v1/activities", json!({"kind": "task", "subject": "x"})).await;
        assert_eq!(r.error_fields(), ["customer_id"], "an activity is about someone");
        let r = app.post("/api/v1/activities", json!({"kind": "task", "subject": "x", "customer_id": 999999})).await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec!["customer_id".to_string()]));
        let r = app.post("/api/v1/activities", json!({"kind": "visit", "subject": "x", "customer_id": ann["id"]})).await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::BAD_REQUEST, vec!["kind".to_string()]));
        let r = app.patch(&format!("/api/v1/activities/{}", note["id"]), json!({"kind": "task"}), None).await;
        assert_eq!(r.error_fields(), ["kind"]);

        // Filters.
        assert_eq!(subjects(&app, &t, &format!("/api/v1/activities?customer_id={}&sort=name", ann["id"])).await, ["Demo", "Intro call"]);
        assert_eq!(subjects(&app, &t, &format!("/api/v1/activities?company_id={}&sort=name", acme["id"])).await, ["Demo", "Prefers email"]);
        assert_eq!(subjects(&app, &t, "/api/v1/activities?opportunity_id=77").await, ["Re: pricing"]);
        assert_eq!(subjects(&app, &t, "/api/v1/activities?kind=meeting").await, ["Demo"]);
        assert_eq!(subjects(&app, &t, "/api/v1/activities?done=false").await, ["Demo"]);
        assert_eq!(subjects(&app, &t, "/api/v1/activities?starts_at.gte=2026-03-11&sort=starts_at").await, ["Demo"]);
        assert_eq!(subjects(&app, &t, "/api/v1/activities?q=pric").await, ["Re: pricing"]);
        let r = app.get("/api/v1/activities?tag=x").await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::BAD_REQUEST, vec!["tag".to_string()]));

        // Renaming the person shows in the activity; deleting one leaves a tombstone for sync.
        app.patch(&format!("/api/v1/customers/{}", ann["id"]), json!({"name": "Ann Lee-Smith"}), None).await;
        assert_eq!(app.get(&format!("/api/v1/activities/{}", call["id"])).await.body["customer_name"], "Ann Lee-Smith");
        let r = app.call(Method::DELETE, &format!("/api/v1/activities/{}", note["id"]), Some(&t), None, &[("if-match", "1")]).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT);
        assert_eq!(app.get(&format!("/api/v1/activities/{}", note["id"])).await.status, StatusCode::NOT_FOUND);
        let sync = app.get("/api/v1/activities?updated_since=2000-01-01").await;
        let gone: Vec<&Value> = sync.body["data"].as_array().unwrap().iter().filter(|a| a["id"] == note["id"]).collect();
        assert_eq!((gone.len(), gone[0]["deleted_at"].is_string(), &gone[0]["subject"]), (1, true, &json!("")));
    });
}

#[tokio::test]
async fn done_takes_if_match_and_keeps_the_first_time_done() {
    each_backend!(|app| {
        let ann = app.customer(json!({"name": "Ann"})).await;
        let task = activity(
            &app,
            &app.token.clone(),
            json!({"kind": "task", "subject": "Send quote", "customer_id": ann["id"], "due_at": "2026-03-12"}),
        )
        .await;
        assert_eq!(
            (task["done"].as_bool(), &task["done_at"], task["due_at"].as_str()),
            (Some(false), &json!(null), Some("2026-03-12T23:59:59.999999Z"))
        );
        let path = format!("/api/v1/activities/{}/done", task["id"]);
        let stale = app.call(Method::POST, &path, Some(&app.token), None, &[("if-match", "\"7\"")]).await;
        assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED, "{}", stale.body);
        assert_eq!(app.get(&format!("/api/v1/activities/{}", task["id"])).await.body["done"], false, "a stale If-Match changes nothing");
        let r = app.call(Method::POST, &path, Some(&app.token), None, &[("if-match", "\"1\"")]).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!((r.body["done"].as_bool(), r.body["version"].as_i64(), r.header("etag")), (Some(true), Some(2), "\"2\""));
        let first = r.body["done_at"].clone();
        assert!(first.is_string());
        let again = app.call(Method::POST, &path, Some(&app.token), None, &[]).await;
        assert_eq!((again.status, &again.body["done_at"]), (StatusCode::OK, &first), "done again keeps when it was first done");
        let undone = app.patch(&format!("/api/v1/activities/{}", task["id"]), json!({"done": false}), Some(3)).await;
        assert_eq!((undone.body["done"].as_bool(), &undone.body["done_at"]), (Some(false), &json!(null)));
        assert_eq!(
            app.call(Method::POST, "/api/v1/activities/999999/done", Some(&app.token), None, &[]).await.status,
            StatusCode::NOT_FOUND
        );
        let audit = app.get(&format!("/api/v1/audit_log?object=activity&record_id={}", task["id"])).await;
        let actions: Vec<&str> = audit.body.as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
        assert_eq!(actions, ["update", "update", "update", "create"]);
    });
}

#[tokio::test]
async fn task_views_list_each_assignees_open_tasks_by_due_date() {
    each_backend!(|app| {
        let rep = app.user_token("rep@example.com", Role::SalesRep).await;
        let rep_id = user_id(&app, &rep).await;
        let admin = app.token.clone();
        let admin_id = user_id(&app, &admin).await;
        let ann = app.customer(json!({"name": "Ann", "owner_id": null})).await;
        let now = Utc::now();
        let today = now.date_naive();
        let yesterday = today - Duration::days(1);
        let tomorrow = today + Duration::days(1);
        // (subject, kind, due, done, assignee)
        let rows: Vec<(&str, &str, Option<String>, bool, i64)> = vec![
            ("a yesterday noon", "task", Some(format!("{yesterday}T12:00:00Z")), false, rep_id),
            ("b a minute ago", "task", Some(stamp(now - Duration::minutes(1))), false, rep_id),
            ("c today by the end of it", "task", Some(today.to_string()), false, rep_id),
            ("d late tonight", "task", Some(format!("{today}T23:59:00Z")), false, rep_id),
            ("e tomorrow morning", "task", Some(format!("{tomorrow}T09:00:00Z")), false, rep_id),
            ("f in a month", "task", Some(stamp(now + Duration::days(30))), false, rep_id),
            ("g done yesterday", "task", Some(format!("{yesterday}T08:00:00Z")), true, rep_id),
            ("h no due date", "task", None, false, rep_id),
            ("i someone else's", "task", Some(format!("{yesterday}T09:00:00Z")), false, admin_id),
            ("j a meeting", "meeting", None, false, rep_id),
        ];
        for (subject, kind, due, done, assignee) in &rows {
            let mut body = json!({"kind": kind, "subject": subject, "customer_id": ann["id"], "assignee_id": assignee, "done": done});
            match (*kind, due) {
                ("task", Some(d)) => body["due_at"] = json!(d),
                ("meeting", _) => body["starts_at"] = json!(stamp(now - Duration::hours(30))),
                _ => {}
            }
            activity(&app, &admin, body).await;
        }
        // What each view should hold, worked out here from the rows: UTC days, open tasks only.
        let due_of = |d: &str| -> chrono::DateTime<Utc> {
            match chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d") {
                Ok(day) => day.and_hms_micro_opt(23, 59, 59, 999_999).unwrap().and_utc(),
                Err(_) => chrono::DateTime::parse_from_rfc3339(d).unwrap().with_timezone(&Utc),
            }
        };
        let expect = |assignee: i64, pick: &dyn Fn(chrono::DateTime<Utc>) -> bool| -> Vec<String> {
            let mut v: Vec<(chrono::DateTime<Utc>, String)> = rows
                .iter()
                .filter(|(_, kind, due, done, who)| *kind == "task" && !done && *who == assignee && due.is_some())
                .map(|(s, _, due, _, _)| (due_of(due.as_deref().unwrap()), s.to_string()))
                .filter(|(d, _)| pick(*d))
                .collect();
            v.sort();
            v.into_iter().map(|(_, s)| s).collect()
        };
        let is_today = |d: chrono::DateTime<Utc>| d.date_naive() == today;
        let is_overdue = |d: chrono::DateTime<Utc>| d < now;
        let is_upcoming = |d: chrono::DateTime<Utc>| d.date_naive() > today;
        assert_eq!(
            subjects(&app, &rep, "/api/v1/tasks").await,
            expect(rep_id, &is_today),
            "today is the default view, mine the default assignee"
        );
        assert_eq!(subjects(&app, &rep, "/api/v1/tasks?view=today").await, expect(rep_id, &is_today));
        assert_eq!(subjects(&app, &rep, "/api/v1/tasks?view=overdue").await, expect(rep_id, &is_overdue));
        assert_eq!(subjects(&app, &rep, "/api/v1/tasks?view=upcoming&limit=1").await, expect(rep_id, &is_upcoming), "paged by cursor");
        assert_eq!(subjects(&app, &admin, "/api/v1/tasks?view=overdue").await, expect(admin_id, &is_overdue), "the admin's own");
        assert_eq!(subjects(&app, &admin, &format!("/api/v1/tasks?view=overdue&assignee_id={rep_id}")).await, expect(rep_id, &is_overdue));
        // Sanity of the fixture itself: each view holds something.
        assert!(!expect(rep_id, &is_overdue).is_empty() && !expect(rep_id, &is_upcoming).is_empty());
        let r = app.get_as(&rep, "/api/v1/tasks?view=someday").await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::BAD_REQUEST, vec!["view".to_string()]));
        let r = app.get_as(&rep, "/api/v1/tasks?limit=0").await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::BAD_REQUEST, vec!["limit".to_string()]));
    });
}

#[tokio::test]
async fn a_rep_sees_only_the_activities_they_reach() {
    each_backend!(|app| {
        let rep = app.user_token("rep@example.com", Role::SalesRep).await;
        let other = app.user_token("other@example.com", Role::SalesRep).await;
        let (rep_id, other_id) = (user_id(&app, &rep).await, user_id(&app, &other).await);
        let mine = app.customer(json!({"name": "Rep's person", "owner_id": rep_id})).await;
        let theirs = app.customer(json!({"name": "Other's person", "owner_id": other_id})).await;
        let admin = app.token.clone();
        let a_mine = activity(&app, &admin, json!({"kind": "task", "subject": "Mine", "customer_id": mine["id"], "assignee_id": rep_id, "due_at": Utc::now().date_naive().to_string()})).await;
        assert_eq!(a_mine["owner_id"], rep_id, "a task given to someone is theirs");
        let a_theirs = activity(&app, &admin, json!({"kind": "task", "subject": "Theirs", "customer_id": theirs["id"], "assignee_id": other_id, "due_at": Utc::now().date_naive().to_string()})).await;
        // Owned by the rep but about a person they do not reach: the name is not shown.
        let a_cross =
            activity(&app, &admin, json!({"kind": "note", "subject": "Cross", "customer_id": theirs["id"], "owner_id": rep_id})).await;
        activity(&app, &admin, json!({"kind": "note", "subject": "Pool", "customer_id": mine["id"], "owner_id": null})).await;

        assert_eq!(subjects(&app, &rep, "/api/v1/activities?sort=name").await, ["Cross", "Mine", "Pool"]);
        assert_eq!(subjects(&app, &other, "/api/v1/activities?sort=name").await, ["Pool", "Theirs"]);
        assert_eq!(subjects(&app, &admin, "/api/v1/activities?sort=name").await, ["Cross", "Mine", "Pool", "Theirs"]);
        assert_eq!(app.get_as(&rep, format!("/api/v1/activities/{}", a_theirs["id"])).await.status, StatusCode::NOT_FOUND);
        let cross = app.get_as(&rep, format!("/api/v1/activities/{}", a_cross["id"])).await;
        assert_eq!((cross.status, &cross.body["customer_id"], &cross.body["customer_name"]), (StatusCode::OK, &theirs["id"], &json!(null)));
        assert_eq!(app.get_as(&admin, format!("/api/v1/activities/{}", a_cross["id"])).await.body["customer_name"], "Other's person");
        assert_eq!(
            subjects(&app, &rep, &format!("/api/v1/tasks?assignee_id={other_id}")).await,
            Vec::<String>::new(),
            "not even through the task list"
        );
        assert_eq!(subjects(&app, &rep, "/api/v1/tasks").await, ["Mine"]);

        // Changing or completing what they do not reach is "not found"; linking to it is refused.
        let r = app.call(Method::POST, &format!("/api/v1/activities/{}/done", a_theirs["id"]), Some(&rep), None, &[]).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        let r = app
            .call(
                Method::POST,
                "/api/v1/activities",
                Some(&rep),
                Some(json!({"kind": "note", "subject": "x", "customer_id": theirs["id"]})),
                &[],
            )
            .await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec!["customer_id".to_string()]));
        // A rep gives tasks only to themselves or teammates (the owner follows the assignee).
        let r = app
            .call(
                Method::POST,
                "/api/v1/activities",
                Some(&rep),
                Some(json!({"kind": "task", "subject": "x", "customer_id": mine["id"], "assignee_id": other_id})),
                &[],
            )
            .await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::FORBIDDEN, vec!["owner_id".to_string()]));
        let viewer = app.user_token("viewer@example.com", Role::Viewer).await;
        let r = app
            .call(
                Method::POST,
                "/api/v1/activities",
                Some(&viewer),
                Some(json!({"kind": "note", "subject": "x", "customer_id": mine["id"]})),
                &[],
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "viewers do not log activities");
        assert_eq!(subjects(&app, &viewer, "/api/v1/activities?sort=name").await.len(), 4, "viewers read every activity");
    });
}
