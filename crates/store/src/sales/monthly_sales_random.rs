//! The monthly sales summaries stay exact through any mix of writes: a seeded random run of
//! order creates, changes (status, paid month, customer, price, owner), deletes and team
//! membership and visibility changes. After each step, monthly sales for every team and as
//! every rep and manager sees them (one team, several teams, none: only their own and the
//! unowned) equal the totals a direct query sums from the paid order lines, with the visibility
//! rule written out here from the memberships the test set, over whole months and over spans
//! that begin or end inside a month; and every span with whole months reads them from the
//! summaries.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use rapport_domain::accounts::{NewUser, TeamChanges};
use rapport_domain::customer::CustomerData;
use rapport_domain::permissions::{Actor, Role};
use rapport_domain::sales::order::{Order, OrderInput, OrderLineInput, OrderStatus};
use rapport_domain::sales::product::ProductInput;
use rapport_domain::sales::report::ReportFilter;

use crate::sql::{Sql, capture};
use crate::{Error, Store};

type Rows = Vec<(String, String, i64, i64, i64)>;

/// A small seeded generator (xorshift64*), so a failing run can be replayed.
struct Dice(u64);

impl Dice {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n
    }
    fn pick<T: Copy>(&mut self, from: &[T]) -> T {
        from[self.below(from.len())]
    }
}

/// Monthly sales summed directly from the lines of the counted orders of `owners`, and of the
/// unowned ones when `unowned`, paid in `lo <= paid_at < hi` (all when `None`).
async fn direct(store: &Store, owners: &BTreeSet<i64>, unowned: bool, span: Option<(&str, &str)>) -> Rows {
    let mut q = Sql::new(
        "SELECT substr(o.paid_at, 1, 7) AS month, o.currency, CAST(SUM(l.net_minor) AS BIGINT) AS revenue, \
         COUNT(DISTINCT o.id) AS n, COUNT(DISTINCT o.customer_id) AS customers \
         FROM orders o JOIN order_lines l ON l.order_id = o.id \
         WHERE o.status IN ('paid', 'shipped') AND o.paid_at IS NOT NULL AND o.deleted_at IS NULL AND (1 = 0",
    );
    for o in owners {
        q.push(" OR o.owner_id = ").arg(*o);
    }
    if unowned {
        q.push(" OR o.owner_id IS NULL");
    }
    q.push(")");
    if let Some((lo, hi)) = span {
        q.push(" AND o.paid_at >= ").arg(lo.to_string()).push(" AND o.paid_at < ").arg(hi.to_string());
    }
    q.push(" GROUP BY substr(o.paid_at, 1, 7), o.currency ORDER BY month, o.currency");
    store.read(&q, |r| Ok((r.get("month")?, r.get("currency")?, r.get("revenue")?, r.get("n")?, r.get("customers")?))).await.unwrap()
}

/// The report's rows for `actor` over `f`, and whether it read the summaries.
async fn report(store: &Store, actor: &Actor, f: &ReportFilter) -> (Rows, bool) {
    let (rows, reads) = capture(store.monthly_sales_report(actor, f)).await;
    let rows = rows.unwrap().into_iter().map(|r| (r.month, r.currency, r.revenue_minor, r.orders, r.customers)).collect();
    (rows, reads.iter().any(|q| q.text.contains("FROM monthly_sales")))
}

/// The test's own record of the teams: members and whether they share records.
#[derive(Clone, Default)]
struct Team {
    members: BTreeSet<i64>,
    shared: bool,
}

async fn check(store: Store) {
    store.migrate().await.unwrap();
    let system = Actor::system();
    let mut staff = vec![];
    for (who, role) in
        [("ann", Role::SalesRep), ("bob", Role::SalesRep), ("cy", Role::SalesRep), ("meg", Role::Manager), ("dee", Role::SalesRep)]
    {
        let new = NewUser {
            email: format!("{who}@example.com"),
            name: who.into(),
            password: "a long password 1".into(),
            role: role.as_str().into(),
        };
        staff.push((store.create_user(&system, new).await.unwrap().id, role));
    }
    let ids: Vec<i64> = staff.iter().map(|(id, _)| *id).collect();
    let buyers: Vec<CustomerData> = (0..5).map(|i| CustomerData { name: format!("Buyer {i}"), ..Default::default() }).collect();
    let customers = store.create_customers_batch(&system, &buyers).await.unwrap();
    let mut products = vec![];
    for (sku, currency) in [("T-USD", "USD"), ("T-EUR", "EUR")] {
        let input = ProductInput {
            sku: Some(sku.into()),
            name: Some(sku.into()),
            unit_price_minor: Some(1_000),
            currency: Some(currency.into()),
            ..Default::default()
        };
        products.push(store.create_product(&system, input).await.unwrap().id);
    }
    let mut teams: BTreeMap<i64, Team> = BTreeMap::new();
    for (name, shared, members) in [("East", true, vec![ids[0], ids[1], ids[3]]), ("West", false, vec![ids[2], ids[3]])] {
        let input = TeamChanges {
            name: Some(name.into()),
            visibility: Some(if shared { "team" } else { "private" }.into()),
            member_ids: Some(members.clone()),
        };
        let t = store.save_team(&system, None, None, input).await.unwrap();
        teams.insert(t.id, Team { members: members.into_iter().collect(), shared });
    }
    let owners: Vec<Option<i64>> = ids.iter().copied().map(Some).chain([None]).collect();
    let days = ["2099-01-10", "2099-01-28", "2099-02-03", "2099-03-15"];
    let paid_times = ["2099-01-11T10:00:00.000000Z", "2099-02-14T10:00:00.000000Z", "2099-03-31T23:59:59.000000Z"];
    let mut orders: Vec<i64> = vec![];
    let mut dice = Dice(0x5eed_7ea3_0000_0022);
    // How often a reader's visibility spanned several teams, and none.
    let (mut several, mut alone) = (0, 0);
    for step in 0..70 {
        let what = match dice.below(10) {
            0..=3 => "create",
            4..=6 if !orders.is_empty() => "change",
            7 if !orders.is_empty() => "delete",
            _ => "members",
        };
        match what {
            "create" => {
                let input = OrderInput {
                    customer_id: Some(dice.pick(&customers)),
                    owner_id: Some(dice.pick(&owners)),
                    status: Some(dice.pick(&[OrderStatus::Paid, OrderStatus::Paid, OrderStatus::Confirmed, OrderStatus::Draft])),
                    order_date: Some(dice.pick(&days).into()),
                    lines: Some(vec![OrderLineInput {
                        product_id: Some(dice.pick(&products)),
                        quantity: Some(1 + dice.below(3) as i64),
                        discount_bp: Some(dice.pick(&[0, 1_000])),
                        ..Default::default()
                    }]),
                    ..Default::default()
                };
                orders.push(store.create_order(&system, input).await.unwrap().id);
            }
            "change" => {
                let id = dice.pick(&orders);
                let kind = dice.below(6);
                let (customer, owner) = (dice.pick(&customers), dice.pick(&owners));
                let (paid, price) = (dice.pick(&paid_times), 500 + 250 * dice.below(4) as i64);
                store
                    .update_record::<Order, _, Error>(&system, id, None, |before| {
                        let mut d = before.clone();
                        match kind {
                            0 => d.owner_id = owner,
                            1 => d.customer_id = Some(customer),
                            2 => {
                                d.status = OrderStatus::Paid;
                                d.paid_at = Some(paid.into());
                            }
                            3 => d.lines[0].unit_price_minor = price,
                            4 => {
                                d.status = OrderStatus::Shipped;
                                d.shipped_at = Some("2099-04-01T00:00:00.000000Z".into());
                            }
                            _ => {
                                d.status = OrderStatus::Cancelled;
                                d.cancelled_at = Some("2099-04-01T00:00:00.000000Z".into());
                            }
                        }
                        Ok(d)
                    })
                    .await
                    .unwrap();
            }
            "delete" => {
                let i = dice.below(orders.len());
                store.delete_order(&system, orders.swap_remove(i), None).await.unwrap();
            }
            _ => {
                let id = dice.pick(&teams.keys().copied().collect::<Vec<_>>());
                let members: BTreeSet<i64> = ids.iter().copied().filter(|_| dice.below(2) == 0).collect();
                let shared = dice.below(3) > 0;
                let input = TeamChanges {
                    visibility: Some(if shared { "team" } else { "private" }.into()),
                    member_ids: Some(members.iter().copied().collect()),
                    ..Default::default()
                };
                store.save_team(&system, Some(id), None, input).await.unwrap();
                teams.insert(id, Team { members, shared });
            }
        }
        let day = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
        let within = |from: &str, to: &str| ReportFilter { from: day(from), to: day(to), ..Default::default() };
        // (filter, paid times it covers, whether it holds a whole month)
        let spans = [
            (ReportFilter::default(), None, true),
            (within("2099-02-01", "2099-03-31"), Some(("2099-02-01", "2099-04-01")), true),
            (within("2099-01-20", "2099-03-20"), Some(("2099-01-20", "2099-03-20T24")), true),
            (within("2099-01-05", "2099-01-27"), Some(("2099-01-05", "2099-01-27T24")), false),
            (within("2099-01-12", "2099-02-13"), Some(("2099-01-12", "2099-02-13T24")), false),
        ];
        for (span, paid, whole) in spans {
            for (id, t) in &teams {
                let f = ReportFilter { team_id: Some(*id), ..span.clone() };
                let (got, summary) = report(&store, &Actor::system(), &f).await;
                assert_eq!(got, direct(&store, &t.members, false, paid).await, "step {step} ({what}): team {id} {paid:?}");
                assert_eq!(summary, whole && !t.members.is_empty(), "step {step}: team {id}'s whole months come from the summary {paid:?}");
            }
            for (me, role) in &staff {
                let actor = Actor::user(*me, *role);
                // What record-level visibility lets them see: their own, the unowned, and the
                // members' of each team they are in (shared teams only, for a rep).
                let reach: Vec<i64> = teams
                    .iter()
                    .filter(|(_, t)| t.members.contains(me) && (t.shared || *role == Role::Manager))
                    .map(|(id, _)| *id)
                    .collect();
                let mut seen: BTreeSet<i64> = reach.iter().flat_map(|id| teams[id].members.iter().copied()).collect();
                seen.insert(*me);
                let (got, summary) = report(&store, &actor, &span).await;
                assert_eq!(got, direct(&store, &seen, true, paid).await, "step {step} ({what}): as {me} {paid:?}");
                assert_eq!(summary, whole, "every reader's whole months come from the summary");
                several += usize::from(reach.len() > 1);
                alone += usize::from(reach.is_empty());
                // A team filter as they see it: the team's members they may see.
                for (id, t) in &teams {
                    let f = ReportFilter { team_id: Some(*id), ..span.clone() };
                    let (got, summary) = report(&store, &actor, &f).await;
                    let both: BTreeSet<i64> = t.members.intersection(&seen).copied().collect();
                    assert_eq!(got, direct(&store, &both, false, paid).await, "step {step} ({what}): team {id} as {me} {paid:?}");
                    assert_eq!(summary, whole && !both.is_empty(), "whole months come from the summary");
                }
                // One owner, as they see them.
                let f = ReportFilter { owner_id: Some(ids[0]), ..span.clone() };
                let (got, _) = report(&store, &actor, &f).await;
                let one: BTreeSet<i64> = seen.iter().copied().filter(|o| *o == ids[0]).collect();
                assert_eq!(got, direct(&store, &one, false, paid).await, "step {step} ({what}): ann's as {me} {paid:?}");
            }
        }
    }
    assert!(several > 20 && alone > 20, "readers over several teams ({several}) and none ({alone}) were checked");
}

#[tokio::test]
async fn monthly_sales_follow_random_writes_for_every_reader_on_sqlite() {
    crate::test_db::on_sqlite("salesrandom", check).await;
}

#[tokio::test]
async fn monthly_sales_follow_random_writes_for_every_reader_on_postgres() {
    crate::test_db::on_postgres("salesrandom", check).await;
}
