//! Duplicate detection: which people (or companies) may be one, and why. Candidates are found by
//! blocking (records sharing a normalized email, phone number, web domain, name key or a name
//! word are compared; nobody is compared with everyone), then scored by how much more they share.

use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::text::fold;

/// What a duplicate check compares of one person or company.
#[derive(Debug, Clone, Default)]
pub struct Candidate {
    /// The person or company.
    pub id: i64,
    /// Name as stored.
    pub name: String,
    /// The name key, when it is not made from `name` by [`name_key`] (a company's leaves out
    /// its legal form: [`company_name_key`]).
    pub name_key: Option<String>,
    /// Web domains (a company's).
    pub domains: Vec<String>,
    /// Normalized email addresses (primary first).
    pub emails: Vec<String>,
    /// E.164 phone numbers.
    pub phones: Vec<String>,
    /// Company.
    pub company_id: Option<i64>,
    /// City, as typed.
    pub city: Option<String>,
}

/// Why two people look like one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// An email address in common.
    SameEmail,
    /// A phone number in common.
    SamePhone,
    /// The same web domain (companies).
    SameDomain,
    /// The same words in the name, in any order, ignoring case and accents.
    SameName,
    /// Names that differ by a little (Jaro-Winkler ≥ 0.9 after folding accents).
    SimilarName,
    /// The same company.
    SameCompany,
    /// The same city.
    SameCity,
}

/// A pair of people that may be one, with a score from 0 to 1 and its reasons.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct DuplicatePair {
    /// The lower id.
    pub a: i64,
    /// The higher id.
    pub b: i64,
    /// Name of `a`.
    pub a_name: String,
    /// Name of `b`.
    pub b_name: String,
    /// 0 to 1: above 0.9 is almost surely one person.
    pub score: f64,
    /// What they share.
    pub reasons: Vec<Reason>,
}

/// Someone already stored who looks like a person being created: what `POST /customers`
/// answers in `duplicates`, and the person page lists with a link to merge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DuplicateCandidate {
    /// The existing person.
    pub id: i64,
    /// Their name.
    pub name: String,
    /// 0 to 1, as for [`DuplicatePair`].
    pub score: f64,
    /// What they share with the new person.
    pub reasons: Vec<Reason>,
}

/// Whether `reasons` make a warning on create: an email, phone or domain in common, or the
/// same name.
pub fn strong(reasons: &[Reason]) -> bool {
    reasons.iter().any(|r| matches!(r, Reason::SameEmail | Reason::SamePhone | Reason::SameDomain | Reason::SameName))
}

/// The words of a name folded and sorted: `"Lee, Ann"` and `"ann LEE"` have one key.
pub fn name_key(name: &str) -> String {
    let folded = fold(name);
    let mut words: Vec<&str> = folded.split(' ').filter(|w| !w.is_empty()).collect();
    words.sort_unstable();
    words.join(" ")
}

/// Words of a company name that say its legal form, not which company it is.
const LEGAL_FORMS: &[&str] = &[
    "ab",
    "ag",
    "as",
    "bv",
    "co",
    "company",
    "corp",
    "corporation",
    "gmbh",
    "inc",
    "incorporated",
    "kg",
    "kk",
    "limited",
    "llc",
    "llp",
    "lp",
    "ltd",
    "nv",
    "oy",
    "plc",
    "pte",
    "pty",
    "sa",
    "sarl",
    "sas",
    "spa",
    "srl",
];

/// A company's [`name_key`] without its legal form: `"ACME Ltd."`, `"Acme"` and `"acme, inc"`
/// have one key (`"Gamma S.A."` is `gamma`). A name made only of such words keeps them.
pub fn company_name_key(name: &str) -> String {
    let key = name_key(&name.replace('.', ""));
    let kept: Vec<&str> = key.split(' ').filter(|w| !LEGAL_FORMS.contains(w)).collect();
    if kept.is_empty() { key } else { kept.join(" ") }
}

/// A candidate with what scoring compares worked out once: the duplicate check scores each
/// person against many others.
struct Keyed<'a> {
    person: &'a Candidate,
    name_key: String,
    city: Option<String>,
}

fn keyed(person: &Candidate) -> Keyed<'_> {
    let city = person.city.as_deref().map(fold).filter(|c| !c.is_empty());
    let name_key = person.name_key.clone().unwrap_or_else(|| name_key(&person.name));
    Keyed { person, name_key, city }
}

/// Scores a pair: an email in common is nearly conclusive, a phone almost as much; a name alone
/// needs the company or the city to agree before it counts for much.
pub fn score(a: &Candidate, b: &Candidate) -> (f64, Vec<Reason>) {
    score_keyed(&keyed(a), &keyed(b))
}

fn score_keyed(ka: &Keyed, kb: &Keyed) -> (f64, Vec<Reason>) {
    let (a, b) = (ka.person, kb.person);
    let mut reasons = Vec::new();
    let shares = |x: &[String], y: &[String]| x.iter().any(|v| y.contains(v));
    if shares(&a.emails, &b.emails) {
        reasons.push(Reason::SameEmail);
    }
    if shares(&a.phones, &b.phones) {
        reasons.push(Reason::SamePhone);
    }
    if shares(&a.domains, &b.domains) {
        reasons.push(Reason::SameDomain);
    }
    let similarity = strsim::jaro_winkler(&ka.name_key, &kb.name_key);
    if ka.name_key == kb.name_key {
        reasons.push(Reason::SameName);
    } else if similarity >= 0.9 {
        reasons.push(Reason::SimilarName);
    }
    if a.company_id.is_some() && a.company_id == b.company_id {
        reasons.push(Reason::SameCompany);
    }
    if ka.city.is_some() && ka.city == kb.city {
        reasons.push(Reason::SameCity);
    }
    let has = |r| reasons.contains(&r);
    let contact = if has(Reason::SameEmail) || has(Reason::SameDomain) {
        0.6
    } else if has(Reason::SamePhone) {
        0.5
    } else {
        0.0
    };
    let place = if has(Reason::SameCompany) { 0.1 } else { 0.0 } + if has(Reason::SameCity) { 0.05 } else { 0.0 };
    ((contact + 0.35 * similarity + place).min(1.0), reasons)
}

/// Blocks larger than this say little (a shared switchboard number, a common surname) and
/// would cost n² comparisons; their members are still compared through their other keys.
const MAX_BLOCK: usize = 200;

/// The pairs among `people` that share a blocking key (an email, a phone, a domain, a name key,
/// or a name word of three letters or more), scored, with an email, phone or name reason, at or above
/// `min_score`, best first. Each pair once.
pub fn find(people: &[Candidate], min_score: f64) -> Vec<DuplicatePair> {
    let keys: Vec<Keyed> = people.iter().map(keyed).collect();
    let mut blocks: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, k) in keys.iter().enumerate() {
        let (p, key) = (k.person, &k.name_key);
        let contacts = p
            .emails
            .iter()
            .map(|e| format!("e:{e}"))
            .chain(p.phones.iter().map(|t| format!("p:{t}")))
            .chain(p.domains.iter().map(|d| format!("d:{d}")));
        // People with a name word in common are compared for small spelling differences.
        let words = key.split(' ').filter(|w| w.chars().count() >= 3).map(|w| format!("w:{w}"));
        for k in contacts.chain(words).chain([format!("n:{key}")]) {
            blocks.entry(k).or_default().push(i);
        }
    }
    let mut pairs: BTreeSet<(usize, usize)> = BTreeSet::new();
    for members in blocks.values().filter(|m| m.len() > 1 && m.len() <= MAX_BLOCK) {
        for (x, &i) in members.iter().enumerate() {
            for &j in &members[x + 1..] {
                pairs.insert((i.min(j), i.max(j)));
            }
        }
    }
    let mut out: Vec<DuplicatePair> = pairs
        .into_iter()
        .filter_map(|(i, j)| {
            let (ka, kb) = if people[i].id < people[j].id { (&keys[i], &keys[j]) } else { (&keys[j], &keys[i]) };
            let (s, reasons) = score_keyed(ka, kb);
            let (a, b) = (ka.person, kb.person);
            let strong = strong(&reasons) || reasons.contains(&Reason::SimilarName);
            (strong && s >= min_score).then(|| DuplicatePair {
                a: a.id,
                b: b.id,
                a_name: a.name.clone(),
                b_name: b.name.clone(),
                score: s,
                reasons,
            })
        })
        .collect();
    out.sort_by(|x, y| y.score.total_cmp(&x.score).then((x.a, x.b).cmp(&(y.a, y.b))));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(id: i64, name: &str) -> Candidate {
        Candidate { id, name: name.into(), ..Default::default() }
    }

    #[test]
    fn name_keys_ignore_order_case_and_accents() {
        assert_eq!(name_key("Lee, Ann"), "ann lee");
        assert_eq!(name_key("ANN  LÉE"), "ann lee");
        assert_ne!(name_key("Ann Lee"), name_key("Anne Lee"));
    }

    #[test]
    fn an_email_in_common_is_nearly_conclusive() {
        let mut a = p(1, "Ann Lee");
        let mut b = p(2, "A. Lee");
        a.emails = vec!["ann@example.com".into()];
        b.emails = vec!["other@example.com".into(), "ann@example.com".into()];
        let (s, reasons) = score(&a, &b);
        assert!(s > 0.85, "{s}");
        assert_eq!(reasons, vec![Reason::SameEmail, Reason::SimilarName], "an initial is close to the name");
    }

    #[test]
    fn names_alone_score_lower_than_names_with_a_company_and_city() {
        let (a, b) = (p(1, "Jon Smith"), p(2, "John Smith"));
        let (alone, reasons) = score(&a, &b);
        assert_eq!(reasons, vec![Reason::SimilarName]);
        let (mut a2, mut b2) = (a.clone(), b.clone());
        a2.company_id = Some(7);
        b2.company_id = Some(7);
        a2.city = Some("Zürich".into());
        b2.city = Some("zurich".into());
        let (placed, reasons) = score(&a2, &b2);
        assert_eq!(reasons, vec![Reason::SimilarName, Reason::SameCompany, Reason::SameCity]);
        assert!(placed > alone + 0.1, "{placed} vs {alone}");
    }

    #[test]
    fn companies_are_one_whatever_their_legal_form_and_by_their_domain() {
        assert_eq!(company_name_key("ACME Ltd."), "acme");
        assert_eq!(company_name_key("acme, inc"), "acme");
        assert_eq!(company_name_key("Gamma S.A."), "gamma");
        assert_eq!(company_name_key("Co Ltd"), "co ltd", "nothing but legal form: kept");
        let company = |id, name: &str, domain: Option<&str>| Candidate {
            id,
            name: name.into(),
            name_key: Some(company_name_key(name)),
            domains: domain.into_iter().map(String::from).collect(),
            ..Default::default()
        };
        let firms = [
            company(1, "ACME Ltd", None),
            company(2, "Acme", None),
            company(3, "Roadrunner", Some("acme.example")),
            company(4, "Wile Corp", Some("acme.example")),
            company(5, "Delta", None),
        ];
        let pairs = find(&firms, 0.0);
        let reasons: Vec<(i64, i64, Vec<Reason>)> = pairs.iter().map(|d| (d.a, d.b, d.reasons.clone())).collect();
        assert_eq!(reasons, [(3, 4, vec![Reason::SameDomain]), (1, 2, vec![Reason::SameName])], "a domain counts for more than a name");
    }

    #[test]
    fn find_blocks_scores_and_orders_pairs_once() {
        let mut people =
            vec![p(1, "Ann Lee"), p(2, "Lee Ann"), p(3, "Bob Stone"), p(4, "Zoë Chen"), p(5, "Zoe Chen"), p(6, "Robert Stone")];
        people[2].phones = vec!["+14155550134".into()];
        people[5].phones = vec!["+14155550134".into()];
        let pairs = find(&people, 0.0);
        let ids: Vec<(i64, i64)> = pairs.iter().map(|d| (d.a, d.b)).collect();
        assert!(ids.contains(&(1, 2)) && ids.contains(&(4, 5)) && ids.contains(&(3, 6)), "{ids:?}");
        assert_eq!(ids.len(), 3, "no pair of strangers: {ids:?}");
        assert_eq!(pairs.iter().find(|d| (d.a, d.b) == (3, 6)).unwrap().reasons, vec![Reason::SamePhone]);
        assert!(pairs.windows(2).all(|w| w[0].score >= w[1].score));
        assert!(find(&people, 0.99).is_empty());
    }
}
