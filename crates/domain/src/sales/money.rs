//! Money as integers: an amount is a count of minor units (cents, fils, yen) of one ISO 4217
//! currency, never a float, and arithmetic on it is checked. Rates (discounts, tax) are basis
//! points (1 bp = 0.01 %), and the one place where a fraction of a minor unit arises,
//! [`apply_basis_points`], rounds half away from zero.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The largest amount in minor units any record keeps: 2^53 − 1, the largest integer a
/// JavaScript client (or any IEEE double) reads exactly — about 90 trillion dollars.
pub const MAX_MINOR: i64 = (1 << 53) - 1;

/// Checks an amount of minor units is not negative and not above [`MAX_MINOR`].
pub fn check_amount(minor: i64) -> Result<i64, String> {
    if minor < 0 {
        Err("cannot be negative".into())
    } else if minor > MAX_MINOR {
        Err(format!("must be at most {MAX_MINOR} minor units"))
    } else {
        Ok(minor)
    }
}

/// ISO 4217 list one as published on 2026-01-01: every code with a minor unit, and that unit's
/// exponent (2 for cents, 0 for yen, 3 for fils). Codes whose minor unit is "N.A." (gold and
/// the other metals, SDR, the bond-market units, Sucre, the ADB unit, the test codes XTS and
/// XXX) are left out, since no price can be written in them. Withdrawn codes (HRK, BGN, ANG,
/// SLL, ZWL, CUC…) are refused, so new records use the current ones.
#[rustfmt::skip]
const CURRENCIES: &[(&str, u8)] = &[
    ("AED", 2), ("AFN", 2), ("ALL", 2), ("AMD", 2), ("AOA", 2), ("ARS", 2), ("AUD", 2), ("AWG", 2),
    ("AZN", 2), ("BAM", 2), ("BBD", 2), ("BDT", 2), ("BHD", 3), ("BIF", 0), ("BMD", 2), ("BND", 2),
    ("BOB", 2), ("BOV", 2), ("BRL", 2), ("BSD", 2), ("BTN", 2), ("BWP", 2), ("BYN", 2), ("BZD", 2),
    ("CAD", 2), ("CDF", 2), ("CHE", 2), ("CHF", 2), ("CHW", 2), ("CLF", 4), ("CLP", 0), ("CNY", 2),
    ("COP", 2), ("COU", 2), ("CRC", 2), ("CUP", 2), ("CVE", 2), ("CZK", 2), ("DJF", 0), ("DKK", 2),
    ("DOP", 2), ("DZD", 2), ("EGP", 2), ("ERN", 2), ("ETB", 2), ("EUR", 2), ("FJD", 2), ("FKP", 2),
    ("GBP", 2), ("GEL", 2), ("GHS", 2), ("GIP", 2), ("GMD", 2), ("GNF", 0), ("GTQ", 2), ("GYD", 2),
    ("HKD", 2), ("HNL", 2), ("HTG", 2), ("HUF", 2), ("IDR", 2), ("ILS", 2), ("INR", 2), ("IQD", 3),
    ("IRR", 2), ("ISK", 0), ("JMD", 2), ("JOD", 3), ("JPY", 0), ("KES", 2), ("KGS", 2), ("KHR", 2),
    ("KMF", 0), ("KPW", 2), ("KRW", 0), ("KWD", 3), ("KYD", 2), ("KZT", 2), ("LAK", 2), ("LBP", 2),
    ("LKR", 2), ("LRD", 2), ("LSL", 2), ("LYD", 3), ("MAD", 2), ("MDL", 2), ("MGA", 2), ("MKD", 2),
    ("MMK", 2), ("MNT", 2), ("MOP", 2), ("MRU", 2), ("MUR", 2), ("MVR", 2), ("MWK", 2), ("MXN", 2),
    ("MXV", 2), ("MYR", 2), ("MZN", 2), ("NAD", 2), ("NGN", 2), ("NIO", 2), ("NOK", 2), ("NPR", 2),
    ("NZD", 2), ("OMR", 3), ("PAB", 2), ("PEN", 2), ("PGK", 2), ("PHP", 2), ("PKR", 2), ("PLN", 2),
    ("PYG", 0), ("QAR", 2), ("RON", 2), ("RSD", 2), ("RUB", 2), ("RWF", 0), ("SAR", 2), ("SBD", 2),
    ("SCR", 2), ("SDG", 2), ("SEK", 2), ("SGD", 2), ("SHP", 2), ("SLE", 2), ("SOS", 2), ("SRD", 2),
    ("SSP", 2), ("STN", 2), ("SVC", 2), ("SYP", 2), ("SZL", 2), ("THB", 2), ("TJS", 2), ("TMT", 2),
    ("TND", 3), ("TOP", 2), ("TRY", 2), ("TTD", 2), ("TWD", 2), ("TZS", 2), ("UAH", 2), ("UGX", 0),
    ("USD", 2), ("USN", 2), ("UYI", 0), ("UYU", 2), ("UYW", 4), ("UZS", 2), ("VED", 2), ("VES", 2),
    ("VND", 0), ("VUV", 0), ("WST", 2), ("XAD", 2), ("XAF", 0), ("XCD", 2), ("XCG", 2), ("XOF", 0),
    ("XPF", 0), ("YER", 2), ("ZAR", 2), ("ZMW", 2), ("ZWG", 2),
];

/// A current ISO 4217 currency: its three-letter code and the exponent of its minor unit.
/// Only [`Currency::parse`] makes one, so a `Currency` is always a real, current code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency {
    code: &'static str,
    exponent: u8,
}

/// Why a currency code was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidCurrency(String);

impl Currency {
    /// Parses a code, case-insensitively and ignoring surrounding spaces (` usd ` is USD).
    pub fn parse(raw: &str) -> Result<Currency, InvalidCurrency> {
        let code = raw.trim().to_ascii_uppercase();
        CURRENCIES
            .binary_search_by(|(c, _)| c.cmp(&code.as_str()))
            .map(|i| Currency { code: CURRENCIES[i].0, exponent: CURRENCIES[i].1 })
            .map_err(|_| InvalidCurrency(format!("'{}' is not a current ISO 4217 currency code such as USD, EUR or JPY", raw.trim())))
    }

    /// Every currency, in code order (for pickers).
    pub fn all() -> impl Iterator<Item = Currency> {
        CURRENCIES.iter().map(|&(code, exponent)| Currency { code, exponent })
    }

    /// The code, e.g. `USD`.
    pub fn code(self) -> &'static str {
        self.code
    }

    /// Digits after the decimal point: 2 for USD, 0 for JPY, 3 for KWD.
    pub fn exponent(self) -> u8 {
        self.exponent
    }

    /// Minor units in one major unit: 100 for USD, 1 for JPY, 1,000 for KWD.
    pub fn minor_per_major(self) -> i64 {
        10_i64.pow(self.exponent as u32)
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code)
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code)
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Currency, D::Error> {
        let s = String::deserialize(d)?;
        Currency::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Why money arithmetic failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// Amounts of two currencies were combined.
    #[error("cannot combine {0} and {1} amounts")]
    CurrencyMismatch(&'static str, &'static str),
    /// The result does not fit.
    #[error("the amount is too large")]
    Overflow,
}

/// An amount of one currency in minor units (may be negative, e.g. a difference).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    minor: i64,
    currency: Currency,
}

impl Money {
    /// `minor` units of `currency`.
    pub fn new(minor: i64, currency: Currency) -> Money {
        Money { minor, currency }
    }

    /// Nothing, in `currency`.
    pub fn zero(currency: Currency) -> Money {
        Money { minor: 0, currency }
    }

    /// The amount in minor units.
    pub fn minor(self) -> i64 {
        self.minor
    }

    /// The currency.
    pub fn currency(self) -> Currency {
        self.currency
    }

    /// The sum, refused across currencies or on overflow.
    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        if self.currency != other.currency {
            return Err(MoneyError::CurrencyMismatch(self.currency.code, other.currency.code));
        }
        self.minor.checked_add(other.minor).map(|minor| Money { minor, ..self }).ok_or(MoneyError::Overflow)
    }

    /// The difference, refused across currencies or on overflow.
    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        if self.currency != other.currency {
            return Err(MoneyError::CurrencyMismatch(self.currency.code, other.currency.code));
        }
        self.minor.checked_sub(other.minor).map(|minor| Money { minor, ..self }).ok_or(MoneyError::Overflow)
    }

    /// `n` times the amount (a unit price times a quantity), refused on overflow.
    pub fn checked_mul(self, n: i64) -> Result<Money, MoneyError> {
        self.minor.checked_mul(n).map(|minor| Money { minor, ..self }).ok_or(MoneyError::Overflow)
    }

    /// Reads an amount typed in major units, as forms take it: `1234.5`, `1,234.50`, `-3`,
    /// `.75`. Commas and spaces group digits and are ignored; the decimal separator is `.`;
    /// more decimals than the currency has (`1.234` USD, `5.5` JPY) are refused rather than
    /// rounded.
    pub fn parse_major(raw: &str, currency: Currency) -> Result<Money, String> {
        let bad = || format!("'{raw}' is not an amount of {} like 1234.50", currency.code);
        let s: String = raw.trim().chars().filter(|c| *c != ',' && *c != ' ' && *c != '_').collect();
        let (negative, s) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s.as_str()),
        };
        let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
        if (whole.is_empty() && frac.is_empty()) || !whole.chars().chain(frac.chars()).all(|c| c.is_ascii_digit()) {
            return Err(bad());
        }
        if frac.len() > currency.exponent as usize {
            return Err(match currency.exponent {
                0 => format!("{} has no minor unit: write a whole amount", currency.code),
                n => format!("{} has {n} decimal places at most", currency.code),
            });
        }
        let too_large = || format!("'{raw}' is too large");
        let whole: i64 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| too_large())? };
        let frac_minor: i64 = if frac.is_empty() {
            0
        } else {
            frac.parse::<i64>().map_err(|_| bad())? * 10_i64.pow((currency.exponent as usize - frac.len()) as u32)
        };
        let minor = whole.checked_mul(currency.minor_per_major()).and_then(|m| m.checked_add(frac_minor)).ok_or_else(too_large)?;
        Ok(Money { minor: if negative { -minor } else { minor }, currency })
    }

    /// The amount in major units with thousands grouped, without the code: `1,234.50`,
    /// `-0.05`, `1,234` (JPY), `1.500` (KWD).
    pub fn format_amount(self) -> String {
        let per = self.currency.minor_per_major() as u64;
        let abs = self.minor.unsigned_abs();
        let (whole, frac) = (abs / per, abs % per);
        let digits = whole.to_string();
        let mut grouped = String::with_capacity(digits.len() + digits.len() / 3 + 1);
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(c);
        }
        let sign = if self.minor < 0 { "-" } else { "" };
        match self.currency.exponent {
            0 => format!("{sign}{grouped}"),
            e => format!("{sign}{grouped}.{frac:0width$}", width = e as usize),
        }
    }
}

impl fmt::Display for Money {
    /// `1,234.50 USD`: the amount in major units with grouped thousands, then the code. One
    /// format for every currency and locale (symbols and local separators are the UI's job).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.format_amount(), self.currency.code)
    }
}

/// Formats a stored amount (`amount_minor` and `currency` as records keep them) like
/// [`Money`]'s `Display`; an unknown code shows the raw minor units with the code.
pub fn format_minor(minor: i64, currency: &str) -> String {
    match Currency::parse(currency) {
        Ok(c) => Money::new(minor, c).to_string(),
        Err(_) => format!("{minor} {currency}"),
    }
}

/// `n / d` rounded to the nearest integer, halves away from zero (2.5 → 3, −2.5 → −3).
/// `d` must not be 0.
pub fn div_round_half_away(n: i128, d: i128) -> i128 {
    let (q, r) = (n / d, n % d);
    if 2 * r.abs() >= d.abs() { q + n.signum() * d.signum() } else { q }
}

/// `amount × bp / 10,000` (a discount or tax of `bp` basis points), rounded half away from zero
/// to whole minor units; `None` when the result does not fit an `i64`.
pub fn apply_basis_points(amount: i64, bp: i64) -> Option<i64> {
    i64::try_from(div_round_half_away(amount as i128 * bp as i128, 10_000)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cur(code: &str) -> Currency {
        Currency::parse(code).unwrap()
    }

    #[test]
    fn the_table_is_sorted_unique_and_three_capital_letters() {
        assert!(CURRENCIES.windows(2).all(|w| w[0].0 < w[1].0), "binary search needs sorted codes");
        assert!(CURRENCIES.iter().all(|(c, e)| c.len() == 3 && c.chars().all(|ch| ch.is_ascii_uppercase()) && *e <= 4));
        assert_eq!(Currency::all().count(), CURRENCIES.len());
    }

    #[test]
    fn currencies_are_current_iso_codes_with_their_exponent() {
        for (code, exp) in [("USD", 2), ("EUR", 2), ("JPY", 0), ("KWD", 3), ("BHD", 3), ("CLF", 4), ("KRW", 0), ("XCG", 2)] {
            assert_eq!(cur(code).exponent(), exp, "{code}");
        }
        assert_eq!(cur(" usd ").code(), "USD");
        assert_eq!(cur("KWD").minor_per_major(), 1000);
        assert_eq!(cur("JPY").minor_per_major(), 1);
        for bad in ["", "US", "USDX", "XXX", "XAU", "XTS", "HRK", "BGN", "ANG", "ZWL", "usd1", "€"] {
            assert!(Currency::parse(bad).is_err(), "{bad}");
        }
        assert!(Currency::parse("xyz").unwrap_err().to_string().contains("'xyz' is not a current ISO 4217 currency code"));
    }

    #[test]
    fn currencies_serialize_as_their_code_and_deserialize_validated() {
        assert_eq!(serde_json::to_string(&cur("EUR")).unwrap(), r#""EUR""#);
        assert_eq!(serde_json::from_str::<Currency>(r#""gbp""#).unwrap(), cur("GBP"));
        assert!(serde_json::from_str::<Currency>(r#""ABC""#).is_err());
    }

    #[test]
    fn money_displays_major_units_with_grouping_and_code() {
        let m = |minor, code| Money::new(minor, cur(code)).to_string();
        assert_eq!(m(123_450, "USD"), "1,234.50 USD");
        assert_eq!(m(5, "USD"), "0.05 USD");
        assert_eq!(m(-5, "USD"), "-0.05 USD");
        assert_eq!(m(0, "EUR"), "0.00 EUR");
        assert_eq!(m(1234, "JPY"), "1,234 JPY");
        assert_eq!(m(1_500, "KWD"), "1.500 KWD");
        assert_eq!(m(100_000_000, "USD"), "1,000,000.00 USD");
        assert_eq!(m(i64::MIN, "USD"), "-92,233,720,368,547,758.08 USD", "no overflow at the extreme");
        assert_eq!(format_minor(99, "usd"), "0.99 USD");
        assert_eq!(format_minor(99, "???"), "99 ???");
    }

    #[test]
    fn major_amounts_parse_exactly_or_are_refused() {
        let p = |raw, code| Money::parse_major(raw, cur(code)).map(Money::minor);
        assert_eq!(p("1,234.50", "USD"), Ok(123_450));
        assert_eq!(p("1234.5", "USD"), Ok(123_450));
        assert_eq!(p(".75", "USD"), Ok(75));
        assert_eq!(p("-3", "USD"), Ok(-300));
        assert_eq!(p("12.", "USD"), Ok(1200));
        assert_eq!(p("1 234", "JPY"), Ok(1234));
        assert_eq!(p("1.5", "KWD"), Ok(1500));
        assert!(p("1.234", "USD").unwrap_err().contains("2 decimal places"));
        assert!(p("5.5", "JPY").unwrap_err().contains("no minor unit"));
        for bad in ["", ".", "-", "1.2.3", "12a", "$5", "1e3"] {
            assert!(p(bad, "USD").is_err(), "{bad}");
        }
        assert!(p("99999999999999999999", "USD").unwrap_err().contains("too large"));
        assert_eq!(p("92233720368547758.07", "USD"), Ok(i64::MAX));
        assert!(p("92233720368547758.08", "USD").is_err(), "overflows once scaled");
    }

    #[test]
    fn arithmetic_is_checked_and_single_currency() {
        let usd = |n| Money::new(n, cur("USD"));
        assert_eq!(usd(5).checked_add(usd(7)), Ok(usd(12)));
        assert_eq!(usd(5).checked_sub(usd(7)), Ok(usd(-2)));
        assert_eq!(usd(5).checked_mul(3), Ok(usd(15)));
        assert_eq!(usd(5).checked_add(Money::zero(cur("EUR"))), Err(MoneyError::CurrencyMismatch("USD", "EUR")));
        assert_eq!(usd(5).checked_sub(Money::zero(cur("EUR"))), Err(MoneyError::CurrencyMismatch("USD", "EUR")));
        assert_eq!(usd(i64::MAX).checked_add(usd(1)), Err(MoneyError::Overflow));
        assert_eq!(usd(i64::MIN).checked_sub(usd(1)), Err(MoneyError::Overflow));
        assert_eq!(usd(i64::MAX / 2 + 1).checked_mul(2), Err(MoneyError::Overflow));
        assert_eq!(usd(7).minor(), 7);
        assert_eq!(usd(7).currency(), cur("USD"));
    }

    #[test]
    fn rounding_is_half_away_from_zero() {
        assert_eq!(div_round_half_away(5, 2), 3);
        assert_eq!(div_round_half_away(-5, 2), -3);
        assert_eq!(div_round_half_away(4, 3), 1);
        assert_eq!(div_round_half_away(5, 3), 2);
        assert_eq!(div_round_half_away(-5, 3), -2);
        assert_eq!(div_round_half_away(6, 3), 2);
        assert_eq!(div_round_half_away(0, 7), 0);
        assert_eq!(apply_basis_points(5, 1000), Some(1), "10 % of 5 minor units is 0.5, rounded up");
        assert_eq!(apply_basis_points(4, 1000), Some(0), "0.4 rounds down");
        assert_eq!(apply_basis_points(15, 1000), Some(2), "1.5 rounds up");
        assert_eq!(apply_basis_points(1999, 10_000), Some(1999), "100 %");
        assert_eq!(apply_basis_points(i64::MAX, 10_000), Some(i64::MAX));
        assert_eq!(apply_basis_points(i64::MAX, 20_000), None);
    }

    #[test]
    fn amounts_are_bounded_for_exact_json() {
        assert_eq!(check_amount(0), Ok(0));
        assert_eq!(check_amount(MAX_MINOR), Ok(MAX_MINOR));
        assert!(check_amount(MAX_MINOR + 1).is_err());
        assert_eq!(check_amount(-1), Err("cannot be negative".into()));
        assert_eq!(MAX_MINOR, 9_007_199_254_740_991);
    }
}
