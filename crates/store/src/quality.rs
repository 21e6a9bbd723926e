//! Cleansing people's data on demand: a preview of what [`rapport_domain::quality`] would
//! change, page by page over the people the actor sees, and applying exactly the previewed
//! records (each at the version it was previewed at) through the normal update path, so every
//! change is validated, audited and announced to webhooks like an edit by hand.

use rapport_domain::customer::{Customer, CustomerData};
use rapport_domain::permissions::{Action, Actor, Object, require};
use rapport_domain::quality::duplicates::{Candidate, DuplicateCandidate, DuplicatePair, company_name_key, find, score, strong};
use rapport_domain::quality::{CleanPage, CleanRecord, Findings, QualityReport, clean_customer};
use rapport_domain::query::{ListParams, SortField};
use rapport_domain::values::Region;

use crate::sql::Sql;
use crate::{Error, Result, Store};

/// Cleansing reads and writes contact details, so it needs them unmasked and editable.
fn require_clean(actor: &Actor) -> Result<()> {
    require(actor, Object::Customer, Action::Update)?;
    require(actor, Object::Customer, Action::Pii)?;
    Ok(())
}

fn apply(data: &CustomerData, f: &Findings) -> CustomerData {
    let mut d = data.clone();
    for c in &f.changes {
        let after = c.after.clone();
        match c.field.as_str() {
            "name" => d.name = after,
            "email" => d.email = Some(after),
            "phone" => d.phone = Some(after),
            "address.street" => d.address.street = Some(after),
            "address.city" => d.address.city = Some(after),
            "address.region" => d.address.region = Some(after),
            "address.postal_code" => d.address.postal_code = Some(after),
            "address.country" => d.address.country = Some(after),
            other => {
                let index = |prefix: &str| other.strip_prefix(prefix)?.strip_suffix(']')?.parse::<usize>().ok();
                if let Some(i) = index("additional_emails[") {
                    d.additional_emails[i] = after;
                } else if let Some(i) = index("additional_phones[") {
                    d.additional_phones[i] = after;
                }
            }
        }
    }
    d
}

impl Store {
    /// Reads up to `scan` people after `cursor` (in id order) and returns those cleansing would
    /// change or cannot fix. Writes nothing.
    pub async fn clean_preview(&self, actor: &Actor, region: Region, cursor: Option<String>, scan: u32) -> Result<CleanPage> {
        require_clean(actor)?;
        let mut records = Vec::new();
        let mut scanned = 0;
        let mut cursor = cursor;
        loop {
            let want = (scan as usize - scanned).min(500) as u32;
            let params = ListParams { limit: want, cursor: cursor.take(), sort: SortField::Id, ..Default::default() };
            let page = self.list_customers(actor, &params).await?;
            scanned += page.data.len();
            records.extend(page.data.into_iter().filter_map(|c| found(c, region)));
            cursor = page.next_cursor;
            if cursor.is_none() || scanned >= scan as usize {
                return Ok(CleanPage { records, scanned, next_cursor: cursor });
            }
        }
    }

    /// Applies cleansing to the people named, each only at the version given (what the preview
    /// showed), in one transaction: a person changed since is a conflict and nothing is written.
    /// Returns what was applied.
    pub async fn clean_apply(&self, actor: &Actor, region: Region, records: &[(i64, i64)]) -> Result<Vec<CleanRecord>> {
        require_clean(actor)?;
        let mut applied = Vec::new();
        let mut tx = self.write_tx().await?;
        for &(id, version) in records {
            let current = self.record_in::<Customer>(&mut tx, actor, id, false).await?;
            crate::records::check_version(Some(version), current.version)?;
            // A person with nothing to change is not written (no new version, no audit row).
            let findings = clean_customer(&current.data, region);
            if findings.changes.is_empty() {
                continue;
            }
            let saved: Customer =
                self.update_in::<Customer, _, Error>(&mut tx, actor, id, Some(version), |data| Ok(apply(data, &findings))).await?;
            applied.push(CleanRecord { id, version: saved.version, name: saved.data.name, findings });
        }
        tx.commit().await?;
        Ok(applied)
    }
}

/// What the duplicate check compares of a person.
/// Mail providers whose addresses anyone may have: their domain says nothing of a company.
const FREE_MAIL: &[&str] = &[
    "163",
    "aol",
    "gmail",
    "gmx",
    "googlemail",
    "hotmail",
    "icloud",
    "live",
    "mail",
    "me",
    "outlook",
    "proton",
    "protonmail",
    "qq",
    "web",
    "yahoo",
    "yandex",
];

/// The domain of a company's email address, unless it is a free mail provider's.
fn company_mail_domain(email: &str) -> Option<String> {
    let domain = email.rsplit_once('@')?.1.to_lowercase();
    let provider = domain.split('.').next().unwrap_or("");
    (!domain.is_empty() && !FREE_MAIL.contains(&provider)).then_some(domain)
}

fn candidate(id: i64, d: CustomerData) -> Candidate {
    Candidate {
        id,
        name: d.name,
        name_key: None,
        domains: Vec::new(),
        emails: d.email.into_iter().chain(d.additional_emails).map(|e| e.to_lowercase()).collect(),
        phones: d.phone.into_iter().chain(d.additional_phones).collect(),
        company_id: d.company_id,
        city: d.address.city,
    }
}

fn found(c: Customer, region: Region) -> Option<CleanRecord> {
    let findings = clean_customer(&c.data, region);
    let empty = findings.changes.is_empty() && findings.problems.is_empty();
    (!empty).then_some(CleanRecord { id: c.id, version: c.version, name: c.data.name, findings })
}

impl Store {
    /// The data-quality report over every person the actor sees.
    pub async fn quality_report(&self, actor: &Actor, region: Region) -> Result<QualityReport> {
        require_clean(actor)?;
        let mut r = QualityReport { object: "customers".into(), ..Default::default() };
        let mut keys: std::collections::HashMap<String, Vec<i64>> = std::collections::HashMap::new();
        self.scan_customers(actor, |c| {
            r.records += 1;
            let d = &c.data;
            let missing = [
                ("email", d.email.is_none()),
                ("phone", d.phone.is_none()),
                ("company_id", d.company_id.is_none()),
                ("address.country", d.address.country.is_none()),
                ("owner_id", d.owner_id.is_none()),
            ];
            for (field, absent) in missing {
                *r.missing.entry(field.into()).or_default() += usize::from(absent);
            }
            let f = clean_customer(d, region);
            r.cleanable += usize::from(!f.changes.is_empty());
            for p in &f.problems {
                let field = p.field.split('[').next().unwrap_or(&p.field).to_string();
                *r.invalid.entry(field).or_default() += 1;
            }
            // The key the duplicate check blocks on, so the report and the pairs agree.
            let name = rapport_domain::quality::duplicates::name_key(&d.name);
            let email = d.email.as_deref().map(|e| f.after("email", e).to_string());
            let phone = d.phone.as_deref().map(|p| f.after("phone", p).to_string());
            for key in [Some(format!("n:{name}")), email.map(|e| format!("e:{e}")), phone.map(|p| format!("p:{p}"))].into_iter().flatten() {
                keys.entry(key).or_default().push(c.id);
            }
        })
        .await?;
        let mut duplicated: std::collections::HashSet<i64> = std::collections::HashSet::new();
        for ids in keys.values().filter(|ids| ids.len() > 1) {
            duplicated.extend(ids);
        }
        r.suspected_duplicates = duplicated.len();
        Ok(r)
    }
}

impl Store {
    /// Pairs of people the actor sees that may be one person, scored at or above `min_score`,
    /// best first, at most `limit`. Needs `pii` (the pairs are found by contact details).
    pub async fn find_duplicates(&self, actor: &Actor, min_score: f64, limit: usize) -> Result<Vec<DuplicatePair>> {
        require(actor, Object::Customer, Action::Read)?;
        require(actor, Object::Customer, Action::Pii)?;
        let people = self.duplicate_candidates(actor).await?;
        let mut pairs = find(&people, min_score);
        pairs.truncate(limit);
        Ok(pairs)
    }

    /// Pairs of companies the actor sees that may be one: the same web domain, email or phone,
    /// or names alike once their legal form is left out (`ACME Ltd` and `Acme`); scored and
    /// ordered as people's are. Needs `pii` on companies (their email and phone are compared).
    pub async fn find_company_duplicates(&self, actor: &Actor, min_score: f64, limit: usize) -> Result<Vec<DuplicatePair>> {
        require(actor, Object::Company, Action::Read)?;
        require(actor, Object::Company, Action::Pii)?;
        let mut q = Sql::new("SELECT r.id, r.name, r.domain, r.email, r.phone, r.address_city FROM companies r WHERE r.deleted_at IS NULL");
        crate::records::visible(&mut q, actor, "r");
        q.push(" ORDER BY r.id");
        let companies = self
            .read(&q, |r| {
                let name: String = r.get("name")?;
                let email: Option<String> = self.open_opt(r.get("email")?)?;
                Ok(Candidate {
                    id: r.get("id")?,
                    name_key: Some(company_name_key(&name)),
                    name,
                    emails: email.as_ref().map(|e| e.to_lowercase()).into_iter().collect(),
                    phones: self.open_opt(r.get("phone")?)?.into_iter().collect(),
                    // Domains are unique among live companies: the one met twice is a
                    // company's and another's email address.
                    domains: r.get::<Option<String>>("domain")?.into_iter().chain(email.as_deref().and_then(company_mail_domain)).collect(),
                    company_id: None,
                    city: r.get("address_city")?,
                })
            })
            .await?;
        let mut pairs = find(&companies, min_score);
        pairs.truncate(limit);
        Ok(pairs)
    }
}

impl Store {
    /// The people the actor sees who look like `d` (a person about to be created, or `except`
    /// itself): an email or phone in common, or the same name, found through the people search
    /// and scored like [`Store::find_duplicates`]; best first, at most 10.
    pub async fn duplicates_of(&self, actor: &Actor, d: &CustomerData, except: Option<i64>) -> Result<Vec<DuplicateCandidate>> {
        require(actor, Object::Customer, Action::Read)?;
        let me = candidate(0, d.clone());
        let mut queries: Vec<String> = me.emails.iter().chain(&me.phones).cloned().collect();
        if !d.name.trim().is_empty() {
            queries.push(d.name.clone());
        }
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::new();
        for q in queries {
            let terms = rapport_domain::text::query_terms(&q);
            if terms.is_empty() {
                continue;
            }
            let params = ListParams { limit: 20, terms, sort: SortField::Id, ..Default::default() };
            for c in self.list_customers(actor, &params).await?.data {
                if Some(c.id) == except || !seen.insert(c.id) {
                    continue;
                }
                let other = candidate(c.id, c.data);
                let (score, reasons) = score(&me, &other);
                if strong(&reasons) {
                    out.push(DuplicateCandidate { id: other.id, name: other.name, score, reasons });
                }
            }
        }
        out.sort_by(|x, y| y.score.total_cmp(&x.score).then(x.id.cmp(&y.id)));
        out.truncate(10);
        Ok(out)
    }

    /// What the duplicate check compares of every live person the actor sees, read in one
    /// query of only those columns: building whole records (every sealed field opened, custom
    /// values, titles) was most of the check's time.
    async fn duplicate_candidates(&self, actor: &Actor) -> Result<Vec<Candidate>> {
        let mut q = Sql::new(
            "SELECT r.id, r.name, r.email, r.additional_emails, r.phone, r.additional_phones, r.company_id, r.address_city \
             FROM customers r WHERE r.deleted_at IS NULL",
        );
        crate::records::visible(&mut q, actor, "r");
        q.push(" ORDER BY r.id");
        self.read(&q, |r| {
            let list = |v: Option<String>| -> Vec<String> { v.and_then(|s| serde_json::from_str(&s).ok()).unwrap_or_default() };
            let email: Option<String> = self.open_opt(r.get("email")?)?;
            let phone: Option<String> = self.open_opt(r.get("phone")?)?;
            Ok(candidate(
                r.get("id")?,
                CustomerData {
                    name: r.get("name")?,
                    email,
                    additional_emails: list(self.open_opt(r.get("additional_emails")?)?),
                    phone,
                    additional_phones: list(self.open_opt(r.get("additional_phones")?)?),
                    company_id: r.get("company_id")?,
                    address: rapport_domain::customer::Address { city: r.get("address_city")?, ..Default::default() },
                    ..Default::default()
                },
            ))
        })
        .await
    }

    /// Every person the actor sees, in id order, a page at a time: what the report and the
    /// duplicate check read.
    async fn scan_customers(&self, actor: &Actor, mut each: impl FnMut(Customer)) -> Result<()> {
        let mut cursor = None;
        loop {
            let params = ListParams { limit: 500, cursor: cursor.take(), sort: SortField::Id, ..Default::default() };
            let page = self.list_customers(actor, &params).await?;
            page.data.into_iter().for_each(&mut each);
            cursor = page.next_cursor;
            if cursor.is_none() {
                return Ok(());
            }
        }
    }
}
