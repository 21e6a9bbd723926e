//! The attribution queries (issue 12 §9) never walk every order: touches are read from the
//! members who touched a campaign (migration 0052's partial index) and each one's paid orders
//! by customer, direct links from each campaign's orders by campaign, with and without a period,
//! as an admin and as a marketer. On PostgreSQL, asked with sequential scans disabled, no
//! `Seq Scan` may remain on orders or members and the touch index is read.

use rapport_domain::marketing::reports::MarketingFilter;
use rapport_domain::permissions::{Actor, Role};

use crate::sql::capture;
use crate::test_db::plan;
use crate::{Backend, Store};

async fn check(store: Store) {
    store.migrate().await.expect("migrations");
    let day = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
    let month = MarketingFilter { from: day("2026-10-01"), to: day("2026-10-31"), ..Default::default() };
    let mut seen = 0;
    for actor in [Actor::user(1, Role::Admin), Actor::user(1, Role::Marketer)] {
        for f in [MarketingFilter::default(), month.clone()] {
            let mut reads = capture(store.marketing_attribution(&actor, &f)).await.1;
            reads.extend(capture(store.marketing_campaigns(&actor, &f)).await.1);
            reads.extend(capture(store.marketing_over_time(&actor, &f)).await.1);
            for q in reads.iter().filter(|q| q.text.contains("WITH t AS")) {
                seen += 1;
                let steps = plan(&store, q).await;
                let all = steps.join("\n");
                let why = format!("{:?}, {:?} from {:?}:\n  {}\n  plan:\n{all}", store.backend, actor.role, f.from, q.text);
                match store.backend {
                    Backend::Sqlite => {
                        for wanted in [
                            "SCAN m USING INDEX campaign_members_touch_idx",
                            "SEARCH o USING INDEX orders_customer_idx (customer_id=? AND status=? AND paid_at>?",
                            "SEARCH o USING INDEX orders_campaign_idx (campaign_id=? AND status=? AND paid_at>?",
                        ] {
                            assert!(all.contains(wanted), "not {wanted}: {why}");
                        }
                        let walks = steps.iter().any(|s| {
                            let s = s.trim();
                            s == "SCAN o" || s.starts_with("SCAN o ") || s.starts_with("SCAN m ") && !s.contains("touch_idx")
                        });
                        assert!(!walks, "a walk of every order or member: {why}");
                        assert!(!all.contains("orders_sales_report_idx"), "a walk of the period's orders: {why}");
                    }
                    Backend::Postgres => {
                        assert!(!all.contains("Seq Scan on orders") && !all.contains("Seq Scan on campaign_members"), "{why}");
                        assert!(all.contains("campaign_members_touch_idx"), "not from the touching members: {why}");
                    }
                }
            }
        }
    }
    // The attribution, the campaigns report and the revenue over time, for two actors and two periods.
    assert_eq!(seen, 2 * 2 * 3, "attribution queries seen");
}

#[tokio::test]
async fn attribution_reads_indexes_on_sqlite() {
    crate::test_db::on_sqlite("attribution_plans", check).await;
}

#[tokio::test]
async fn attribution_reads_indexes_on_postgres() {
    crate::test_db::on_postgres("attribution_plans", check).await;
}
