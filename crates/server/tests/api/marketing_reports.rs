//! Attribution and the marketing reports (issue 12 §9–10) on both engines: revenue of paid
//! orders per campaign under first touch, last touch and linear, through direct links and
//! members' responses within the window, rolled up to parent campaigns — compared with totals
//! the test computes itself from the rows it inserted; the campaigns, channels and over-time
//! reports with their rates, costs and ROI, as JSON and CSV; record-level visibility; and the
//! marketing dashboard.

use std::collections::BTreeMap;

use axum::http::{Method, StatusCode};
use chrono::{DateTime, Utc};
use rapport_domain::permissions::Role;
use serde_json::{Value, json};
use sqlx::Connection;

use crate::each_backend;
use crate::helpers::{ADMIN_EMAIL, TestApp};
use crate::ui::{page, session};

async fn sql_run(app: &TestApp, q: &str) {
    let mut db = sqlx::AnyConnection::connect(&app.url).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(q.to_string())).execute(&mut db).await.unwrap();
}

async fn order_facts(app: &TestApp, id: i64) -> (i64, DateTime<Utc>) {
    let mut db = sqlx::AnyConnection::connect(&app.url).await.unwrap();
    let (total, paid): (i64, String) =
        sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT total_minor, paid_at FROM orders WHERE id = {id}")))
            .fetch_one(&mut db)
            .await
            .unwrap();
    (total, DateTime::parse_from_rfc3339(&paid).unwrap().with_timezone(&Utc))
}

async fn campaign(app: &TestApp, body: Value) -> i64 {
    let r = app.post("/api/v1/campaigns", body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body["id"].as_i64().unwrap()
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// `(first, last, linear)` per campaign, computed here from the touches and orders.
fn expected(
    touches: &[(i64, i64, &str)],
    orders: &[(i64, i64, DateTime<Utc>, Option<i64>)],
    currency_ok: &dyn Fn(i64) -> bool,
    window: i64,
) -> BTreeMap<i64, (i64, i64, f64)> {
    let mut out: BTreeMap<i64, (i64, i64, f64)> = BTreeMap::new();
    for (person, amount, paid, direct) in orders {
        if let Some(c) = direct {
            let e = out.entry(*c).or_default();
            (e.0, e.1, e.2) = (e.0 + amount, e.1 + amount, e.2 + *amount as f64);
            continue;
        }
        let mut hit: Vec<(DateTime<Utc>, i64)> = touches
            .iter()
            .filter(|(c, p, _)| p == person && currency_ok(*c))
            .map(|(c, _, t)| (at(t), *c))
            .filter(|(t, _)| *t <= *paid && *t >= *paid - chrono::Duration::days(window))
            .collect();
        hit.sort();
        let Some(first) = hit.first() else { continue };
        out.entry(first.1).or_default().0 += amount;
        out.entry(hit.last().unwrap().1).or_default().1 += amount;
        for (_, c) in &hit {
            out.entry(*c).or_default().2 += *amount as f64 / hit.len() as f64;
        }
    }
    out
}

#[tokio::test]
async fn revenue_is_attributed_by_each_model_and_the_reports_add_it_up() {
    each_backend!(|app| {
        let base = |name: &str, channel: &str, spend: i64| {
            json!({"name": name, "channel": channel, "currency": "USD", "budget_minor": spend, "actual_spend_minor": spend,
                   "starts_on": "2026-03-01", "ends_on": "2026-03-31"})
        };
        let parent = campaign(&app, base("Spring", "email", 10_000)).await;
        let mut child_body = base("Spring mail 2", "email", 4_000);
        child_body["parent_id"] = json!(parent);
        let child = campaign(&app, child_body).await;
        let social = campaign(&app, base("Spring social", "social", 2_000)).await;
        let mut euro_body = base("Euro", "email", 1_000);
        euro_body["currency"] = json!("EUR");
        let euro = campaign(&app, euro_body).await;
        let mut late_body = base("Autumn", "email", 500);
        (late_body["starts_on"], late_body["ends_on"]) = (json!("2026-10-01"), json!("2026-10-31"));
        let autumn = campaign(&app, late_body).await;

        let mut ids = BTreeMap::new();
        for n in ["ann", "bob", "cara", "dan", "eve"] {
            ids.insert(n, app.customer(json!({"name": n, "email": format!("{n}@example.com")})).await);
        }
        let id = |n: &str| ids[n]["id"].as_i64().unwrap();
        // Touches: (campaign, person, when they first clicked or responded).
        let touches = [
            (child, id("ann"), "2026-03-02T10:00:00Z"),
            (social, id("ann"), "2026-03-10T09:00:00Z"),
            (child, id("bob"), "2026-03-03T08:00:00Z"),
            (social, id("bob"), "2025-12-01T08:00:00Z"),
            (euro, id("dan"), "2026-03-05T08:00:00Z"),
            (parent, id("eve"), "2026-03-05T12:00:00Z"),
        ];
        for c in [parent, child, social, euro] {
            let people: Vec<i64> = ids.values().map(|p| p["id"].as_i64().unwrap()).collect();
            let r = app.post(&format!("/api/v1/campaigns/{c}/members"), json!({"person_ids": people})).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        }
        for (c, p, t) in &touches {
            sql_run(&app, &format!("UPDATE campaign_members SET sent_at = '{t}', opened_at = '{t}', clicked_at = '{t}', status = 'clicked' WHERE campaign_id = {c} AND person_id = {p}")).await;
        }
        // Ann also converted through the social campaign; Cara's mail bounced.
        sql_run(&app, &format!("UPDATE campaign_members SET responded_at = '2026-03-10T09:00:00Z', converted_at = '2026-03-11T09:00:00Z', status = 'converted' WHERE campaign_id = {social} AND person_id = {}", id("ann"))).await;
        sql_run(&app, &format!("UPDATE campaign_members SET sent_at = '2026-03-02T10:00:00Z', bounced_at = '2026-03-02T10:05:00Z', status = 'bounced' WHERE campaign_id = {child} AND person_id = {}", id("cara"))).await;

        let product = app.product("SKU-1", "Thing", 1, "USD").await["id"].clone();
        let mut orders = vec![];
        for (who, day, amount, direct) in [
            ("ann", "2026-03-15", 10_000, None),
            ("bob", "2026-03-20", 6_000, None),
            ("dan", "2026-03-06", 2_500, None),
            ("cara", "2026-03-21", 3_000, Some(social)),
            ("eve", "2026-03-25", 7_000, None),
            ("ann", "2026-05-01", 9_000, None),
        ] {
            let mut body = json!({"customer_id": id(who), "order_date": day, "status": "paid",
                "lines": [{"product_id": product, "unit_price_minor": amount}]});
            if let Some(c) = direct {
                body["campaign_id"] = json!(c);
            }
            let r = app.post("/api/v1/orders", body).await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
            let (total, paid) = order_facts(&app, r.body["id"].as_i64().unwrap()).await;
            orders.push((id(who), total, paid, direct));
        }
        let usd = |c: i64| c != euro;

        for window in [30, 10, 90] {
            let r = app.get(&format!("/api/v1/reports/marketing/attribution?window_days={window}")).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
            let want = expected(&touches, &orders, &usd, window);
            let rows = r.body["rows"].as_array().unwrap();
            assert_eq!(rows.len(), 5, "{}", r.body);
            for row in rows {
                let c = row["campaign_id"].as_i64().unwrap();
                let w = want.get(&c).cloned().unwrap_or_default();
                let got = (
                    row["first_touch_minor"].as_i64().unwrap(),
                    row["last_touch_minor"].as_i64().unwrap(),
                    row["linear_minor"].as_i64().unwrap(),
                );
                assert_eq!(got, (w.0, w.1, w.2.round() as i64), "campaign {c}, window {window}: {row}");
            }
            // The parent's rolled-up revenue is its own plus its child's.
            let own = |c: i64| want.get(&c).cloned().unwrap_or_default();
            let p = rows.iter().find(|r| r["campaign_id"] == parent).unwrap();
            assert_eq!(p["rolled_up"]["first_touch_minor"].as_i64(), Some(own(parent).0 + own(child).0), "{p}");
            assert_eq!(p["rolled_up"]["linear_minor"].as_i64(), Some((own(parent).2.round() + own(child).2.round()) as i64), "{p}");
        }
        // The worked example: Ann's March order has two touches, Bob's one, Cara's order is direct.
        let w30 = expected(&touches, &orders, &usd, 30);
        assert_eq!((w30[&child].0, w30[&child].1, w30[&social].1), (16_000, 6_000, 13_000));

        // Campaigns report: counts, rates over delivered or reach, costs, ROI under last touch.
        let r = app.get("/api/v1/reports/marketing/campaigns?period=2026-03").await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let rows = r.body["rows"].as_array().unwrap();
        assert!(rows.iter().all(|r| r["campaign_id"] != autumn), "the autumn campaign is outside March: {}", r.body);
        let ch = rows.iter().find(|r| r["campaign_id"] == child).unwrap();
        assert_eq!(
            (ch["reach"].as_i64(), ch["sent"].as_i64(), ch["delivered"].as_i64(), ch["bounced"].as_i64()),
            (Some(5), Some(3), Some(2), Some(1))
        );
        assert_eq!((ch["clicked"].as_i64(), ch["click_rate"].as_f64(), ch["bounce_rate"].as_f64()), (Some(2), Some(100.0), Some(33.3)));
        assert_eq!((ch["revenue_minor"].as_i64(), ch["spend_minor"].as_i64(), ch["roi"].as_f64()), (Some(6_000), Some(4_000), Some(0.5)));
        let so = rows.iter().find(|r| r["campaign_id"] == social).unwrap();
        assert_eq!(
            (so["converted"].as_i64(), so["conversion_rate"].as_f64(), so["cost_per_acquisition_minor"].as_i64()),
            (Some(1), Some(20.0), Some(2_000))
        );
        assert_eq!((so["responded"].as_i64(), so["cost_per_lead_minor"].as_i64()), (Some(1), Some(2_000)));
        let lin = app.get(&format!("/api/v1/reports/marketing/campaigns?model=linear&campaign_id={social}")).await;
        assert_eq!(lin.body["rows"][0]["revenue_minor"].as_i64(), Some(w30[&social].2.round() as i64), "{}", lin.body);

        // Channels: email and social in USD, email in EUR.
        let r = app.get("/api/v1/reports/marketing/channels?period=2026-03").await;
        let keys: Vec<(String, String, i64)> = r.body["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["channel"].as_str().unwrap().into(), r["currency"].as_str().unwrap().into(), r["campaigns"].as_i64().unwrap()))
            .collect();
        assert_eq!(keys, [("email".into(), "EUR".into(), 1), ("email".into(), "USD".into(), 2), ("social".into(), "USD".into(), 1)]);
        let email_usd = &r.body["rows"][1];
        assert_eq!(email_usd["spend_minor"].as_i64(), Some(14_000));
        assert_eq!(email_usd["revenue_minor"].as_i64(), Some(w30[&child].1 + w30[&parent].1));
        let social_only = app.get("/api/v1/reports/marketing/channels?channel=social").await;
        assert_eq!(social_only.body["rows"].as_array().unwrap().len(), 1);

        // Over time, by month: March's clicks and the revenue paid in March.
        let r = app.get("/api/v1/reports/marketing/over_time?interval=month&from=2026-01-01").await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let march = r.body["rows"].as_array().unwrap().iter().find(|r| r["period"] == "2026-03").cloned().unwrap();
        assert_eq!(
            (march["clicked"].as_i64(), march["bounced"].as_i64(), march["converted"].as_i64()),
            (Some(5), Some(1), Some(1)),
            "{march}"
        );
        let march_paid: i64 = orders
            .iter()
            .filter(|o| o.2.format("%Y-%m").to_string() == "2026-03")
            .map(|o| {
                let one = [*o];
                expected(&touches, &one, &usd, 30).values().map(|v| v.1).sum::<i64>()
            })
            .sum();
        assert_eq!(march["revenue_minor"].as_i64(), Some(march_paid));
        assert!(r.body["rows"].as_array().unwrap().iter().all(|r| r["period"] != "2025-12"), "the span starts in January");
        let weeks = app.get("/api/v1/reports/marketing/over_time").await;
        assert!(
            weeks.body["rows"].as_array().unwrap().iter().any(|r| r["period"] == "2026-03-02"),
            "weeks start on Monday: {}",
            weeks.body
        );

        // CSV: a header, one line per campaign.
        let csv = app.call(Method::GET, "/api/v1/reports/marketing/campaigns?format=csv&period=2026-03", Some(&app.token), None, &[]).await;
        assert_eq!(csv.status, StatusCode::OK);
        assert!(csv.header("content-type").starts_with("text/csv"));
        let text = csv.body.as_str().unwrap().to_string();
        let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
        for col in ["campaign_id", "name", "channel", "reach", "click_rate", "cost_per_lead_minor", "revenue_minor", "roi"] {
            assert!(header.contains(&col), "{col} in {text}");
        }
        assert_eq!(text.lines().count(), 5, "{text}");
        let bad = app.get("/api/v1/reports/marketing/campaigns?model=best&channel=fax").await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
        assert_eq!(bad.error_fields(), ["model", "channel"]);

        // Record-level visibility: a sales rep sees only the campaigns they own.
        let rep = app.user_token("rep@example.com", Role::SalesRep).await;
        let mut mine = base("Rep's own", "email", 100);
        mine["owner_id"] = json!(crate::opportunities::user_id(&app, &rep).await);
        let own = campaign(&app, mine).await;
        let r = app.get_as(&rep, "/api/v1/reports/marketing/campaigns").await;
        let seen: Vec<i64> = r.body["rows"].as_array().unwrap().iter().map(|r| r["campaign_id"].as_i64().unwrap()).collect();
        assert_eq!(seen, [own], "{}", r.body);

        // The dashboard draws the reports.
        let admin = session(&app, ADMIN_EMAIL).await;
        let (status, html) = page(&app, "/marketing?period=2026-03", &admin).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("<svg") && html.contains("Rates per channel") && html.contains("Spring mail 2"), "{html}");
        assert!(html.contains("Campaign effect on monthly sales"));
        let (status, html) = page(&app, "/marketing?model=nonsense", &admin).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("showing everything instead"));
    });
}
