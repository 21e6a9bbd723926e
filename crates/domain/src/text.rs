//! Search text: what full-text search indexes and how a query is split into terms. Both
//! databases index the same folded text, so search behaves alike on SQLite and PostgreSQL and
//! is tolerant of case and accents ("Zoë" is found by "zoe").

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Lower-cases, strips accents and turns every non-alphanumeric run into one space.
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut pending_space = false;
    for c in s.nfkd().filter(|c| !is_combining_mark(*c)).flat_map(char::to_lowercase) {
        let c = match c {
            'ß' => 's',
            'ø' => 'o',
            'đ' => 'd',
            'ł' => 'l',
            'æ' => 'a',
            c => c,
        };
        if c.is_alphanumeric() {
            if pending_space && !out.is_empty() {
                out.push(' ');
            }
            pending_space = false;
            out.push(c);
        } else {
            pending_space = true;
        }
    }
    out
}

/// The terms a user's query asks for, each to be matched as a word prefix. A query that is
/// only a phone number ("(415) 555-0134") becomes one term of its digits, so it matches the
/// phone's indexed digit forms.
pub fn query_terms(q: &str) -> Vec<String> {
    let digits: String = q.chars().filter(char::is_ascii_digit).collect();
    let phone_like = digits.len() >= 4 && q.chars().all(|c| c.is_ascii_digit() || " +-.()/".contains(c));
    if phone_like {
        return vec![digits];
    }
    fold(q).split(' ').filter(|t| !t.is_empty()).take(8).map(str::to_string).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_case_accents_and_punctuation() {
        assert_eq!(fold("Zoë  Ångström-Łukasz"), "zoe angstrom lukasz");
        assert_eq!(fold("ann.lee@example.com"), "ann lee example com");
        assert_eq!(fold("Straße"), "strase");
    }

    #[test]
    fn phone_queries_become_digit_terms() {
        assert_eq!(query_terms("(415) 555-0134"), vec!["4155550134"]);
        assert_eq!(query_terms("José García"), vec!["jose", "garcia"]);
        assert!(query_terms("  ").is_empty());
    }
}
