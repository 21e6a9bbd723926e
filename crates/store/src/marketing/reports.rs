//! The marketing reports (see [`rapport_domain::marketing::reports`]): per campaign and per
//! channel the reach, the mail milestones, the rates, costs, attributed revenue and ROI; and
//! the same milestones and revenue per week or month. Counted in SQL on both engines.

use std::collections::{BTreeMap, HashMap};

use rapport_domain::marketing::reports::{CampaignRow, ChannelRow, Interval, MarketingFilter, OverTimeRow, Performance};
use rapport_domain::permissions::{Action, Actor, Object, require};

use super::attribution::attributed;
use crate::records::visible;
use crate::sql::Sql;
use crate::{Backend, Result, Store};

/// The milestone counts of every campaign's members, by campaign id.
const COUNTS: &str = "SELECT m.campaign_id, CAST(COUNT(*) AS BIGINT) AS reach, \
     CAST(SUM(CASE WHEN m.sent_at IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT) AS sent, \
     CAST(SUM(CASE WHEN COALESCE(m.delivered_at, m.sent_at) IS NOT NULL AND m.bounced_at IS NULL THEN 1 ELSE 0 END) AS BIGINT) AS delivered, \
     CAST(SUM(CASE WHEN m.bounced_at IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT) AS bounced, \
     CAST(SUM(CASE WHEN m.opened_at IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT) AS opened, \
     CAST(SUM(CASE WHEN m.clicked_at IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT) AS clicked, \
     CAST(SUM(CASE WHEN m.responded_at IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT) AS responded, \
     CAST(SUM(CASE WHEN m.converted_at IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT) AS converted \
     FROM campaign_members m GROUP BY m.campaign_id";

/// The period (week's Monday or month) of the stored time `col`.
fn bucket(backend: Backend, interval: Interval, col: &str) -> String {
    match interval {
        Interval::Week => crate::service::reports::week(backend, col),
        Interval::Month => format!("substr({col}, 1, 7)"),
    }
}

impl Store {
    /// Each campaign the filter keeps: counts, rates, spend, costs, revenue (under the filter's
    /// model) and ROI.
    pub async fn marketing_campaigns(&self, actor: &Actor, f: &MarketingFilter) -> Result<Vec<CampaignRow>> {
        let facts = self.campaign_facts(actor, f.window_days).await?;
        let counts: HashMap<i64, Performance> = self
            .read(&Sql::new(COUNTS), |r| {
                Ok((
                    r.get::<i64>("campaign_id")?,
                    Performance {
                        reach: r.get("reach")?,
                        sent: r.get("sent")?,
                        delivered: r.get("delivered")?,
                        bounced: r.get("bounced")?,
                        opened: r.get("opened")?,
                        clicked: r.get("clicked")?,
                        responded: r.get("responded")?,
                        converted: r.get("converted")?,
                        ..Performance::default()
                    },
                ))
            })
            .await?
            .into_iter()
            .collect();
        Ok(facts
            .into_iter()
            .filter(|c| c.kept(f))
            .map(|c| {
                let mut p = counts.get(&c.row.campaign_id).cloned().unwrap_or_default();
                p.spend_minor = c.spend_minor;
                p.revenue_minor = c.row.revenue.under(f.model);
                CampaignRow {
                    campaign_id: c.row.campaign_id,
                    name: c.row.name,
                    channel: c.channel,
                    currency: c.row.currency,
                    performance: p.finish(),
                }
            })
            .collect())
    }

    /// The campaigns report added up per channel and currency.
    pub async fn marketing_channels(&self, actor: &Actor, f: &MarketingFilter) -> Result<Vec<ChannelRow>> {
        let mut by: BTreeMap<(String, String), (i64, Performance)> = BTreeMap::new();
        for c in self.marketing_campaigns(actor, f).await? {
            let e = by.entry((c.channel, c.currency)).or_default();
            e.0 += 1;
            e.1.add(&c.performance);
        }
        Ok(by
            .into_iter()
            .map(|((channel, currency), (campaigns, p))| ChannelRow { channel, currency, campaigns, performance: p.finish() })
            .collect())
    }

    /// Per week or month in the span: milestones reached then and revenue paid then
    /// (attributed under the filter's model) of the campaigns the actor sees in the channel.
    pub async fn marketing_over_time(&self, actor: &Actor, f: &MarketingFilter) -> Result<Vec<OverTimeRow>> {
        require(actor, Object::Campaign, Action::Read)?;
        let narrow = |q: &mut Sql, col: &str| {
            if let Some(from) = f.from_text() {
                q.push(&format!(" AND {col} >= ")).arg(from);
            }
            if let Some(to) = f.to_bound() {
                q.push(&format!(" AND {col} < ")).arg(to);
            }
            if let Some(ch) = &f.channel {
                q.push(" AND c.channel = ").arg(ch.clone());
            }
            if let Some(id) = f.campaign_id {
                q.push(" AND c.id = ").arg(id);
            }
            visible(q, actor, "c");
        };
        let mut rows: BTreeMap<String, OverTimeRow> = BTreeMap::new();
        for col in ["sent_at", "bounced_at", "opened_at", "clicked_at", "responded_at", "converted_at"] {
            let b = bucket(self.backend, f.interval, &format!("m.{col}"));
            let mut q = Sql::new(&format!(
                "SELECT {b} AS p, CAST(COUNT(*) AS BIGINT) AS n FROM campaign_members m JOIN campaigns c ON c.id = m.campaign_id \
                 WHERE c.deleted_at IS NULL AND m.{col} IS NOT NULL"
            ));
            narrow(&mut q, &format!("m.{col}"));
            q.push(&format!(" GROUP BY {b}"));
            for (p, n) in self.read(&q, |r| Ok((r.get::<String>("p")?, r.get::<i64>("n")?))).await? {
                let e = rows.entry(p.clone()).or_insert_with(|| OverTimeRow { period: p, ..OverTimeRow::default() });
                match col {
                    "sent_at" => e.sent = n,
                    "bounced_at" => e.bounced = n,
                    "opened_at" => e.opened = n,
                    "clicked_at" => e.clicked = n,
                    "responded_at" => e.responded = n,
                    _ => e.converted = n,
                }
            }
        }
        let col = match f.model {
            rapport_domain::marketing::reports::Model::FirstTouch => "first_touch",
            rapport_domain::marketing::reports::Model::LastTouch => "last_touch",
            rapport_domain::marketing::reports::Model::Linear => "linear",
        };
        let b = bucket(self.backend, f.interval, "a.at");
        let mut q = attributed(self.backend, f.window_days, Some(&b), (f.from_text(), f.to_bound()));
        q.push(&format!(
            "SELECT x.bucket AS p, CAST(SUM(x.{col}) AS BIGINT) AS revenue FROM x JOIN campaigns c ON c.id = x.campaign_id WHERE c.deleted_at IS NULL"
        ));
        if let Some(ch) = &f.channel {
            q.push(" AND c.channel = ").arg(ch.clone());
        }
        if let Some(id) = f.campaign_id {
            q.push(" AND c.id = ").arg(id);
        }
        visible(&mut q, actor, "c");
        q.push(" GROUP BY x.bucket");
        for (p, rev) in self.read(&q, |r| Ok((r.get::<String>("p")?, r.get::<i64>("revenue")?))).await? {
            rows.entry(p.clone()).or_insert_with(|| OverTimeRow { period: p, ..OverTimeRow::default() }).revenue_minor = rev;
        }
        Ok(rows.into_values().collect())
    }
}
