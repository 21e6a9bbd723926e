//! Attribution of paid orders to campaigns, in SQL on both engines (see
//! [`rapport_domain::marketing::reports`] for the rules): an order with a `campaign_id`
//! belongs to it; any other order goes to the campaigns whose members' touches (the first of
//! clicked / responded / converted) lie within the window before its payment — to the
//! earliest (first touch), the latest (last touch), or evenly (linear).

use std::collections::{BTreeMap, HashMap};

use rapport_domain::marketing::reports::{Attributed, AttributionRow, MarketingFilter};
use rapport_domain::permissions::{Action, Actor, Object, require};

use crate::records::visible;
use crate::sales::monthly_sales::COUNTED;
use crate::sql::Sql;
use crate::{Backend, Result, Store};

/// A member's touch: when they first clicked, responded or converted.
const TOUCH: &str = "COALESCE(m.clicked_at, m.responded_at, m.converted_at)";

/// `touch` lies in the `days` before `at`.
fn within(backend: Backend, touch: &str, at: &str, days: i64) -> String {
    match backend {
        Backend::Sqlite => format!("julianday({touch}) <= julianday({at}) AND julianday({touch}) >= julianday({at}) - {days}"),
        Backend::Postgres => format!(
            "CAST({touch} AS timestamptz) <= CAST({at} AS timestamptz) AND CAST({touch} AS timestamptz) >= CAST({at} AS timestamptz) - INTERVAL '{days} days'"
        ),
    }
}

/// `WITH …, x AS (…)`: per campaign (and per `bucket` of the payment time `a.at`, when given)
/// the orders paid within `paid` (from, to bound; open ends when absent) linked directly and
/// through touches, and the revenue under each model; only orders in the campaign's currency
/// count. Touches are read from the members who touched a campaign (migration 0052's index) and
/// their orders by customer, direct links from the campaigns' orders: neither walks every order.
/// (`CROSS JOIN` fixes that order on SQLite, which cannot tell from its statistics that few
/// members touch and few orders name a campaign; PostgreSQL plans it as an inner join.)
pub(crate) fn attributed(backend: Backend, window_days: i64, bucket: Option<&str>, paid: (Option<String>, Option<String>)) -> Sql {
    let within = within(backend, TOUCH, "o.paid_at", window_days);
    let (b_sel, b_group) = match bucket {
        Some(b) => (format!(", {b} AS bucket"), format!(", {b}")),
        None => (String::new(), String::new()),
    };
    let period = |q: &mut Sql| {
        if let Some(from) = &paid.0 {
            q.push(" AND o.paid_at >= ").arg(from.clone());
        }
        if let Some(to) = &paid.1 {
            q.push(" AND o.paid_at < ").arg(to.clone());
        }
    };
    // SQLite is told the index: with a period it would rather walk that period's orders for
    // each member than search the member's own.
    let by = |index: &str| if backend == Backend::Sqlite { format!(" INDEXED BY {index}") } else { String::new() };
    let (by_customer, by_campaign) = (by("orders_customer_idx"), by("orders_campaign_idx"));
    let mut q = Sql::new(&format!(
        "WITH t AS (SELECT o.id AS order_id, o.total_minor, o.paid_at AS at, m.campaign_id, {TOUCH} AS touch_at \
               FROM campaign_members m CROSS JOIN orders o{by_customer} JOIN campaigns c ON c.id = m.campaign_id \
               WHERE o.customer_id = m.person_id AND o.currency = c.currency \
               AND {TOUCH} IS NOT NULL AND {COUNTED} AND o.campaign_id IS NULL AND {within}"
    ));
    period(&mut q);
    q.push(&format!(
        "), r AS (SELECT campaign_id, total_minor, at, \
               ROW_NUMBER() OVER (PARTITION BY order_id ORDER BY touch_at, campaign_id) AS first_rank, \
               ROW_NUMBER() OVER (PARTITION BY order_id ORDER BY touch_at DESC, campaign_id DESC) AS last_rank, \
               COUNT(*) OVER (PARTITION BY order_id) AS n FROM t), \
         a AS (SELECT campaign_id, at, 0 AS direct, 1 AS touched, CASE WHEN first_rank = 1 THEN total_minor ELSE 0 END AS ft, \
               CASE WHEN last_rank = 1 THEN total_minor ELSE 0 END AS lt, CAST(total_minor AS DOUBLE PRECISION) / n AS lin FROM r \
               UNION ALL SELECT o.campaign_id, o.paid_at, 1, 0, o.total_minor, o.total_minor, CAST(o.total_minor AS DOUBLE PRECISION) \
               FROM campaigns c CROSS JOIN orders o{by_campaign} WHERE o.campaign_id = c.id AND o.currency = c.currency AND "
    ));
    q.push(COUNTED);
    period(&mut q);
    q.push(&format!(
        "), x AS (SELECT campaign_id{b_sel}, CAST(SUM(direct) AS BIGINT) AS direct_orders, CAST(SUM(touched) AS BIGINT) AS touched_orders, \
               CAST(SUM(ft) AS BIGINT) AS first_touch, CAST(SUM(lt) AS BIGINT) AS last_touch, CAST(ROUND(SUM(lin)) AS BIGINT) AS linear \
               FROM a GROUP BY campaign_id{b_group}) "
    ));
    q
}

/// A visible campaign with what the reports filter it by.
#[derive(Debug, Clone)]
pub(crate) struct CampaignFacts {
    pub row: AttributionRow,
    pub channel: String,
    pub starts_on: Option<String>,
    pub ends_on: Option<String>,
    pub spend_minor: i64,
}

impl CampaignFacts {
    /// Whether the filter keeps this campaign (channel, id, dates overlapping the period).
    pub(crate) fn kept(&self, f: &MarketingFilter) -> bool {
        let from = f.from.map(|d| d.to_string());
        let to = f.to.map(|d| d.to_string());
        f.channel.as_ref().is_none_or(|c| *c == self.channel)
            && f.campaign_id.is_none_or(|id| id == self.row.campaign_id)
            && from.is_none_or(|from| self.ends_on.as_ref().is_none_or(|e| *e >= from))
            && to.is_none_or(|to| self.starts_on.as_ref().is_none_or(|s| *s <= to))
    }
}

impl Store {
    /// Every campaign the actor sees with its attributed revenue, and rolled up through its
    /// descendants (by parent), before any filter.
    pub(crate) async fn campaign_facts(&self, actor: &Actor, window_days: i64) -> Result<Vec<CampaignFacts>> {
        require(actor, Object::Campaign, Action::Read)?;
        let mut q = attributed(self.backend, window_days, None, (None, None));
        q.push(
            "SELECT c.id, c.name, c.parent_id, c.currency, c.channel, c.starts_on, c.ends_on, c.actual_spend_minor, \
             COALESCE(x.direct_orders, 0) AS direct_orders, COALESCE(x.touched_orders, 0) AS touched_orders, \
             COALESCE(x.first_touch, 0) AS first_touch, COALESCE(x.last_touch, 0) AS last_touch, COALESCE(x.linear, 0) AS linear \
             FROM campaigns c LEFT JOIN x ON x.campaign_id = c.id WHERE c.deleted_at IS NULL",
        );
        visible(&mut q, actor, "c");
        q.push(" ORDER BY c.id");
        let mut rows = self
            .read(&q, |r| {
                let revenue = Attributed {
                    first_touch_minor: r.get("first_touch")?,
                    last_touch_minor: r.get("last_touch")?,
                    linear_minor: r.get("linear")?,
                };
                Ok(CampaignFacts {
                    row: AttributionRow {
                        campaign_id: r.get("id")?,
                        name: r.get("name")?,
                        parent_id: r.get("parent_id")?,
                        currency: r.get("currency")?,
                        direct_orders: r.get("direct_orders")?,
                        touched_orders: r.get("touched_orders")?,
                        rolled_up: revenue.clone(),
                        revenue,
                    },
                    channel: r.get::<Option<String>>("channel")?.unwrap_or_default(),
                    starts_on: r.get("starts_on")?,
                    ends_on: r.get("ends_on")?,
                    spend_minor: r.get("actual_spend_minor")?,
                })
            })
            .await?;
        // Each campaign's own revenue climbs to every ancestor the actor sees (in the same currency).
        let index: HashMap<i64, usize> = rows.iter().enumerate().map(|(i, f)| (f.row.campaign_id, i)).collect();
        let mut adds: BTreeMap<usize, Attributed> = BTreeMap::new();
        for f in &rows {
            let mut at = f.row.parent_id;
            for _ in 0..100 {
                let Some(i) = at.and_then(|p| index.get(&p).copied()) else { break };
                if rows[i].row.currency == f.row.currency {
                    adds.entry(i).or_default().add(&f.row.revenue);
                }
                at = rows[i].row.parent_id;
            }
        }
        for (i, a) in adds {
            rows[i].row.rolled_up.add(&a);
        }
        Ok(rows)
    }

    /// Revenue per campaign under every model, own and rolled up, for the campaigns the filter
    /// keeps.
    pub async fn marketing_attribution(&self, actor: &Actor, f: &MarketingFilter) -> Result<Vec<AttributionRow>> {
        Ok(self.campaign_facts(actor, f.window_days).await?.into_iter().filter(|c| c.kept(f)).map(|c| c.row).collect())
    }
}
