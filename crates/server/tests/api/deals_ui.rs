//! The sales pages: the pipeline board and its drag-and-drop endpoint (session cookie, CSRF,
//! the card's version as If-Match), the deal page, and the pipeline editor.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use rapport_domain::permissions::Role;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::each_backend;
use crate::helpers::{ADMIN_EMAIL, TestApp};
use crate::opportunities::{deal, user_id};
use crate::ui::{csrf_of, form, page, session};

/// Posts a move as the board's script does (form body, `Accept: application/json`).
async fn drag(app: &TestApp, cookie: &str, id: &Value, body: &str) -> (StatusCode, Value) {
    let req = Request::post(format!("/opportunities/{id}/move"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "application/json")
        .header(header::COOKIE, cookie)
        .body(Body::from(body.to_string()))
        .unwrap();
    let res = app.router.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = axum::body::to_bytes(res.into_body(), usize::MAX).await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// The number shown in a column's head, read from the board's HTML.
fn column_count(html: &str, stage: &str) -> i64 {
    let at = html.find(&format!("data-stage=\"{stage}\" data-outcome")).expect("the column");
    let rest = &html[at..];
    let c = rest.find("class=\"count\">").unwrap() + 14;
    rest[c..rest[c..].find('<').unwrap() + c].parse().unwrap()
}

#[tokio::test]
async fn the_board_moves_deals_by_drag_and_refuses_stale_or_closed_moves() {
    each_backend!(|app| {
        let rep = app.user_token("rep@example.com", Role::SalesRep).await;
        let other = app.user_token("other@example.com", Role::SalesRep).await;
        let mine = deal(&app, &rep, json!({"name": "Rep deal", "currency": "USD", "amount_minor": 420000, "stage": "proposal"})).await;
        deal(&app, &rep, json!({"name": "Rep small", "currency": "USD", "amount_minor": 100, "stage": "proposal"})).await;
        deal(&app, &other, json!({"name": "Somebody else's", "currency": "USD", "amount_minor": 999, "stage": "proposal"})).await;
        let cookie = session(&app, "rep@example.com").await;
        let (status, html) = page(&app, "/pipelines/1/board", &cookie).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert!(html.contains("Rep deal") && html.contains("4,200.00 USD"), "{html}");
        assert!(!html.contains("Somebody else"), "the board shows only deals the rep may see");
        assert_eq!((column_count(&html, "proposal"), column_count(&html, "won")), (2, 0));
        assert!(html.find("Rep deal").unwrap() < html.find("Rep small").unwrap(), "largest first");
        let csrf = csrf_of(&html);
        let v = mine["version"].as_i64().unwrap();

        let (status, _) = drag(&app, &cookie, &mine["id"], &format!("stage=negotiation&version={v}")).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "no CSRF token, no move");
        let (status, card) = drag(&app, &cookie, &mine["id"], &format!("_csrf={csrf}&stage=negotiation&version={v}")).await;
        assert_eq!(status, StatusCode::OK, "{card}");
        assert_eq!((card["stage"].as_str(), card["version"].as_i64()), (Some("negotiation"), Some(v + 1)));
        assert!(card["html"].as_str().unwrap().contains(&format!("data-version=\"{}\"", v + 1)));
        // A second browser still holding the old version is told someone moved it first.
        let (status, problem) = drag(&app, &cookie, &mine["id"], &format!("_csrf={csrf}&stage=qualification&version={v}")).await;
        assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{problem}");
        assert_eq!(problem["status"], 412);
        let (_, now) = page(&app, &format!("/opportunities/{}/card", mine["id"]), &cookie).await;
        assert!(now.contains("\"stage\":\"negotiation\""), "the card reloads where it is: {now}");
        // Losing needs a reason; a won deal needs a reopen.
        let (status, problem) = drag(&app, &cookie, &mine["id"], &format!("_csrf={csrf}&stage=lost&version={}", v + 1)).await;
        assert_eq!((status, problem["errors"][0]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("lost_reason")));
        let (status, card) = drag(&app, &cookie, &mine["id"], &format!("_csrf={csrf}&stage=won&version={}", v + 1)).await;
        assert_eq!((status, card["status"].as_str()), (StatusCode::OK, Some("won")));
        assert!(card["html"].as_str().unwrap().contains("Reopen"), "a closed card offers reopen");
        let (status, problem) = drag(&app, &cookie, &mine["id"], &format!("_csrf={csrf}&stage=proposal&version={}", v + 2)).await;
        assert_eq!((status, problem["allowed_actions"].clone()), (StatusCode::CONFLICT, json!(["reopen"])), "{problem}");
        let (status, card) = drag(&app, &cookie, &mine["id"], &format!("_csrf={csrf}&stage=proposal&reopen=1&version={}", v + 2)).await;
        assert_eq!((status, card["status"].as_str()), (StatusCode::OK, Some("open")), "{card}");
        // Nor may a rep move someone else's deal through the board.
        let theirs = app.get_as(&other, "/api/v1/opportunities").await.body["data"][0].clone();
        let (status, _) = drag(&app, &cookie, &theirs["id"], &format!("_csrf={csrf}&stage=won&version=1")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        // The history has every move, by the rep.
        let h = app.get_as(&rep, format!("/api/v1/opportunities/{}/history", mine["id"])).await;
        let rep_id = user_id(&app, &rep).await;
        let moves: Vec<(&str, i64)> = h.body["changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c["to_stage"].as_str().unwrap(), c["actor_id"].as_i64().unwrap()))
            .collect();
        assert_eq!(moves, [("proposal", rep_id), ("negotiation", rep_id), ("won", rep_id), ("proposal", rep_id)]);
    });
}

#[tokio::test]
async fn a_column_shows_its_first_cards_and_the_rest_on_demand() {
    each_backend!(|app| {
        let batch: Vec<Value> =
            (0..57).map(|i| json!({"name": format!("Deal {i:02}"), "currency": "EUR", "amount_minor": 1000 + i})).collect();
        for b in batch {
            deal(&app, &app.token, b).await;
        }
        let cookie = session(&app, ADMIN_EMAIL).await;
        let (_, html) = page(&app, "/pipelines/1/board", &cookie).await;
        assert_eq!(column_count(&html, "qualification"), 57);
        assert!(html.contains("Deal 56") && !html.contains("Deal 06"), "the 50 largest first");
        let total: i64 = (0..57).map(|i| 1000 + i).sum();
        assert!(html.contains(&format!("{}.{:02} EUR", total / 100, total % 100)), "the column's total");
        let at = html.find("data-more").unwrap();
        let href = &html[html[..at].rfind("href=\"").unwrap() + 6..];
        let href = href[..href.find('"').unwrap()].replace("&amp;", "&").replace("&#38;", "&");
        let (status, more) = page(&app, &href, &cookie).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(more.matches("<article class=\"deal").count(), 7, "{more}");
        assert!(more.contains("Deal 00") && !more.contains("data-more"));
    });
}

#[tokio::test]
async fn the_deal_page_shows_its_history_and_moves_without_script() {
    each_backend!(|app| {
        let company = app.company(json!({"name": "Initech"})).await;
        let d =
            deal(&app, &app.token, json!({"name": "TPS upgrade", "currency": "USD", "amount_minor": 990000, "company_id": company["id"]}))
                .await;
        let cookie = session(&app, ADMIN_EMAIL).await;
        let (status, html) = page(&app, &format!("/opportunities/{}", d["id"]), &cookie).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("Initech") && html.contains("9,900.00 USD") && html.contains("Stage history"), "{html}");
        assert!(
            html.contains(&format!("/pipelines/1/win_probability.json?opportunity={}", d["id"])),
            "the page fetches its win probability"
        );
        let (status, win) = page(&app, &format!("/pipelines/1/win_probability.json?opportunity={}", d["id"]), &cookie).await;
        assert_eq!(status, StatusCode::OK);
        assert!(win.contains("\"ok\":false") && win.contains("needs at least 20"), "it says why there is none yet: {win}");
        let csrf = csrf_of(&html);
        let (status, headers, _) =
            form(&app, &format!("/opportunities/{}/move", d["id"]), Some(&cookie), &format!("_csrf={csrf}&stage=lost&version=1")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{headers:?}");
        let (status, headers, _) = form(
            &app,
            &format!("/opportunities/{}/move", d["id"]),
            Some(&cookie),
            &format!("_csrf={csrf}&stage=lost&lost_reason=No+budget&version=1"),
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(headers.get(header::LOCATION).unwrap(), &format!("/opportunities/{}", d["id"]));
        let (_, html) = page(&app, &format!("/opportunities/{}", d["id"]), &cookie).await;
        assert!(html.contains("No budget") && html.contains("Cycle length") && html.contains("Reopen into"), "{html}");
        // The shared list and form serve deals too.
        let (status, list) = page(&app, "/opportunities?status=lost", &cookie).await;
        assert_eq!(status, StatusCode::OK);
        assert!(list.contains("TPS upgrade"));
        let (status, headers, _) = form(
            &app,
            "/opportunities/new",
            Some(&cookie),
            &format!("_csrf={csrf}&name=From+the+form&amount_minor=1%2C250.50&currency=usd&pipeline_id=1&version=0"),
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{headers:?}");
        let created = app.get("/api/v1/opportunities?q=form").await;
        assert_eq!(
            (created.body["data"][0]["amount_minor"].as_i64(), created.body["data"][0]["stage"].as_str()),
            (Some(125050), Some("qualification"))
        );
    });
}

#[tokio::test]
async fn admins_edit_pipeline_stages_in_the_ui() {
    each_backend!(|app| {
        let cookie = session(&app, ADMIN_EMAIL).await;
        let (status, html) = page(&app, "/admin/pipelines", &cookie).await;
        assert_eq!(status, StatusCode::OK);
        let csrf = csrf_of(&html);
        let (status, headers, _) = form(&app, "/admin/pipelines", Some(&cookie), &format!("_csrf={csrf}&name=Partners")).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let edit = headers.get(header::LOCATION).unwrap().to_str().unwrap().to_string();
        let id: i64 = edit.rsplit('/').next().unwrap().parse().unwrap();
        deal(&app, &app.token, json!({"name": "Partner deal", "currency": "USD", "pipeline_id": id, "stage": "proposal"})).await;
        // Rename "Proposal", drop "Needs analysis", add "Pilot" after Qualification.
        let body = format!(
            "_csrf={csrf}&version=1&name=Partners&\
             stage.0.key=qualification&stage.0.name=Qualification&stage.0.probability=10&stage.0.position=1&\
             stage.1.key=needs_analysis&stage.1.name=Needs+analysis&stage.1.probability=25&stage.1.position=2&stage.1.remove=on&\
             stage.2.key=proposal&stage.2.name=Offer&stage.2.probability=55&stage.2.position=4&\
             stage.3.key=negotiation&stage.3.name=Negotiation&stage.3.probability=75&stage.3.position=5&\
             stage.4.key=won&stage.4.name=Won&stage.4.probability=100&stage.4.position=6&\
             stage.5.key=lost&stage.5.name=Lost&stage.5.probability=0&stage.5.position=7&\
             stage.6.key=&stage.6.name=Pilot&stage.6.probability=40&stage.6.outcome=open&stage.6.position=3&\
             stage.7.key=&stage.7.name=&stage.7.probability=&stage.7.outcome=open&stage.7.position=8"
        );
        let (status, _, page_html) = form(&app, &edit, Some(&cookie), &body).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{page_html}");
        let p = app.get(&format!("/api/v1/pipelines/{id}")).await.body;
        let stages: Vec<(&str, &str, i64)> = p["stages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| (s["key"].as_str().unwrap(), s["name"].as_str().unwrap(), s["probability"].as_i64().unwrap()))
            .collect();
        assert_eq!(
            stages,
            [
                ("qualification", "Qualification", 10),
                ("pilot", "Pilot", 40),
                ("proposal", "Offer", 55),
                ("negotiation", "Negotiation", 75),
                ("won", "Won", 100),
                ("lost", "Lost", 0)
            ]
        );
        // Removing the stage the deal is in is refused, and says so.
        let body = body
            .replace("version=1", "version=2")
            .replace("stage.2.position=4&", "stage.2.position=4&stage.2.remove=on&")
            .replace("stage.6.key=&", "stage.6.key=pilot&");
        let (status, _, html) = form(&app, &edit, Some(&cookie), &body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("cannot remove stage") && html.contains("proposal") && html.contains("(1 opportunities)"), "{html}");
        // Bad values name the stage.
        let (status, _, html) = form(
            &app,
            &edit,
            Some(&cookie),
            &body.replace("stage.2.remove=on&", "").replace("stage.3.probability=75", "stage.3.probability=lots"),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("Negotiation") && html.contains(": probability must be from 0 to 100"), "{html}");
        // A rep reads the list but cannot change it.
        app.user_token("rep@example.com", Role::SalesRep).await;
        let rep = session(&app, "rep@example.com").await;
        let (status, html) = page(&app, "/admin/pipelines", &rep).await;
        assert!(status == StatusCode::OK && html.contains("Partners") && !html.contains("Create pipeline"));
        let rep_csrf = csrf_of(&html);
        let (status, _, _) = form(&app, "/admin/pipelines", Some(&rep), &format!("_csrf={rep_csrf}&name=Mine")).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    });
}
