//! Merging duplicate companies (issue 13 §5), as people merge: the survivor keeps the chosen
//! value of each field, the losers' people, orders, deals, activities, tickets and SLA policies
//! move to it in one transaction, each loser stays a tombstone naming it (410 on read,
//! `merged_into` in sync listings), the merge is audited and queued as `company.merged`, and
//! refusals write nothing. The company page offers look-alikes to merge; the merge page posts.

use axum::http::{Method, StatusCode, header};
use serde_json::{Value, json};

use crate::each_backend;
use crate::helpers::{ADMIN_EMAIL, Res, TestApp};
use crate::ui::{csrf_of, form, page, session};

async fn scalar(app: &TestApp, q: &str) -> i64 {
    use sqlx::Connection;
    let mut conn = sqlx::AnyConnection::connect(&app.url).await.unwrap();
    sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(q.to_string())).fetch_one(&mut conn).await.unwrap_or_else(|e| panic!("{q}: {e}"))
}

async fn merge(app: &TestApp, survivor: i64, body: Value, version: Option<i64>) -> Res {
    let v = version.map(|v| v.to_string());
    let headers: Vec<(&str, &str)> = v.as_deref().map(|v| vec![("if-match", v)]).unwrap_or_default();
    app.call(Method::POST, &format!("/api/v1/companies/{survivor}/merge"), Some(&app.token), Some(body), &headers).await
}

fn id(v: &Value) -> i64 {
    v["id"].as_i64().unwrap()
}

#[tokio::test]
async fn a_company_merge_moves_its_people_and_records_and_leaves_a_tombstone() {
    each_backend!(|app| {
        let hook = app.post("/api/v1/webhooks", json!({"url": "https://hooks.example.com/c", "events": ["company.merged"]})).await;
        assert_eq!(hook.status, StatusCode::CREATED, "{}", hook.body);
        let acme = app.company(json!({"name": "Acme", "industry": "Tools", "tags": ["key"]})).await;
        let dup =
            app.company(json!({"name": "ACME Ltd", "domain": "acme.example", "tags": ["partner"], "address": {"city": "Leeds"}})).await;
        let (a, d) = (id(&acme), id(&dup));
        let sync_from = rapport_domain::now_rfc3339();

        let ann = app.customer(json!({"name": "Ann Lee", "company_id": d})).await;
        app.customer(json!({"name": "Bo Kim", "company_id": a})).await;
        let widget = app.product("W-1", "Widget", 1000, "USD").await;
        let order = app
            .post(
                "/api/v1/orders",
                json!({"customer_id": ann["id"], "company_id": d, "order_date": "2026-11-02", "status": "paid", "lines": [{"product_id": widget["id"], "quantity": 1}]}),
            )
            .await;
        assert_eq!(order.status, StatusCode::CREATED, "{}", order.body);
        let order = order.body;
        let deal = app.post("/api/v1/opportunities", json!({"name": "Big deal", "currency": "USD", "company_id": d})).await;
        assert_eq!(deal.status, StatusCode::CREATED, "{}", deal.body);
        let act = app.post("/api/v1/activities", json!({"kind": "task", "subject": "Call back", "company_id": d})).await;
        assert_eq!(act.status, StatusCode::CREATED, "{}", act.body);
        let ticket = app.post("/api/v1/tickets", json!({"subject": "Broken", "customer_id": id(&ann), "company_id": d})).await;
        assert_eq!(ticket.status, StatusCode::CREATED, "{}", ticket.body);
        let sla = app.post("/api/v1/service/sla_policies", json!({"name": "Acme gold", "company_id": d, "resolution_minutes": 60})).await;
        assert_eq!(sla.status, StatusCode::CREATED, "{}", sla.body);

        let version = acme["version"].as_i64().unwrap();
        let r = merge(&app, a, json!({"losers": [d], "fields": {"name": a, "address.city": d}}), Some(version)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let s = &r.body;
        assert_eq!(s["name"], "Acme");
        assert_eq!(s["industry"], "Tools");
        assert_eq!(s["domain"], "acme.example", "the survivor had none: the loser's, though it was unique to the loser");
        assert_eq!(s["address"]["city"], "Leeds");
        let mut tags: Vec<String> = s["tags"].as_array().unwrap().iter().map(|t| t.as_str().unwrap().into()).collect();
        tags.sort();
        assert_eq!(tags, ["key", "partner"]);
        assert_eq!(r.header("etag"), format!("\"{}\"", s["version"]));

        // Everything of the loser's is the survivor's now, and its people are found by its name.
        for table in ["customers", "orders", "opportunities", "activities", "tickets", "sla_policies", "company_tags"] {
            assert_eq!(scalar(&app, &format!("SELECT COUNT(*) FROM {table} WHERE company_id = {d}")).await, 0, "{table}");
        }
        assert_eq!(app.get(&format!("/api/v1/customers/{}", id(&ann))).await.body["company_id"], a);
        assert_eq!(app.get(&format!("/api/v1/orders/{}", id(&order))).await.body["company_id"], a);
        assert_eq!(app.get(&format!("/api/v1/opportunities/{}", id(&deal.body))).await.body["company_id"], a);
        assert_eq!(app.get(&format!("/api/v1/tickets/{}", id(&ticket.body))).await.body["company_id"], a);
        assert_eq!(app.get(&format!("/api/v1/service/sla_policies/{}", id(&sla.body))).await.body["company_id"], a);
        let mut staff = app.people(&format!("company_id={a}")).await;
        staff.sort();
        assert_eq!(staff, ["Ann Lee", "Bo Kim"]);
        assert_eq!(app.people("q=acme").await.len(), 2, "people are searched by their company's name: {:?}", app.people("q=acme").await);

        // The loser: 410 naming the survivor, gone from lists, a tombstone with merged_into in sync.
        let gone = app.get(&format!("/api/v1/companies/{d}")).await;
        assert_eq!(gone.status, StatusCode::GONE, "{}", gone.body);
        assert_eq!(gone.body["merged_into"], a);
        assert_eq!(gone.header("location"), format!("/api/v1/companies/{a}"));
        assert_eq!(app.all_names("/api/v1/companies").await, ["Acme"]);
        let sync = app.get(&format!("/api/v1/companies?updated_since={sync_from}")).await;
        let tomb = sync.body["data"].as_array().unwrap().iter().find(|c| c["id"] == d).cloned().expect("the loser is in the sync listing");
        assert!(tomb["deleted_at"].is_string(), "{tomb}");
        assert_eq!(tomb["merged_into"], a);
        let moved = app.get(&format!("/api/v1/customers?updated_since={sync_from}")).await;
        assert!(
            moved.body["data"].as_array().unwrap().iter().any(|c| c["id"] == ann["id"] && c["company_id"] == a),
            "moved people sync again"
        );

        // Audited once, the loser's side pointing to the survivor; one webhook event.
        let audit = "SELECT COUNT(*) FROM audit_log WHERE object = 'company' AND";
        assert_eq!(scalar(&app, &format!("{audit} action = 'merge' AND record_id = {a}")).await, 1);
        assert_eq!(scalar(&app, &format!("{audit} action = 'merged_into' AND record_id = {d}")).await, 1);
        assert_eq!(
            scalar(&app, &format!("SELECT COUNT(*) FROM webhook_events WHERE event_type = 'company.merged' AND record_id = {a}")).await,
            1
        );

        // A merge into the tombstone, or of it again: refused.
        let other = app.company(json!({"name": "Other"})).await;
        let again = merge(&app, d, json!({"losers": [id(&other)]}), None).await;
        assert_eq!((again.status, again.body["merged_into"].as_i64()), (StatusCode::GONE, Some(a)), "{}", again.body);
        let twice = merge(&app, a, json!({"losers": [d]}), None).await;
        assert_eq!((twice.status, twice.error_fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec!["losers".to_string()]));
        // Merging the survivor on: the earlier tombstone follows, one hop from a live company.
        let r = merge(&app, id(&other), json!({"losers": [a]}), None).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(app.get(&format!("/api/v1/companies/{d}")).await.body["merged_into"], other["id"]);
    });
}

#[tokio::test]
async fn company_merge_refusals_name_the_field_and_write_nothing() {
    each_backend!(|app| {
        let a = app.company(json!({"name": "Beta"})).await;
        let b = app.company(json!({"name": "Beta Inc"})).await;
        let (ai, bi) = (id(&a), id(&b));
        let person = app.customer(json!({"name": "Cy", "company_id": bi})).await;
        let v = a["version"].as_i64().unwrap();

        let stale = merge(&app, ai, json!({"losers": [bi]}), Some(v + 5)).await;
        assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED, "{}", stale.body);
        let r = merge(&app, ai, json!({"losers": [bi], "fields": {"name": 999_999}}), Some(v)).await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec!["fields.name".to_string()]), "{}", r.body);
        let r = merge(&app, ai, json!({"losers": [bi], "fields": {"lifecycle_stage": ai}}), Some(v)).await;
        assert_eq!(r.error_fields(), ["fields.lifecycle_stage"], "a person's field, not a company's");
        let r = merge(&app, ai, json!({"losers": [ai]}), Some(v)).await;
        assert_eq!(r.error_fields(), ["losers"]);
        let r = merge(&app, ai, json!({"losers": []}), Some(v)).await;
        assert_eq!(r.error_fields(), ["losers"]);
        let r = merge(&app, ai, json!({"losers": [999_999]}), Some(v)).await;
        assert_eq!(r.error_fields(), ["losers"]);
        let c = app.company(json!({"name": "Gone Soon"})).await;
        assert_eq!(app.delete(&format!("/api/v1/companies/{}", id(&c))).await.status, StatusCode::NO_CONTENT);
        let r = merge(&app, id(&c), json!({"losers": [bi]}), None).await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec!["id".to_string()]), "{}", r.body);
        // A support agent, who may not delete companies, may not merge them.
        let rep = app.user_token("agent@example.com", rapport_domain::permissions::Role::SupportAgent).await;
        let r = app.call(Method::POST, &format!("/api/v1/companies/{ai}/merge"), Some(&rep), Some(json!({"losers": [bi]})), &[]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);

        assert_eq!(app.get(&format!("/api/v1/companies/{bi}")).await.body["version"], b["version"]);
        assert_eq!(app.get(&format!("/api/v1/companies/{ai}")).await.body["version"], v);
        assert_eq!(app.get(&format!("/api/v1/customers/{}", id(&person))).await.body["company_id"], bi);
        assert_eq!(scalar(&app, "SELECT COUNT(*) FROM audit_log WHERE action IN ('merge', 'merged_into')").await, 0);
    });
}

#[tokio::test]
async fn the_company_page_offers_look_alikes_and_the_merge_page_merges_them() {
    each_backend!(|app| {
        let cookie = session(&app, ADMIN_EMAIL).await;
        let a = app.company(json!({"name": "Gamma", "industry": "Retail", "address": {"city": "Paris"}})).await;
        let b = app.company(json!({"name": "GAMMA S.A.", "domain": "gamma.example", "address": {"city": "Lyon"}})).await;
        app.company(json!({"name": "Delta"})).await;
        let (ai, bi) = (id(&a), id(&b));
        let (status, html) = page(&app, &format!("/companies/{ai}"), &cookie).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("id=\"merge-company\"") && html.contains(&format!("<option value=\"{bi}\">")), "{html}");
        assert!(!html.contains("Delta"), "only look-alikes are offered: {html}");
        // Duplicate detection finds them, whatever their legal form; the data-quality page links their merge.
        let dups = app.get("/api/v1/duplicates?object=companies").await;
        assert_eq!(dups.status, StatusCode::OK, "{}", dups.body);
        assert_eq!(dups.body.as_array().unwrap().len(), 1, "{}", dups.body);
        assert_eq!((dups.body[0]["a"].as_i64(), dups.body[0]["b"].as_i64()), (Some(ai), Some(bi)));
        assert_eq!(dups.body[0]["reasons"], json!(["same_name"]));
        let same_domain = app.company(json!({"name": "Epsilon", "domain": "gamma.example.org"})).await;
        let again = app.company(json!({"name": "Zeta Holdings", "email": "sales@Gamma.example.org"})).await;
        app.company(json!({"name": "Eta", "email": "eta@gmail.com"})).await;
        app.company(json!({"name": "Theta", "email": "theta@gmail.com"})).await;
        let dups = app.get("/api/v1/duplicates?object=companies").await.body;
        let domain_pair = dups.as_array().unwrap().iter().find(|p| p["a"] == same_domain["id"]).cloned().expect("same domain");
        assert_eq!((domain_pair["b"].clone(), domain_pair["reasons"].clone()), (again["id"].clone(), json!(["same_domain"])));
        assert_eq!(dups.as_array().unwrap().len(), 2, "no pair of two gmail users: {dups}");
        let r = app.get("/api/v1/duplicates?object=tickets").await;
        assert_eq!((r.status, r.error_fields()), (StatusCode::BAD_REQUEST, vec!["object".to_string()]), "{}", r.body);
        let (_, html) = page(&app, "/data_quality", &cookie).await;
        assert!(html.contains(&format!("/companies/{ai}/merge?with={bi}")), "{html}");

        let (status, html) = page(&app, &format!("/companies/{ai}/merge?with={bi}"), &cookie).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert!(html.contains("id=\"merge-form\"") && html.contains("Paris") && html.contains("Lyon"), "{html}");
        assert!(html.contains(&format!("name=\"f.domain\" value=\"{bi}\" checked")), "a blank is filled from the other: {html}");
        let csrf = csrf_of(&html);
        let body = format!("_csrf={csrf}&with={bi}&version={}&f.name={ai}&f.address.city={bi}&f.domain={bi}&f.tags=", a["version"]);
        let (status, headers, text) = form(&app, &format!("/companies/{ai}/merge"), Some(&cookie), &body).await;
        assert!(status.is_redirection(), "{status}: {text}");
        assert_eq!(headers.get(header::LOCATION).unwrap(), &format!("/companies/{ai}"));
        let kept = app.get(&format!("/api/v1/companies/{ai}")).await.body;
        assert_eq!(
            (kept["name"].as_str(), kept["address"]["city"].as_str(), kept["domain"].as_str()),
            (Some("Gamma"), Some("Lyon"), Some("gamma.example"))
        );
        assert_eq!(app.get(&format!("/api/v1/companies/{bi}")).await.status, StatusCode::GONE);
        // A stale page is refused with the reason on the page.
        let c = app.company(json!({"name": "Gamma Two"})).await;
        let body = format!("_csrf={csrf}&with={}&version=1", id(&c));
        let (status, _, text) = form(&app, &format!("/companies/{ai}/merge"), Some(&cookie), &body).await;
        assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{text}");
        assert!(text.contains("id=\"merge-form\""), "{text}");
    });
}
