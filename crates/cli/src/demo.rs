//! A deterministic demo company: the same seed always gives the same users, companies and
//! people, so screenshots, tests and benchmarks see the same data.

use std::time::{Duration, Instant};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use rapport_domain::accounts::TeamChanges;
use rapport_domain::company::CompanyInput;
use rapport_domain::custom_field::{CustomFieldInput, FieldObject, FieldType};
use rapport_domain::customer::{Address, CustomerInput, LifecycleStage};
use rapport_domain::permissions::{Actor, Role};
use rapport_domain::values::Region;
use rapport_store::{NewUser, Store};
use serde_json::{Map, Value, json};

mod deals;
mod orders;
mod surveys;
mod targets;
mod tickets;

/// The demo admin's login.
pub const ADMIN_EMAIL: &str = "admin@rapport.test";
/// The demo admin's password (demo data only; printed at start).
pub const ADMIN_PASSWORD: &str = "rapport-demo-password";

/// SplitMix64: tiny, fast and fully deterministic across platforms.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, xs: &'a [&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

const FIRST: &[&str] = &[
    "Ann",
    "José",
    "Zoë",
    "Liam",
    "Mia",
    "Noah",
    "Emma",
    "Lucas",
    "Sofía",
    "Mateo",
    "Chloé",
    "Hugo",
    "Léa",
    "Ólafur",
    "Ingrid",
    "Björn",
    "Amélie",
    "Raj",
    "Priya",
    "Wei",
    "Mei",
    "Kenji",
    "Yuki",
    "Fatima",
    "Omar",
    "Aisha",
    "Kwame",
    "Ngozi",
    "Elena",
    "Dmitri",
    "Olga",
    "Marco",
    "Giulia",
    "Sean",
    "Siobhán",
    "Hannah",
    "David",
    "Sarah",
    "Michael",
    "Laura",
    "Jonas",
    "Anja",
    "Paulo",
    "Beatriz",
    "Tomás",
    "Renée",
    "François",
    "Søren",
    "Agnieszka",
    "Łukasz",
];
const LAST: &[&str] = &[
    "Lee",
    "García",
    "Müller",
    "Smith",
    "Johnson",
    "Brown",
    "Martin",
    "Dubois",
    "Rossi",
    "Novak",
    "Kowalski",
    "Andersson",
    "Ångström",
    "Jensen",
    "Nakamura",
    "Tanaka",
    "Chen",
    "Wang",
    "Patel",
    "Singh",
    "Okafor",
    "Mensah",
    "Haddad",
    "Ivanova",
    "Petrov",
    "Silva",
    "Santos",
    "Fernández",
    "López",
    "O'Brien",
    "Murphy",
    "Schmidt",
    "Weber",
    "Fischer",
    "Moreau",
    "Lefèvre",
    "Bianchi",
    "Costa",
    "Nguyen",
    "Kim",
    "Park",
    "Cohen",
    "Levi",
    "Øvergaard",
    "Horváth",
    "Dvořák",
    "Popescu",
    "Yılmaz",
    "Åberg",
    "Ng",
];
const CO_A: &[&str] = &[
    "Nordic",
    "Blue",
    "Acme",
    "Summit",
    "Cedar",
    "Atlas",
    "Bright",
    "Silver",
    "Harbor",
    "Pioneer",
    "Crescent",
    "Vertex",
    "Maple",
    "Quantum",
    "Golden",
    "Red Rock",
    "Iron",
    "Evergreen",
    "Lumen",
    "Orbit",
];
const CO_B: &[&str] = &[
    "Logistics",
    "Foods",
    "Analytics",
    "Health",
    "Motors",
    "Textiles",
    "Energy",
    "Software",
    "Partners",
    "Robotics",
    "Retail",
    "Pharma",
    "Media",
    "Bank",
    "Farms",
    "Labs",
    "Outfitters",
    "Studios",
    "Systems",
    "Travel",
];
const CO_C: &[&str] = &["Inc", "GmbH", "Ltd", "SA", "AB", "LLC", "Group", "Co", "SARL", "BV"];
const INDUSTRIES: &[&str] =
    &["Retail", "Manufacturing", "Software", "Healthcare", "Finance", "Logistics", "Food & Beverage", "Media", "Energy", "Education"];
const CITIES: &[(&str, &str, &str)] = &[
    ("San Francisco", "CA", "US"),
    ("New York", "NY", "US"),
    ("Austin", "TX", "US"),
    ("Chicago", "IL", "US"),
    ("Toronto", "ON", "CA"),
    ("London", "", "GB"),
    ("Berlin", "", "DE"),
    ("München", "BY", "DE"),
    ("Paris", "", "FR"),
    ("Lyon", "", "FR"),
    ("Stockholm", "", "SE"),
    ("København", "", "DK"),
    ("Madrid", "", "ES"),
    ("São Paulo", "SP", "BR"),
    ("Tokyo", "", "JP"),
    ("Zürich", "ZH", "CH"),
];
const STREETS: &[&str] =
    &["Main St", "Market St", "Oak Ave", "Hauptstraße", "Rue de la Paix", "Kings Rd", "Storgatan", "Calle Mayor", "Elm St", "Harbor Way"];
const TAGS: &[&str] =
    &["vip", "newsletter", "partner", "trade-show", "enterprise", "smb", "churn-risk", "referral", "beta-tester", "decision-maker"];
/// Real US area codes: phone numbers are validated against libphonenumber's numbering plan,
/// which has no area code 555 (the exchange 555 is the one kept for fiction).
const AREA_CODES: &[&str] =
    &["212", "213", "312", "415", "617", "206", "305", "404", "512", "303", "702", "214", "713", "602", "503", "615"];
const SOURCES: &[&str] = &["web form", "referral", "trade show", "cold call", "partner", "webinar", "advertising"];
const NEEDS: &[&str] = &[
    "Wants to consolidate three spreadsheets into one customer list.",
    "Looking for better forecasting before the next budget round.",
    "Needs faster answers to support tickets; current backlog is two weeks.",
    "Evaluating a switch from their current CRM at renewal.",
    "Interested in the analytics add-on for segmentation.",
    "Asked for a quote for 25 seats.",
    "Needs data to stay in the EU.",
];

/// People written per transaction, with their orders. Every commit writes each index page the
/// transaction touched, and the orders' date, amount and name indexes take rows all over their
/// range: fewer, larger transactions write each page fewer times (BENCHMARKS.md, "Building the
/// demo company"). Memory holds one such batch.
const PEOPLE_PER_WRITE: usize = 5_000;

/// Logs the time since `clock` as stage `stage`'s, and restarts it.
fn lap(clock: &mut Instant, stage: &str) {
    tracing::info!(stage, secs = clock.elapsed().as_secs_f64(), "demo stage done");
    *clock = Instant::now();
}

fn slug(s: &str) -> String {
    rapport_domain::text::fold(s).replace(' ', "")
}

fn bar(len: usize, what: &str) -> ProgressBar {
    let pb = ProgressBar::new(len as u64);
    pb.set_style(
        ProgressStyle::with_template("{msg:>10} [{bar:40}] {pos}/{len} ({per_sec}, {eta} left)")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    pb.set_message(what.to_string());
    pb
}

fn address(rng: &mut Rng) -> Address {
    let (city, region, country) = CITIES[rng.below(CITIES.len())];
    Address {
        street: Some(format!("{} {}", 1 + rng.below(400), rng.pick(STREETS))),
        city: Some(city.into()),
        region: (!region.is_empty()).then(|| region.to_string()),
        postal_code: Some(format!("{:05}", rng.below(99999))),
        country: Some(country.into()),
    }
}

fn tags(rng: &mut Rng) -> Vec<String> {
    (0..rng.below(3)).map(|_| rng.pick(TAGS).to_string()).collect()
}

/// Fills an empty database: users, custom fields, `companies` companies and `people` people.
pub async fn build(store: &Store, people: usize, companies: usize, seed: u64, tickets: Option<usize>) -> anyhow::Result<()> {
    let system = Actor::system();
    let mut rng = Rng(seed);
    let admin = store
        .create_user(
            &system,
            NewUser {
                email: ADMIN_EMAIL.into(),
                name: "Ada Admin".into(),
                password: ADMIN_PASSWORD.into(),
                role: Role::Admin.as_str().into(),
            },
        )
        .await
        .context("creating the demo admin")?;
    let mut owners = vec![admin.id];
    let mut staff_ids = Vec::new();
    let staff = [
        ("Maria Manager", Role::Manager),
        ("Sam Seller", Role::SalesRep),
        ("Rita Rep", Role::SalesRep),
        ("Tom Trader", Role::SalesRep),
        ("Sue Support", Role::SupportAgent),
        ("Mark Marketer", Role::Marketer),
        ("Vic Viewer", Role::Viewer),
    ];
    for (name, role) in staff {
        let email = format!("{}@rapport.test", slug(name.split(' ').next().unwrap_or(name)));
        let u = store
            .create_user(&system, NewUser { email, name: name.into(), password: ADMIN_PASSWORD.into(), role: role.as_str().into() })
            .await?;
        if matches!(role, Role::SalesRep | Role::Manager) {
            owners.push(u.id);
        }
        staff_ids.push(u.id);
    }
    // East shares records among its members; West keeps each rep's records to themselves.
    // Maria manages both, so she sees all of their records.
    for (name, visibility, members) in [("Sales East", "team", [0, 1, 2]), ("Sales West", "private", [0, 3, 3])] {
        let member_ids = Some(members.iter().map(|i| staff_ids[*i]).collect());
        let input = TeamChanges { name: Some(name.into()), visibility: Some(visibility.into()), member_ids };
        store.save_team(&system, None, None, input).await?;
    }
    let field = |object, key: &str, label: &str, field_type, options: &[&str]| CustomFieldInput {
        object,
        key: key.into(),
        label: Some(label.into()),
        field_type,
        options: options.iter().map(|s| s.to_string()).collect(),
        // A budget is commercially sensitive: masked for roles without pii.
        sensitive: key == "annual_budget",
    };
    for f in [
        field(FieldObject::Customer, "vip", "VIP", FieldType::Boolean, &[]),
        field(FieldObject::Customer, "annual_budget", "Annual budget (USD)", FieldType::Number, &[]),
        field(FieldObject::Customer, "preferred_channel", "Preferred channel", FieldType::SingleSelect, &["email", "phone", "in person"]),
        field(FieldObject::Customer, "renewal_date", "Renewal date", FieldType::Date, &[]),
        field(FieldObject::Company, "employees", "Employees", FieldType::Number, &[]),
        field(FieldObject::Company, "tier", "Account tier", FieldType::SingleSelect, &["gold", "silver", "bronze"]),
    ] {
        store.create_custom_field(&system, || f.validate()).await?;
    }
    let company_defs = store.company_fields(&system).await?;
    let customer_defs = store.customer_fields(&system).await?;

    // Each stage logs its time (RUST_LOG=info), to see where a slow demo spends it.
    let mut clock = Instant::now();
    let pb = bar(companies, "companies");
    let mut company_ids = Vec::with_capacity(companies);
    let mut company_domains = Vec::with_capacity(companies);
    let mut company_names = Vec::with_capacity(companies);
    for chunk in (0..companies).collect::<Vec<_>>().chunks(500) {
        let mut batch = Vec::with_capacity(chunk.len());
        for &i in chunk {
            let name = format!("{} {} {}", rng.pick(CO_A), rng.pick(CO_B), rng.pick(CO_C));
            let domain = format!("{}{}.example.com", slug(&name), i + 1);
            let mut custom = Map::new();
            custom.insert("employees".into(), json!(5 + rng.below(5000)));
            custom.insert("tier".into(), json!(["gold", "silver", "bronze"][rng.below(3)]));
            let input = CompanyInput {
                name: Some(name),
                domain: Some(Some(domain.clone())),
                industry: Some(Some(rng.pick(INDUSTRIES).into())),
                phone: Some(Some(format!("+1 {} 555 {:04}", AREA_CODES[rng.below(1000) % AREA_CODES.len()], rng.below(10000)))),
                address: Some(address(&mut rng)),
                owner_id: Some(Some(owners[rng.below(owners.len())])),
                tags: Some(tags(&mut rng)),
                custom: Some(custom),
                ..Default::default()
            };
            batch.push(input.apply(None, &company_defs, Region::US).map_err(|e| anyhow::anyhow!("demo company invalid: {e}"))?);
            company_domains.push(domain);
        }
        let ids = store.create_companies_batch(&system, &batch).await?;
        company_names.extend(ids.iter().zip(&batch).map(|(id, c)| (*id, c.name.clone())));
        company_ids.extend(ids);
        pb.inc(chunk.len() as u64);
    }
    pb.finish();
    lap(&mut clock, "companies");

    let catalogue = orders::catalogue(store).await?;
    let pb = bar(people, "people");
    let mut prospects = Vec::with_capacity(people);
    let mut order_lines = 0;
    let mut ordering = Duration::ZERO;
    for chunk in (0..people).collect::<Vec<_>>().chunks(PEOPLE_PER_WRITE) {
        let mut batch = Vec::with_capacity(chunk.len());
        for &i in chunk {
            let (first, last) = (rng.pick(FIRST), rng.pick(LAST));
            let works = !company_ids.is_empty() && rng.chance(85);
            let c = rng.below(company_ids.len().max(1));
            let domain = if works {
                company_domains[c].clone()
            } else {
                ["gmail.example", "mail.example", "outlook.example"][rng.below(3)].to_string()
            };
            let stage = LifecycleStage::ALL[[0, 0, 1, 1, 2, 2, 2, 3][rng.below(8)]];
            let mut custom = Map::new();
            if rng.chance(10) {
                custom.insert("vip".into(), Value::Bool(true));
            }
            if rng.chance(60) {
                custom.insert("annual_budget".into(), json!(1000 * (1 + rng.below(500))));
            }
            if rng.chance(50) {
                custom.insert("preferred_channel".into(), json!(["email", "phone", "in person"][rng.below(3)]));
            }
            if stage == LifecycleStage::Customer && rng.chance(70) {
                custom.insert("renewal_date".into(), json!(format!("2027-{:02}-{:02}", 1 + rng.below(12), 1 + rng.below(28))));
            }
            let input = CustomerInput {
                name: Some(format!("{first} {last}")),
                email: Some(Some(format!("{}.{}.{}@{domain}", slug(first), slug(last), i + 1))),
                phone: Some(Some(format!("+1 {} 555 {:04}", AREA_CODES[rng.below(800) % AREA_CODES.len()], rng.below(10000)))),
                address: Some(address(&mut rng)),
                company_id: Some(works.then(|| company_ids[c])),
                lifecycle_stage: Some(stage),
                source: Some(Some(rng.pick(SOURCES).into())),
                owner_id: Some(Some(owners[rng.below(owners.len())])),
                tags: Some(tags(&mut rng)),
                needs: Some(rng.chance(40).then(|| rng.pick(NEEDS).to_string())),
                custom: Some(custom),
                ..Default::default()
            };
            batch.push(input.apply(None, &customer_defs, Region::US).map_err(|e| anyhow::anyhow!("demo person invalid: {e}"))?);
        }
        let ids = store.create_customers_batch(&system, &batch).await?;
        let mut bought = vec![];
        for (id, d) in ids.iter().zip(&batch) {
            bought.extend(orders::orders_of(&mut rng, &catalogue, (*id, d.company_id, d.owner_id, d.lifecycle_stage))?);
        }
        order_lines += bought.iter().map(|o| o.lines.len()).sum::<usize>();
        let started = Instant::now();
        store.import_orders(&system, &bought).await?;
        ordering += started.elapsed();
        prospects.extend(ids.iter().zip(&batch).map(|(id, d)| (*id, d.company_id, d.owner_id, d.lifecycle_stage)));
        pb.inc(chunk.len() as u64);
    }
    pb.finish();
    tracing::info!(stage = "orders", secs = ordering.as_secs_f64(), "demo stage done");
    lap(&mut clock, "people and orders");
    deals::build(store, &owners, &company_names, &prospects, seed).await?;
    lap(&mut clock, "deals");
    println!("Targets: {} quarterly quotas.", targets::build(store).await?);
    // The support agent, the manager and the admin share the tickets.
    let agents: Vec<i64> = staff
        .iter()
        .zip(&staff_ids)
        .filter(|((_, r), _)| matches!(r, Role::SupportAgent | Role::Manager))
        .map(|(_, id)| *id)
        .chain([admin.id])
        .collect();
    let requesters: Vec<(i64, Option<i64>)> = prospects.iter().map(|p| (p.0, p.1)).collect();
    // The help desk is the Support team's queue: Sue works it and Maria leads it.
    let support = TeamChanges {
        name: Some("Support".into()),
        visibility: Some("team".into()),
        member_ids: Some(
            staff.iter().zip(&staff_ids).filter(|((_, r), _)| matches!(r, Role::SupportAgent | Role::Manager)).map(|(_, id)| *id).collect(),
        ),
    };
    let support = store.save_team(&system, None, None, support).await?.id;
    println!("Tickets: {}.", tickets::build(store, &agents, support, &requesters, seed, tickets).await?);
    lap(&mut clock, "tickets");
    surveys::build(store, &agents, &requesters, seed).await?;
    // Score everyone as the analytics pages would, so tiers and segments show from the start.
    println!("Orders: {order_lines} order lines.");
    // Two to three campaigns a month over the orders' span.
    let mut campaigns = vec![];
    for month in 0..22 {
        for n in 0..(2 + rng.below(2)) {
            let (y, m) = (2025 + month / 12, 1 + month % 12);
            let start = 1 + rng.below(20);
            let starts_on = format!("{y}-{m:02}-{start:02}");
            campaigns.push(rapport_domain::marketing::campaigns::CampaignData {
                name: format!(
                    "{} {y}-{m:02} #{}",
                    ["Newsletter", "Search ads", "Social push", "Roadshow", "Print", "Partner promo"][rng.below(6)],
                    n + 1
                ),
                channel: rapport_domain::marketing::campaigns::CHANNELS[rng.below(6)].into(),
                status: rapport_domain::marketing::campaigns::CampaignStatus::Completed,
                budget_minor: 100 * (2_000 + 1_000 * rng.below(28) as i64),
                currency: "USD".into(),
                ends_on: format!("{y}-{m:02}-{:02}", start + 7),
                starts_on,
                ..Default::default()
            });
        }
    }
    store.create_campaigns_batch(&system, &campaigns).await?;
    lap(&mut clock, "campaigns");
    let (leads, activities) = sales_activities(store, &prospects, seed).await?;
    lap(&mut clock, "activities");
    println!("Sales: {leads} leads worked on, {activities} activities.");
    // Fresh statistics before anyone queries: the planner of a just-filled table guesses badly.
    store.analyze().await?;
    lap(&mut clock, "analyze");
    // One batch, one read of the purchase history (each run's time is logged by the batch).
    let runs = rapport_server::analytics::run_batch(store, &system, &rapport_domain::analytics::RunKind::ALL, &Default::default())
        .await
        .map_err(|e| anyhow::anyhow!("demo analytics: {e}"))?;
    let purchases = runs.iter().filter_map(|r| r.result.as_ref()?["purchases"].as_u64()).next_back().unwrap_or(0);
    lap(&mut clock, "analytics");
    println!("Demo company ready: {} users, {companies} companies, {people} people, {purchases} paid order lines.", staff.len() + 1);
    Ok(())
}

/// Lead statuses for the leads, and activities on people: tasks due around the day the demo
/// is built (so the task lists always have something due today and overdue), calls, meetings
/// and notes, each owned by and assigned to the person's owner. Returns (leads given a status
/// other than `new`, activities).
async fn sales_activities(store: &Store, people: &[deals::Prospect], seed: u64) -> anyhow::Result<(usize, usize)> {
    use rapport_domain::sales::activity::{ActivityInput, ActivityKind};
    use rapport_domain::sales::lead::LeadStatus;
    let system = Actor::system();
    let mut rng = Rng(seed ^ 0x5a1e_5ac7);
    const REASONS: &[&str] = &["No budget this year", "Chose a competitor", "Too small for us", "Not reachable"];
    let mut changes = vec![];
    for (id, _, _, _) in people.iter().filter(|(_, _, _, stage)| *stage == LifecycleStage::Lead) {
        let (status, reason) = match rng.below(100) {
            0..35 => continue,
            35..65 => (LeadStatus::Working, None),
            65..82 => (LeadStatus::Nurturing, None),
            _ => (LeadStatus::Disqualified, Some(rng.pick(REASONS).to_string())),
        };
        changes.push((*id, CustomerInput { lead_status: Some(status), disqualified_reason: Some(reason), ..Default::default() }));
    }
    // A transaction per thousand leads: each keeps its own audit row and status history.
    let mut worked = 0;
    for chunk in changes.chunks(1_000) {
        let batch = chunk.iter().map(|(id, input)| (*id, move |cur: &_| input.clone().apply(Some(cur), &[], Region::US)));
        worked += store.update_customers_batch(&system, batch).await?;
    }
    let now = chrono::Utc::now();
    let at = |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    const TASKS: &[&str] = &["Send the quote", "Follow up on the demo", "Check in after onboarding", "Prepare the renewal", "Book a call"];
    const CALLS: &[&str] = &["Intro call", "Pricing questions", "Renewal call", "Support follow-up"];
    const NOTES: &[&str] = &["Prefers email", "Budget decided in Q3", "Met at the trade fair", "Asked for references"];
    let mut batch = vec![];
    let stamp = rapport_domain::now_rfc3339();
    let mut written = 0;
    for (id, _, owner, _) in people {
        if !rng.chance(35) {
            continue;
        }
        for _ in 0..1 + rng.below(3) {
            let kind = ActivityKind::ALL[rng.below(5)];
            let mut input = ActivityInput {
                kind: Some(kind),
                customer_id: Some(Some(*id)),
                owner_id: Some(*owner),
                assignee_id: Some(*owner),
                ..Default::default()
            };
            match kind {
                ActivityKind::Task => {
                    let day = now.date_naive() + chrono::Duration::days(rng.below(16) as i64 - 5);
                    input.subject = Some(rng.pick(TASKS).into());
                    input.due_at =
                        Some(Some(if rng.chance(50) { day.to_string() } else { format!("{day}T{:02}:00:00Z", 8 + rng.below(10)) }));
                    input.done = Some(day < now.date_naive() && rng.chance(40));
                }
                ActivityKind::Call | ActivityKind::Meeting => {
                    let start = now + chrono::Duration::hours(rng.below(24 * 20) as i64 - 24 * 14);
                    input.subject = Some(if kind == ActivityKind::Call { rng.pick(CALLS).into() } else { "Product demo".into() });
                    input.starts_at = Some(Some(at(start)));
                    input.ends_at = Some(Some(at(start + chrono::Duration::minutes(15 + 15 * rng.below(4) as i64))));
                    input.done = Some(start < now);
                }
                ActivityKind::Note | ActivityKind::Email => {
                    input.subject = Some(if kind == ActivityKind::Note { rng.pick(NOTES).into() } else { "Re: your question".into() });
                    input.body = Some(Some("Logged by the demo.".into()));
                }
            }
            batch.push(input.apply(None, &stamp).map_err(|e| anyhow::anyhow!("demo activity invalid: {e}"))?);
        }
        // Written as they are made, a few thousand at a time: memory stays flat however many.
        if batch.len() >= 5_000 {
            written += batch.len();
            store.create_activities_batch(&system, &batch).await?;
            batch.clear();
        }
    }
    written += batch.len();
    store.create_activities_batch(&system, &batch).await?;
    Ok((worked, written))
}
