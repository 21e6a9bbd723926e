//! Issue 11 §4 and the replying notice: followers of a ticket, merging duplicates into a
//! survivor (the merged one a tombstone pointing at it), splitting a message off into a child
//! ticket, and agents seeing who else is replying.

use axum::http::{Method, StatusCode};
use rapport_domain::permissions::Role;
use serde_json::{Value, json};
use sqlx::Connection;

use crate::each_backend;
use crate::helpers::TestApp;

async fn ticket(app: &TestApp, token: &str, body: Value) -> Value {
    let r = app.call(Method::POST, "/api/v1/tickets", Some(token), Some(body.clone()), &[]).await;
    assert_eq!(r.status, StatusCode::CREATED, "{body}: {}", r.body);
    r.body
}

async fn say(app: &TestApp, t: &Value, body: &str) -> Value {
    let r = app.post(&format!("/api/v1/tickets/{}/messages", t["id"]), json!({"body": body})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body
}

fn bodies(v: &Value) -> Vec<String> {
    v.as_array().unwrap().iter().map(|m| m["body"].as_str().unwrap().to_string()).collect()
}

fn ids(v: &Value, key: &str) -> Vec<i64> {
    v.as_array().unwrap().iter().map(|m| m[key].as_i64().unwrap()).collect()
}

async fn audit(app: &TestApp, id: i64) -> Vec<String> {
    let a = app.get(&format!("/api/v1/audit_log?object=ticket&record_id={id}")).await.body;
    a.as_array().unwrap().iter().filter_map(|e| e["action"].as_str().map(String::from)).collect()
}

async fn merge(app: &TestApp, from: &Value, into: Value) -> crate::helpers::Res {
    app.post(&format!("/api/v1/tickets/{}/merge", from["id"]), json!({"into": into})).await
}

#[tokio::test]
async fn followers_are_added_and_removed_and_count_as_contacts_of_the_ticket() {
    each_backend!(|app| {
        let ann = app.customer(json!({"name": "Ann Lee"})).await;
        let bob = app.customer(json!({"name": "Bob Ray"})).await;
        let t = ticket(&app, &app.token, json!({"subject": "VPN down", "customer_id": ann["id"]})).await;
        let path = format!("/api/v1/tickets/{}/contacts", t["id"]);
        let r = app.post(&path, json!({"customer_id": bob["id"]})).await;
        assert_eq!((r.status, r.body["name"].as_str()), (StatusCode::CREATED, Some("Bob Ray")), "{}", r.body);
        let again = app.post(&path, json!({"customer_id": bob["id"]})).await;
        assert_eq!(again.status, StatusCode::OK, "following twice changes nothing");
        let r = app.post(&path, json!({"customer_id": ann["id"]})).await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec!["customer_id".to_string()]));
        let r = app.post(&path, json!({"customer_id": 999_999})).await;
        assert_eq!(r.error_fields(), ["customer_id"]);
        let r = app.post(&path, json!({})).await;
        assert_eq!(r.error_fields(), ["customer_id"]);
        assert_eq!(ids(&app.get(&path).await.body, "customer_id"), [bob["id"].as_i64().unwrap()]);

        // The store's view for email threading: the person first, then the followers.
        let (tid, ann_id, bob_id) = (t["id"].as_i64().unwrap(), ann["id"].as_i64().unwrap(), bob["id"].as_i64().unwrap());
        assert_eq!(app.store.ticket_contact_ids(tid).await.unwrap(), [ann_id, bob_id]);
        assert!(app.store.is_ticket_contact(tid, bob_id).await.unwrap());

        // Reps read the followers but do not change them.
        let rep = app.user_token("rep@example.com", Role::SalesRep).await;
        assert_eq!(app.get_as(&rep, &path).await.status, StatusCode::OK);
        let r = app.call(Method::DELETE, &format!("{path}/{bob_id}"), Some(&rep), None, &[]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);

        assert_eq!(app.delete(&format!("{path}/{bob_id}")).await.status, StatusCode::NO_CONTENT);
        assert_eq!(app.delete(&format!("{path}/{bob_id}")).await.status, StatusCode::NOT_FOUND);
        assert!(!app.store.is_ticket_contact(tid, bob_id).await.unwrap());
        let audit = app.get(&format!("/api/v1/audit_log?object=ticket&record_id={tid}")).await;
        let actions: Vec<&str> = audit.body.as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
        assert_eq!(actions, ["follower_remove", "follower_add", "create"]);
    });
}

#[tokio::test]
async fn a_merge_moves_everything_to_the_survivor_and_leaves_a_tombstone_pointing_at_it() {
    each_backend!(|app| {
        let ann = app.customer(json!({"name": "Ann Lee"})).await;
        let bob = app.customer(json!({"name": "Bob Ray"})).await;
        let cy = app.customer(json!({"name": "Cy Tan"})).await;
        let survivor = ticket(&app, &app.token, json!({"subject": "Invoice wrong", "customer_id": ann["id"], "tags": ["billing"]})).await;
        let dup = ticket(&app, &app.token, json!({"subject": "Invoice is wrong!!", "customer_id": bob["id"], "tags": ["urgent"]})).await;
        app.post(&format!("/api/v1/tickets/{}/contacts", dup["id"]), json!({"customer_id": cy["id"]})).await;
        say(&app, &survivor, "Looking into it").await;
        say(&app, &dup, "Same as the other one?").await;
        let child = ticket(&app, &app.token, json!({"subject": "child", "customer_id": bob["id"]})).await;
        let m = say(&app, &child, "split me").await;
        let grandchild = app.post(&format!("/api/v1/tickets/{}/split", child["id"]), json!({"message_id": m["id"]})).await.body;
        // The duplicate gets a child of its own, which moves to the survivor with the merge.
        let dm = say(&app, &dup, "A second question").await;
        let dup_child = app.post(&format!("/api/v1/tickets/{}/split", dup["id"]), json!({"message_id": dm["id"]})).await;
        assert_eq!(dup_child.status, StatusCode::CREATED, "{}", dup_child.body);
        assert_eq!(grandchild["parent_id"], child["id"]);

        let (sid, did) = (survivor["id"].as_i64().unwrap(), dup["id"].as_i64().unwrap());
        let r = app.post(&format!("/api/v1/tickets/{did}/merge"), json!({"into": sid})).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(r.body["id"].as_i64(), Some(sid));
        assert_eq!(r.body["tags"], json!(["billing", "urgent"]));

        // The conversation, oldest first, with both tickets' messages and the merge note.
        let conv = app.get(&format!("/api/v1/tickets/{sid}/messages")).await.body;
        assert_eq!(
            bodies(&conv),
            [
                "Looking into it".to_string(),
                "Same as the other one?".to_string(),
                format!("A message was split off into ticket #{}.", dup_child.body["id"]),
                format!("Ticket #{did} “Invoice is wrong!!” was merged into this ticket."),
            ]
        );
        // The history keeps the merged ticket's steps, marked as from it.
        let h = app.get(&format!("/api/v1/tickets/{sid}/history")).await.body;
        let marks: Vec<Option<i64>> = h.as_array().unwrap().iter().map(|c| c["merged_from_id"].as_i64()).collect();
        assert_eq!(marks, [None, Some(did)]);
        // …and so does the survivor's person's timeline.
        let tl = app.get(&format!("/api/v1/customers/{}/timeline?limit=50", ann["id"])).await.body;
        let summaries: Vec<&str> = tl["data"].as_array().unwrap().iter().filter_map(|e| e["summary"].as_str()).collect();
        assert!(summaries.contains(&format!("Opened (new) (as #{did}, merged)").as_str()), "{summaries:?}");
        // Followers: the duplicate's person and its followers.
        let f = app.get(&format!("/api/v1/tickets/{sid}/contacts")).await.body;
        let mut followers = ids(&f, "customer_id");
        followers.sort();
        assert_eq!(followers, [bob["id"].as_i64().unwrap(), cy["id"].as_i64().unwrap()]);
        assert!(app.store.is_ticket_contact(sid, cy["id"].as_i64().unwrap()).await.unwrap());
        // The duplicate's child is now the survivor's.
        let kids = app.get(&format!("/api/v1/tickets?parent_id={sid}")).await.body;
        assert_eq!(ids(&kids["data"], "id"), [dup_child.body["id"].as_i64().unwrap()]);

        // GET on the merged ticket points at the survivor; it is gone from lists.
        let r = app.get(&format!("/api/v1/tickets/{did}")).await;
        assert_eq!((r.status, r.header("location")), (StatusCode::PERMANENT_REDIRECT, format!("/api/v1/tickets/{sid}").as_str()));
        assert_eq!(r.body["merged_into_id"].as_i64(), Some(sid));
        let live = app.get("/api/v1/tickets?limit=50").await.body;
        assert!(!ids(&live["data"], "id").contains(&did));
        // A sync client sees it as a tombstone naming the survivor.
        let sync = app.get("/api/v1/tickets?updated_since=2000-01-01T00:00:00Z&limit=50").await;
        assert_eq!(sync.status, StatusCode::OK, "{}", sync.body);
        let tomb = sync.body["data"].as_array().unwrap().iter().find(|t| t["id"].as_i64() == Some(did)).cloned().unwrap();
        assert!(tomb["deleted_at"].is_string());
        assert_eq!(tomb["merged_into_id"].as_i64(), Some(sid));

        // Audited on both tickets.
        assert_eq!(audit(&app, did).await[0], "merge");
        assert!(audit(&app, sid).await.contains(&"merge_into".to_string()));
    });
}

#[tokio::test]
async fn bad_merges_are_refused_clearly_and_change_nothing() {
    each_backend!(|app| {
        let ann = app.customer(json!({"name": "Ann Lee"})).await;
        let a = ticket(&app, &app.token, json!({"subject": "A", "customer_id": ann["id"]})).await;
        let b = ticket(&app, &app.token, json!({"subject": "B", "customer_id": ann["id"]})).await;
        let c = ticket(&app, &app.token, json!({"subject": "C", "customer_id": ann["id"]})).await;
        say(&app, &a, "hello").await;
        let r = merge(&app, &a, a["id"].clone()).await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec!["into".to_string()]));
        assert!(r.body["detail"].as_str().unwrap_or_default().contains("itself") || r.body.to_string().contains("itself"), "{}", r.body);
        let r = merge(&app, &a, json!(999_999)).await;
        assert_eq!(r.error_fields(), ["into"]);
        let r = app.post(&format!("/api/v1/tickets/{}/merge", a["id"]), json!({})).await;
        assert_eq!(r.error_fields(), ["into"]);
        // Into a merged ticket: the refusal names where it went.
        assert_eq!(merge(&app, &b, c["id"].clone()).await.status, StatusCode::OK);
        let r = merge(&app, &a, b["id"].clone()).await;
        assert_eq!(r.error_fields(), ["into"]);
        assert!(r.body.to_string().contains(&format!("merge into #{} instead", c["id"])), "{}", r.body);
        // Into a deleted one.
        let d = ticket(&app, &app.token, json!({"subject": "D", "customer_id": ann["id"]})).await;
        assert_eq!(app.delete(&format!("/api/v1/tickets/{}", d["id"])).await.status, StatusCode::NO_CONTENT);
        assert_eq!(merge(&app, &a, d["id"].clone()).await.error_fields(), ["into"]);
        // A merged ticket cannot be merged again.
        assert_eq!(merge(&app, &b, a["id"].clone()).await.status, StatusCode::NOT_FOUND);
        // Without the right to change tickets.
        let rep = app.user_token("rep@example.com", Role::SalesRep).await;
        let r =
            app.call(Method::POST, &format!("/api/v1/tickets/{}/merge", a["id"]), Some(&rep), Some(json!({"into": c["id"]})), &[]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        // Nothing moved.
        assert_eq!(bodies(&app.get(&format!("/api/v1/tickets/{}/messages", a["id"])).await.body), ["hello"]);
        assert_eq!(app.get(&format!("/api/v1/tickets/{}", a["id"])).await.status, StatusCode::OK);
    });
}

#[tokio::test]
async fn a_split_moves_one_message_into_a_child_ticket() {
    each_backend!(|app| {
        let acme = app.company(json!({"name": "Acme"})).await;
        let ann = app.customer(json!({"name": "Ann Lee", "company_id": acme["id"]})).await;
        let p = ticket(
            &app,
            &app.token,
            json!({"subject": "Two problems", "customer_id": ann["id"], "company_id": acme["id"], "priority": "high", "category": "it"}),
        )
        .await;
        say(&app, &p, "Printer broken").await;
        let second = say(&app, &p, "Also my laptop").await;
        let path = format!("/api/v1/tickets/{}/split", p["id"]);
        let r = app.post(&path, json!({"message_id": second["id"]})).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let child = r.body;
        assert_eq!(r.headers["location"], format!("/api/v1/tickets/{}", child["id"]).as_str());
        assert_eq!(
            (child["subject"].as_str(), child["parent_id"].as_i64(), child["status"].as_str()),
            (Some(format!("Two problems (split from #{})", p["id"]).as_str()), p["id"].as_i64(), Some("new"))
        );
        assert_eq!(
            (child["priority"].as_str(), child["category"].as_str(), child["company_id"].clone()),
            (Some("high"), Some("it"), acme["id"].clone())
        );
        let kept = bodies(&app.get(&format!("/api/v1/tickets/{}/messages", p["id"])).await.body);
        assert_eq!(kept, ["Printer broken".to_string(), format!("A message was split off into ticket #{}.", child["id"])]);
        let moved = bodies(&app.get(&format!("/api/v1/tickets/{}/messages", child["id"])).await.body);
        assert_eq!(moved, ["Also my laptop".to_string(), format!("Split off ticket #{} “Two problems”.", p["id"])]);
        let kids = app.get(&format!("/api/v1/tickets?parent_id={}", p["id"])).await.body;
        assert_eq!(ids(&kids["data"], "id"), [child["id"].as_i64().unwrap()]);

        // A message of another ticket, or none.
        let r = app.post(&path, json!({"message_id": second["id"]})).await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec!["message_id".to_string()]));
        assert_eq!(app.post(&path, json!({})).await.error_fields(), ["message_id"]);
        let r = app.post(&path, json!({"message_id": 1, "subject": "x", "extra": 1})).await;
        assert!(r.status.is_client_error());
        let audit = app.get(&format!("/api/v1/audit_log?object=ticket&record_id={}", p["id"])).await.body;
        assert_eq!(audit[0]["action"], "split");
    });
}

#[tokio::test]
async fn agents_see_who_else_is_replying_until_it_expires() {
    each_backend!(|app| {
        let ann = app.customer(json!({"name": "Ann Lee"})).await;
        let t = ticket(&app, &app.token, json!({"subject": "Help", "customer_id": ann["id"]})).await;
        let sam = app.user_token("sam@example.com", Role::SupportAgent).await;
        let path = format!("/api/v1/tickets/{}/presence", t["id"]);
        let r = app.call(Method::POST, &path, Some(&sam), Some(json!({})), &[]).await;
        assert_eq!((r.status, r.body.clone()), (StatusCode::OK, json!([])), "nobody else yet");
        // The admin sees Sam replying, on the ticket and in the presence list; Sam does not see himself.
        let got = app.get(&format!("/api/v1/tickets/{}", t["id"])).await.body;
        let names: Vec<&str> = got["replying"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
        assert_eq!(names.len(), 1);
        let sam_name = names[0].to_string();
        let r = app.post(&path, json!({"replying": true})).await;
        assert_eq!(r.body[0]["name"].as_str(), Some(sam_name.as_str()));
        let r = app.get_as(&sam, format!("/api/v1/tickets/{}", t["id"])).await;
        assert_eq!(r.body["replying"].as_array().map(|a| a.len()), Some(1), "Sam sees the admin, not himself");
        // Stopping takes Sam off at once; a notice left behind expires by itself.
        app.call(Method::POST, &path, Some(&sam), Some(json!({"replying": false})), &[]).await;
        assert_eq!(app.get(&path).await.body, json!([]));
        app.call(Method::POST, &path, Some(&sam), Some(json!({})), &[]).await;
        assert_eq!(app.get(&path).await.body.as_array().unwrap().len(), 1);
        let mut conn = sqlx::AnyConnection::connect(&app.url).await.unwrap();
        sqlx::raw_sql("UPDATE ticket_presence SET expires_at = '2000-01-01T00:00:00.000000Z'").execute(&mut conn).await.unwrap();
        assert_eq!(app.get(&path).await.body, json!([]), "expired");
        // Readers without the right to change tickets do not announce replies.
        let rep = app.user_token("rep@example.com", Role::SalesRep).await;
        assert_eq!(app.call(Method::POST, &path, Some(&rep), Some(json!({})), &[]).await.status, StatusCode::FORBIDDEN);
    });
}

#[tokio::test]
async fn tickets_are_linked_as_parent_and_child_without_loops() {
    each_backend!(|app| {
        let ann = app.customer(json!({"name": "Ann Lee"})).await;
        let a = ticket(&app, &app.token, json!({"subject": "Outage", "customer_id": ann["id"]})).await;
        let b = ticket(&app, &app.token, json!({"subject": "Email down", "customer_id": ann["id"]})).await;
        let c = ticket(&app, &app.token, json!({"subject": "Mailbox full", "customer_id": ann["id"]})).await;
        let link = |t: &Value| format!("/api/v1/tickets/{}/parent", t["id"]);
        let r = app.call(Method::PUT, &link(&b), Some(&app.token), Some(json!({"parent_id": a["id"]})), &[]).await;
        assert_eq!((r.status, r.body["parent_id"].clone()), (StatusCode::OK, a["id"].clone()), "{}", r.body);
        let r = app.call(Method::PUT, &link(&c), Some(&app.token), Some(json!({"parent_id": b["id"]})), &[]).await;
        assert_eq!(r.status, StatusCode::OK);
        // A descendant, the ticket itself or an unknown one cannot be the parent.
        for bad in [c["id"].clone(), a["id"].clone(), json!(999_999)] {
            let r = app.call(Method::PUT, &link(&a), Some(&app.token), Some(json!({"parent_id": bad})), &[]).await;
            assert_eq!((r.status, r.error_fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec!["parent_id".to_string()]), "{bad}");
        }
        let kids = app.get(&format!("/api/v1/tickets?parent_id={}", a["id"])).await.body;
        assert_eq!(ids(&kids["data"], "id"), [b["id"].as_i64().unwrap()]);
        let r = app.call(Method::PUT, &link(&b), Some(&app.token), Some(json!({"parent_id": null})), &[]).await;
        assert_eq!((r.status, r.body["parent_id"].clone()), (StatusCode::OK, Value::Null));
        assert_eq!(audit(&app, b["id"].as_i64().unwrap()).await[..2], ["link_parent", "link_parent"]);
    });
}
