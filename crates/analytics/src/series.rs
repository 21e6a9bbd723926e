//! Sales time series from transactions, binned as the reference script does.
//!
//! `sum(amount)` per period: weeks ending on Sunday (pandas `W-SUN`) or calendar
//! months (`MS`); `auto` picks months when the data spans at least 24 months
//! (`days / 30.44`), else weeks. Empty periods inside the range count as 0, and a
//! trailing incomplete period (the last day with data is before the period's last
//! day) is dropped.

use crate::dates::{civil_from_days, day_of, days_from_civil, weekday};
use crate::error::{Error, Result};
use crate::rfm::Transaction;

/// Period length of a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freq {
    /// Weeks Monday..Sunday, labelled by the Sunday.
    Weekly,
    /// Calendar months, labelled by the first day.
    Monthly,
}

impl Freq {
    /// The reference's code: `"W"` or `"M"`.
    pub fn code(self) -> &'static str {
        match self {
            Freq::Weekly => "W",
            Freq::Monthly => "M",
        }
    }
}

/// A binned series.
#[derive(Debug, Clone, PartialEq)]
pub struct SalesSeries {
    /// Period length.
    pub freq: Freq,
    /// Label day of each period (Sunday for weeks, 1st for months), as day numbers.
    pub labels: Vec<i64>,
    /// Sum of amounts per period.
    pub values: Vec<f64>,
}

/// Choose the frequency from the data span (`None` = auto).
pub fn auto_freq(tx: &[Transaction]) -> Result<Freq> {
    let min = tx.iter().map(|t| t.timestamp).min().ok_or(Error::Empty("transactions"))?;
    let max = tx.iter().map(|t| t.timestamp).max().unwrap_or(min);
    let days = (max - min).div_euclid(crate::dates::DAY) as f64;
    Ok(if days / 30.44 >= 24.0 { Freq::Monthly } else { Freq::Weekly })
}

fn month_index(day: i64) -> i64 {
    let (y, m, _) = civil_from_days(day);
    y * 12 + m as i64 - 1
}

fn month_start(index: i64) -> i64 {
    days_from_civil(index.div_euclid(12), (index.rem_euclid(12) + 1) as u32, 1)
}

/// Bin transactions into a sales series (`freq = None` chooses automatically).
pub fn sales_series(tx: &[Transaction], freq: Option<Freq>) -> Result<SalesSeries> {
    let freq = match freq {
        Some(f) => f,
        None => auto_freq(tx)?,
    };
    let first = tx.iter().map(|t| day_of(t.timestamp)).min().ok_or(Error::Empty("transactions"))?;
    let last = tx.iter().map(|t| day_of(t.timestamp)).max().unwrap_or(first);
    // Period index of a day.
    let period = |day: i64| -> i64 {
        match freq {
            Freq::Weekly => (day + 6 - weekday(day)).div_euclid(7), // index of the Sunday ending the week
            Freq::Monthly => month_index(day),
        }
    };
    let label = |p: i64| -> i64 {
        match freq {
            Freq::Weekly => p * 7 + 3, // Sundays are day numbers ≡ 3 (mod 7)
            Freq::Monthly => month_start(p),
        }
    };
    let (p0, p1) = (period(first), period(last));
    let n = (p1 - p0 + 1) as usize;
    let mut sums = vec![0.0; n];
    let mut comp = vec![0.0; n];
    for t in tx {
        let i = (period(day_of(t.timestamp)) - p0) as usize;
        let y = t.amount - comp[i];
        let s = sums[i] + y;
        comp[i] = s - sums[i] - y;
        sums[i] = s;
    }
    let mut labels: Vec<i64> = (p0..=p1).map(label).collect();
    let period_end = match freq {
        Freq::Weekly => label(p1),
        Freq::Monthly => month_start(p1 + 1) - 1,
    };
    if last < period_end {
        sums.pop();
        labels.pop();
    }
    Ok(SalesSeries { freq, labels, values: sums })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dates::DAY;

    #[test]
    fn weeks_end_on_sunday_and_drop_partial() {
        // 2024-12-29 is a Sunday.
        let sun = days_from_civil(2024, 12, 29);
        let tx: Vec<Transaction> = [sun - 6, sun, sun + 1]
            .iter()
            .map(|&d| Transaction { invoice: d.to_string(), customer_id: "1".into(), product: "p".into(), timestamp: d * DAY, amount: 1.0 })
            .collect();
        let s = sales_series(&tx, Some(Freq::Weekly)).unwrap();
        assert_eq!(s.labels, vec![sun]);
        assert_eq!(s.values, vec![2.0]);
        let m = sales_series(&tx, Some(Freq::Monthly)).unwrap();
        assert!(m.values.is_empty()); // December ends on the 31st, after the last day
    }
}
