//! RFM (recency, frequency, monetary) scoring, named tiers and historical CLV.
//!
//! Definitions follow the reference script (`shared/peer/analytics_peer.py`) exactly:
//!
//! * `ref_date` = midnight of the last timestamp + 1 day;
//! * recency = whole days (floor) from the customer's last purchase to `ref_date`;
//! * frequency = number of distinct invoices; monetary = sum of amounts (returns included);
//! * scores are quintiles by rank: sort by (value, customer id), rank `r = 1..n`,
//!   `score = floor((r-1)*5/n)+1`; the R score is reversed (`6 - score`) so 5 = most recent.
//!
//! Customer ids sort numerically when every id is an integer, else lexicographically.
//! Customers are returned in lexicographic id order (pandas' group order).

use std::collections::{HashMap, HashSet};

use crate::dates::{DAY, day_of};
use crate::error::{Error, Result};

/// One purchase line.
#[derive(Debug, Clone, PartialEq)]
pub struct Transaction {
    /// Invoice (order) identifier; a customer's frequency counts distinct invoices.
    pub invoice: String,
    /// Customer identifier.
    pub customer_id: String,
    /// Product name (used for baskets).
    pub product: String,
    /// Naive timestamp in seconds since 1970-01-01 (see [`crate::dates`]).
    pub timestamp: i64,
    /// Line amount (negative for returns).
    pub amount: f64,
}

/// RFM values, scores and tier of one customer.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerRfm {
    /// Customer identifier.
    pub customer_id: String,
    /// Days since last purchase, counted to the reference date.
    pub recency: i64,
    /// Number of distinct invoices.
    pub frequency: u64,
    /// Sum of amounts.
    pub monetary: f64,
    /// Day number of the first purchase.
    pub first_day: i64,
    /// Recency score 1..=5, 5 = most recent.
    pub r_score: u8,
    /// Frequency score 1..=5.
    pub f_score: u8,
    /// Monetary score 1..=5.
    pub m_score: u8,
}

impl CustomerRfm {
    /// The three scores as a cell code such as `"545"`.
    pub fn cell(&self) -> String {
        format!("{}{}{}", self.r_score, self.f_score, self.m_score)
    }

    /// The named tier from the R and F scores.
    pub fn tier(&self) -> Tier {
        Tier::from_scores(self.r_score, self.f_score)
    }

    /// Historical customer lifetime value: everything the customer has spent so far.
    pub fn historical_clv(&self) -> f64 {
        self.monetary
    }

    /// Average amount per invoice.
    pub fn average_order_value(&self) -> f64 {
        if self.frequency == 0 { 0.0 } else { self.monetary / self.frequency as f64 }
    }
}

/// Named RFM tiers (the common R×F grid used by marketing teams).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tier {
    /// Bought recently and often (R 5, F 4–5).
    Champions,
    /// Buy often and fairly recently (R 3–4, F 4–5).
    LoyalCustomers,
    /// Recent with average frequency (R 4–5, F 2–3).
    PotentialLoyalists,
    /// Bought very recently for the first times (R 5, F 1).
    NewCustomers,
    /// Recent but rare (R 4, F 1).
    Promising,
    /// Average recency and frequency (R 3, F 3).
    NeedAttention,
    /// Below-average recency and frequency (R 3, F 1–2).
    AboutToSleep,
    /// Used to buy often, not lately (R 1–2, F 3–4).
    AtRisk,
    /// Used to be the best, not lately (R 1–2, F 5).
    CantLoseThem,
    /// Long ago and rarely (R 1–2, F 1–2).
    Hibernating,
}

impl Tier {
    /// Tier from R and F scores (1..=5).
    pub fn from_scores(r: u8, f: u8) -> Tier {
        match (r, f) {
            (..=2, ..=2) => Tier::Hibernating,
            (..=2, 3..=4) => Tier::AtRisk,
            (..=2, _) => Tier::CantLoseThem,
            (3, ..=2) => Tier::AboutToSleep,
            (3, 3) => Tier::NeedAttention,
            (3..=4, 4..) => Tier::LoyalCustomers,
            (4, ..=1) => Tier::Promising,
            (_, ..=1) => Tier::NewCustomers,
            (4.., 2..=3) => Tier::PotentialLoyalists,
            _ => Tier::Champions,
        }
    }

    /// Human-readable name.
    pub fn name(self) -> &'static str {
        match self {
            Tier::Champions => "Champions",
            Tier::LoyalCustomers => "Loyal customers",
            Tier::PotentialLoyalists => "Potential loyalists",
            Tier::NewCustomers => "New customers",
            Tier::Promising => "Promising",
            Tier::NeedAttention => "Need attention",
            Tier::AboutToSleep => "About to sleep",
            Tier::AtRisk => "At risk",
            Tier::CantLoseThem => "Can't lose them",
            Tier::Hibernating => "Hibernating",
        }
    }
}

/// RFM table of all customers plus the reference date.
#[derive(Debug, Clone, PartialEq)]
pub struct RfmTable {
    /// Reference day number (midnight after the last purchase).
    pub ref_day: i64,
    /// Customers in lexicographic id order.
    pub customers: Vec<CustomerRfm>,
}

/// Per-customer aggregates over a set of transactions.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Aggregate {
    pub customer_id: String,
    pub first_ts: i64,
    pub last_ts: i64,
    pub frequency: u64,
    pub monetary: f64,
}

/// Aggregate transactions per customer in lexicographic id order.
/// Amounts are summed with Kahan compensation in row order, as pandas does,
/// so that equal spends compare equal.
pub(crate) fn aggregate<'a>(tx: impl IntoIterator<Item = &'a Transaction>) -> Vec<Aggregate> {
    struct Acc<'a> {
        first: i64,
        last: i64,
        invoices: HashSet<&'a str>,
        sum: f64,
        comp: f64,
    }
    let mut map: HashMap<&'a str, Acc<'a>> = HashMap::new();
    for t in tx {
        let a = map.entry(t.customer_id.as_str()).or_insert_with(|| Acc {
            first: t.timestamp,
            last: t.timestamp,
            invoices: HashSet::new(),
            sum: 0.0,
            comp: 0.0,
        });
        a.first = a.first.min(t.timestamp);
        a.last = a.last.max(t.timestamp);
        a.invoices.insert(t.invoice.as_str());
        let y = t.amount - a.comp;
        let s = a.sum + y;
        a.comp = s - a.sum - y;
        a.sum = s;
    }
    let mut out: Vec<Aggregate> = map
        .into_iter()
        .map(|(id, a)| Aggregate {
            customer_id: id.to_string(),
            first_ts: a.first,
            last_ts: a.last,
            frequency: a.invoices.len() as u64,
            monetary: a.sum,
        })
        .collect();
    out.sort_by(|a, b| a.customer_id.cmp(&b.customer_id));
    out
}

/// Keys that order customer ids: numeric when all ids parse as integers.
pub(crate) enum IdKeys {
    Numeric(Vec<i64>),
    Text,
}

pub(crate) fn id_keys(ids: &[&str]) -> IdKeys {
    let parsed: Option<Vec<i64>> = ids.iter().map(|s| s.trim().parse::<i64>().ok()).collect();
    match parsed {
        Some(v) => IdKeys::Numeric(v),
        None => IdKeys::Text,
    }
}

/// Quintile scores by rank with id tie-break: `floor(rank*5/n)+1`, rank from 0.
pub fn quintile_scores(values: &[f64], ids: &[&str]) -> Result<Vec<u8>> {
    if values.len() != ids.len() {
        return Err(Error::Shape(format!("{} values for {} ids", values.len(), ids.len())));
    }
    let n = values.len();
    let keys = id_keys(ids);
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| {
        values[a].total_cmp(&values[b]).then_with(|| match &keys {
            IdKeys::Numeric(k) => k[a].cmp(&k[b]),
            IdKeys::Text => ids[a].cmp(ids[b]),
        })
    });
    let mut score = vec![0u8; n];
    for (rank, &i) in order.iter().enumerate() {
        score[i] = ((rank * 5) / n) as u8 + 1;
    }
    Ok(score)
}

/// Compute the RFM table of a transaction list.
pub fn rfm(tx: &[Transaction]) -> Result<RfmTable> {
    let max_ts = tx.iter().map(|t| t.timestamp).max().ok_or(Error::Empty("transactions"))?;
    let ref_day = day_of(max_ts) + 1;
    let agg = aggregate(tx);
    let ref_ts = ref_day * DAY;
    let ids: Vec<&str> = agg.iter().map(|a| a.customer_id.as_str()).collect();
    let rec: Vec<i64> = agg.iter().map(|a| (ref_ts - a.last_ts).div_euclid(DAY)).collect();
    let r = quintile_scores(&rec.iter().map(|&v| v as f64).collect::<Vec<_>>(), &ids)?;
    let f = quintile_scores(&agg.iter().map(|a| a.frequency as f64).collect::<Vec<_>>(), &ids)?;
    let m = quintile_scores(&agg.iter().map(|a| a.monetary).collect::<Vec<_>>(), &ids)?;
    let customers = agg
        .iter()
        .enumerate()
        .map(|(i, a)| CustomerRfm {
            customer_id: a.customer_id.clone(),
            recency: rec[i],
            frequency: a.frequency,
            monetary: a.monetary,
            first_day: day_of(a.first_ts),
            r_score: 6 - r[i],
            f_score: f[i],
            m_score: m[i],
        })
        .collect();
    Ok(RfmTable { ref_day, customers })
}

/// Column-wise z-scores (population standard deviation; a zero deviation becomes 1).
/// Means and deviations are accumulated row by row, as numpy does along axis 0.
pub fn zscore_columns(x: &[Vec<f64>]) -> (Vec<Vec<f64>>, Vec<f64>, Vec<f64>) {
    let (mu, sd) = column_mean_std(x.iter());
    let z = x.iter().map(|row| row.iter().enumerate().map(|(j, v)| (v - mu[j]) / sd[j]).collect()).collect();
    (z, mu, sd)
}

/// Mean and population std (zero std replaced by 1) of the rows given.
pub(crate) fn column_mean_std<'a>(rows: impl Iterator<Item = &'a Vec<f64>> + Clone) -> (Vec<f64>, Vec<f64>) {
    let mut n = 0usize;
    let mut sum: Vec<f64> = Vec::new();
    for r in rows.clone() {
        if sum.is_empty() {
            sum = vec![0.0; r.len()];
        }
        for (s, v) in sum.iter_mut().zip(r) {
            *s += v;
        }
        n += 1;
    }
    let mu: Vec<f64> = sum.iter().map(|s| s / n.max(1) as f64).collect();
    let mut ss = vec![0.0; mu.len()];
    for r in rows {
        for (j, v) in r.iter().enumerate() {
            let d = v - mu[j];
            ss[j] += d * d;
        }
    }
    let sd = ss
        .iter()
        .map(|s| {
            let v = (s / n.max(1) as f64).sqrt();
            if v == 0.0 { 1.0 } else { v }
        })
        .collect();
    (mu, sd)
}

/// Segmentation features of the reference: z-scored `log1p([recency, frequency, max(monetary, 0)])`.
pub fn segmentation_features(table: &RfmTable) -> Vec<Vec<f64>> {
    let x: Vec<Vec<f64>> = table
        .customers
        .iter()
        .map(|c| vec![(c.recency as f64).ln_1p(), (c.frequency as f64).ln_1p(), c.monetary.max(0.0).ln_1p()])
        .collect();
    zscore_columns(&x).0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(inv: &str, c: &str, day: i64, amount: f64) -> Transaction {
        Transaction { invoice: inv.into(), customer_id: c.into(), product: "p".into(), timestamp: day * DAY + 3600, amount }
    }

    #[test]
    fn quintiles_break_ties_by_numeric_id() {
        let s = quintile_scores(&[1.0; 10], &["10", "9", "8", "7", "6", "5", "4", "3", "2", "1"]).unwrap();
        assert_eq!(s, vec![5, 5, 4, 4, 3, 3, 2, 2, 1, 1]);
    }

    #[test]
    fn rfm_basics() {
        let tx = vec![t("1", "a", 0, 10.0), t("1", "a", 0, 5.0), t("2", "a", 5, 1.0), t("3", "b", 9, 100.0)];
        let table = rfm(&tx).unwrap();
        assert_eq!(table.ref_day, 10);
        let a = &table.customers[0];
        assert_eq!((a.recency, a.frequency, a.monetary), (4, 2, 16.0));
        let b = &table.customers[1];
        assert_eq!((b.recency, b.r_score, b.f_score), (0, 5, 1));
        assert_eq!(Tier::from_scores(5, 5), Tier::Champions);
        assert_eq!(Tier::from_scores(1, 5), Tier::CantLoseThem);
        assert_eq!(Tier::from_scores(4, 4), Tier::LoyalCustomers);
        assert_eq!(Tier::from_scores(5, 3), Tier::PotentialLoyalists);
    }
}
