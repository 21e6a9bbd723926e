//! The sales dashboard and the targets pages (issue 9 §5): the reports' numbers, charts and
//! forecast band on the page, narrowed by its form and by what the reader may see.

use axum::http::{Method, StatusCode};
use rapport_domain::permissions::Role;
use serde_json::{Value, json};

use crate::analytics::run;
use crate::each_backend;
use crate::helpers::TestApp;
use crate::opportunities::user_id;
use crate::targets::won;
use crate::ui::{csrf_of, form, page, session};

/// The HTML of the element with `id` (up to its closing tag of the same name).
fn section<'a>(html: &'a str, id: &str, tag: &str) -> &'a str {
    let at = html.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("#{id} in the page"));
    let end = html[at..].find(&format!("</{tag}>")).map(|e| at + e).unwrap_or(html.len());
    &html[at..end]
}

async fn name_of(app: &TestApp, token: &str) -> String {
    app.call(Method::GET, "/api/v1/users/me", Some(token), None, &[]).await.body["name"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn the_dashboard_draws_the_reports_with_their_numbers_within_reach() {
    each_backend!(|app| {
        let rep = app.user_token("rep@example.com", Role::SalesRep).await;
        let mate = app.user_token("mate@example.com", Role::SalesRep).await;
        let (rep_id, mate_id) = (user_id(&app, &rep).await, user_id(&app, &mate).await);
        let (rep_name, mate_name) = (name_of(&app, &rep).await, name_of(&app, &mate).await);
        let open = json!({"name": "Open one", "amount_minor": 250_000, "currency": "USD", "stage": "proposal",
            "expected_close_date": "2099-02-10", "owner_id": rep_id});
        assert_eq!(app.post("/api/v1/opportunities", open).await.status, StatusCode::CREATED);
        won(&app, rep_id, 500_000, "USD", "2099-01-15").await;
        won(&app, mate_id, 200_000, "USD", "2099-02-15").await;
        let lost = json!({"name": "Lost one", "amount_minor": 1, "currency": "USD", "stage": "lost", "lost_reason": "Budget",
            "closed_at": "2099-03-01", "owner_id": rep_id});
        assert_eq!(app.post("/api/v1/opportunities", lost).await.status, StatusCode::CREATED);
        let t = app
            .post(
                "/api/v1/targets",
                json!({"user_id": rep_id, "period": "2099-Q1", "amount_minor": 700_000, "currency": "USD", "measure": "won_opportunities"}),
            )
            .await;
        assert_eq!(t.status, StatusCode::CREATED, "{}", t.body);

        let admin = session(&app, crate::helpers::ADMIN_EMAIL).await;
        let (status, html) = page(&app, "/dashboard?period=2099-Q1", &admin).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert!(html.contains("href=\"/dashboard\">Dashboard</a>"), "the nav links it");
        for chart in ["pipeline-chart", "win-rate-chart", "funnel-chart", "leaderboard-card"] {
            assert!(section(&html, chart, "section").contains("<svg"), "{chart} is drawn");
        }
        let board = section(&html, "leaderboard", "table");
        let rep_row = board.find(&rep_name).map(|i| &board[i..board[i..].find("</tr>").unwrap() + i]).expect("the rep's row");
        // 5,000.00 won of 7,000.00: 71.4 %.
        assert!(rep_row.contains("5,000.00 USD") && rep_row.contains("7,000.00 USD") && rep_row.contains("71.4 %"), "{rep_row}");
        assert!(board.find(&mate_name).unwrap() > board.find(&rep_name).unwrap(), "with a target first, the mate without one after");
        let pipeline = section(&html, "pipeline-table", "table");
        assert!(
            pipeline.contains("data-stage=\"proposal\"") && pipeline.contains("2,500.00 USD") && pipeline.contains("1,250.00 USD"),
            "{pipeline}"
        );
        let rates = section(&html, "win-rate", "table");
        assert!(
            rates.contains(&format!("<td>{rep_name}</td><td class=\"num\">1</td><td class=\"num\">1</td><td class=\"num\">50.0 %</td>")),
            "{rates}"
        );
        assert!(rates.contains("<td>All</td><td class=\"num\">2</td><td class=\"num\">1</td><td class=\"num\">66.6 %</td>"), "{rates}");
        assert!(html.contains("Run the sales forecast"), "no forecast has run yet");

        // Narrowed by owner: the mate's row goes.
        let (_, html) = page(&app, &format!("/dashboard?period=2099-Q1&owner_id={rep_id}&team_id=&pipeline_id="), &admin).await;
        assert!(!section(&html, "leaderboard", "table").contains(&mate_name));
        assert!(html.contains(&format!("<option value=\"{rep_id}\" selected>")), "the form keeps its choice");
        // The rep sees only their own deals.
        let cookie = session(&app, "rep@example.com").await;
        let (_, html) = page(&app, "/dashboard?period=2099-Q1", &cookie).await;
        let board = section(&html, "leaderboard", "table");
        assert!(board.contains("71.4 %") && !board.contains(&mate_name), "{board}");
        // A bad period is said, not a failure.
        let (status, html) = page(&app, "/dashboard?period=2099-Q9", &cookie).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("role=\"alert\"") && html.contains("period"), "{html}");
        // The landing page.
        let req = axum::http::Request::get("/").header("cookie", &cookie).body(axum::body::Body::empty()).unwrap();
        let res = tower::ServiceExt::oneshot(app.router.clone(), req).await.unwrap();
        assert_eq!(res.headers().get("location").and_then(|l| l.to_str().ok()), Some("/dashboard"));
    });
}

#[tokio::test]
async fn the_dashboard_shows_the_forecast_band_and_targets_have_their_pages() {
    each_backend!(|app| {
        // Paid orders spread over 2024 and 2025 (as the analytics tests make them).
        let pro = app.product("PRO", "Pro plan", 19_900, "USD").await;
        let onboarding = app.product("ONB", "Onboarding", 150_000, "USD").await;
        for i in 0..24 {
            let c = app.customer(json!({"name": format!("P{i}")})).await;
            for m in 0..(1 + i % 3) {
                let day = format!("{}-{:02}-15", 2024 + (i + m * 7) / 12, 1 + (i + m * 7) % 12);
                let mut lines = vec![json!({"product_id": pro["id"], "unit_price_minor": 19900 + i * 100})];
                if i % 4 != 3 {
                    lines.push(json!({"product_id": onboarding["id"], "unit_price_minor": 150000}));
                }
                app.paid_order(&c, &day, Value::Array(lines)).await;
            }
        }
        let forecast = run(&app, &app.token, "forecast", None).await;
        let admin = session(&app, crate::helpers::ADMIN_EMAIL).await;
        let (_, html) = page(&app, "/dashboard", &admin).await;
        let chart = section(&html, "forecast-chart", "section");
        assert!(chart.contains("<svg") && chart.contains("95% interval") && chart.contains("Forecast"), "{chart}");
        let last = forecast["result"]["summary"]["months"].as_array().unwrap().last().unwrap().as_str().unwrap()[..7].to_string();
        assert!(chart.contains(&last), "the history's last month, {last}: {chart}");
        // Monthly sales from the paid orders: November 2025 as the test computes it.
        let (_, html) = page(&app, "/dashboard?period=2025-11", &admin).await;
        let mut revenue = 0;
        let mut orders = 0;
        for i in 0..24i64 {
            for m in 0..(1 + i % 3) {
                if (2024 + (i + m * 7) / 12, 1 + (i + m * 7) % 12) == (2025, 11) {
                    revenue += 19_900 + i * 100 + if i % 4 != 3 { 150_000 } else { 0 };
                    orders += 1;
                }
            }
        }
        let sales = section(&html, "monthly-sales", "table");
        let shown = rapport_domain::sales::money::format_minor(revenue, "USD");
        assert!(
            sales.contains("data-month=\"2025-11\"")
                && sales.contains(&shown)
                && sales.contains(&format!("<td class=\"num\">{orders}</td>")),
            "{shown}, {orders}: {sales}"
        );
        assert!(section(&html, "sales-chart", "section").contains("<svg"));

        // Targets: the list shows attainment; the form creates one, errors beside their fields.
        let rep = app.user_token("rep@example.com", Role::SalesRep).await;
        let rep_id = user_id(&app, &rep).await;
        won(&app, rep_id, 300_000, "USD", "2099-05-05").await;
        let (status, html) = page(&app, "/targets/new", &admin).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        let csrf = csrf_of(&html);
        let body = format!("_csrf={csrf}&user_id={rep_id}&team_id=&period=2099-Q2&measure=won_opportunities&amount_minor=&currency=USD");
        let (status, _, html) = form(&app, "/targets/new", Some(&admin), &body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
        assert!(html.contains("data-field=\"amount_minor\""), "{html}");
        let body =
            format!("_csrf={csrf}&user_id={rep_id}&team_id=&period=2099-Q2&measure=won_opportunities&amount_minor=6000&currency=USD");
        let (status, headers, html) = form(&app, "/targets/new", Some(&admin), &body).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
        assert!(headers.get("location").is_some());
        let (_, list) = page(&app, "/targets", &admin).await;
        assert!(list.contains("2099-Q2") && list.contains("6,000.00 USD") && list.contains("3,000.00 USD"), "quota and attainment: {list}");
    });
}
