//! `rapport`: the one binary. Serves the API and UI, builds a demo company, manages users and
//! migrations. `main` only reports the error chain and sets the exit code.

use std::net::SocketAddr;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use rapport_domain::permissions::{Actor, Role};
use rapport_domain::values::Region;
use rapport_server::{AppState, Config};
use rapport_store::{NewUser, Store};

/// glibc's allocator was a fifth of the server's CPU under load (per-request JSON, rows, strings);
/// mimalloc's thread-local free lists cost a fraction of that.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod analyze;
mod backup;
mod clean;
mod demo;
mod export;
mod import;
mod keys;
mod mail;
mod report;
mod sla;

#[derive(Parser)]
#[command(name = "rapport", version, about = "Rapport CRM: one binary for the API, the web UI and the command line")]
struct Cli {
    /// Database: a SQLite file path, sqlite://…, or postgres://user@host/db.
    #[arg(long, global = true, env = "RAPPORT_DATABASE_URL", default_value = "rapport.db")]
    database: String,
    /// Log as JSON lines (for log collectors) instead of text.
    #[arg(long, global = true, env = "RAPPORT_LOG_JSON")]
    log_json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API and the web UI.
    Serve(ServeArgs),
    /// Fill the database with a deterministic demo company, print the admin login, and serve.
    Demo(DemoArgs),
    /// Apply pending database migrations.
    Migrate,
    /// Run analytics: on the database (scores written back onto people), or on CSV files with --transactions.
    Analyze(analyze::AnalyzeArgs),
    /// Import people, companies, products, activities, opportunities, orders or tickets from CSV or JSON lines (upserts, progress bar).
    Import(import::ImportArgs),
    /// Export every record of a type as CSV or JSON lines.
    Export(export::ExportArgs),
    /// Print a sales report (pipeline, win_rate, cycle_length, funnel, leaderboard, monthly_sales) as CSV or JSON.
    Report(report::ReportArgs),
    /// Cleanse people's data: print every change (whitespace, emails, phones to E.164, countries to ISO codes, names in capitals), and write them with --apply.
    Clean(clean::CleanArgs),
    /// Merge duplicate people (or companies, with --companies): each LOSER into SURVIVOR, as the API's merge does (their records move, each loser becomes a tombstone pointing to the survivor).
    Merge {
        /// The person (or company) who stays.
        survivor: i64,
        /// The people (or companies) merged into them.
        #[arg(required = true)]
        losers: Vec<i64>,
        /// Merge companies rather than people.
        #[arg(long)]
        companies: bool,
        /// Whose value a field keeps, as FIELD=ID (`email=12`, `custom.tier=12`); by default the survivor's, blanks filled from the losers.
        #[arg(long = "field", value_name = "FIELD=ID")]
        fields: Vec<String>,
    },
    /// Manage encryption keys for sensitive fields (key file).
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Manage user accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Service level agreements: run the breach job once.
    #[command(subcommand)]
    Sla(sla::SlaCommand),
    /// Write a consistent snapshot of the database to FILE while the server keeps running.
    Backup {
        /// The backup file to write (JSON lines; restores into SQLite or PostgreSQL).
        file: std::path::PathBuf,
    },
    /// Rebuild the database from a backup FILE (the database must be empty unless --force).
    Restore {
        /// The backup file to read.
        file: std::path::PathBuf,
        /// Erase the data the database holds before restoring.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Args, Clone)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "RAPPORT_ADDR", default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Region whose numbering plan reads phone numbers typed without a country code: an ISO
    /// 3166 code such as US, GB or DE [default: US].
    #[arg(long, env = "RAPPORT_DEFAULT_REGION")]
    default_region: Option<String>,
    /// The older way to set the region: a calling code (1, 44, 49…), read as that code's main
    /// region (1 = US, 44 = GB). --default-region wins when both are set.
    #[arg(long, env = "RAPPORT_PHONE_COUNTRY_CODE")]
    phone_country_code: Option<String>,
    /// Mark session cookies Secure (set when Rapport is behind HTTPS).
    #[arg(long, env = "RAPPORT_SECURE_COOKIES")]
    secure_cookies: bool,
    /// Behind a reverse proxy: take the client's address from the last X-Forwarded-For entry
    /// (what the proxy appended), e.g. for the web form's per-address throttle.
    #[arg(long, env = "RAPPORT_TRUST_FORWARDED_FOR")]
    trust_forwarded_for: bool,
    #[command(flatten)]
    mail: mail::MailArgs,
    /// Seconds between runs of the SLA breach job (0: do not run it in this process).
    #[arg(long, env = "RAPPORT_SLA_INTERVAL", default_value_t = 60)]
    sla_interval: u64,
    /// Seconds between runs of the drip-sequence job (0: do not run it in this process).
    #[arg(long, env = "RAPPORT_SEQUENCE_INTERVAL", default_value_t = 30)]
    sequence_interval: u64,
    /// Days after which a resolved ticket the customer has not answered closes by itself (0:
    /// never). Snoozed tickets wake on their date in the same job, which runs at the SLA
    /// job's interval (and not when that is 0).
    #[arg(long, env = "RAPPORT_AUTO_CLOSE_DAYS", default_value_t = 7)]
    auto_close_days: u32,
    /// Where customers reach this server (`https://crm.example.com`): mail links to it (the
    /// survey of a resolved ticket). Without it, mail carries no links.
    #[arg(long, env = "RAPPORT_PUBLIC_URL")]
    public_url: Option<String>,
    /// Seconds a webhook sender holds a delivery it is posting (at least 11: an attempt may
    /// take 10). If this process dies mid-delivery, another server, or this one restarted,
    /// posts it again after that long.
    #[arg(long, env = "RAPPORT_WEBHOOK_LEASE_SECS", default_value_t = rapport_server::webhooks::DEFAULT_LEASE_SECS,
        value_parser = clap::value_parser!(i64).range(11..=3600))]
    webhook_lease_secs: i64,
    /// How long an import job's lease lasts, in seconds (it is renewed after every chunk). An
    /// import whose server dies is taken up by another server, or by this one restarted, after
    /// that long, and carries on where its last written chunk ended.
    #[arg(long, env = "RAPPORT_IMPORT_LEASE_SECS", default_value_t = 30, value_parser = clap::value_parser!(i64).range(1..=3600))]
    import_lease_secs: i64,
}

#[derive(Args)]
struct DemoArgs {
    /// Number of people to create.
    #[arg(long, default_value_t = 2000)]
    people: usize,
    /// Number of companies (default: one for every seven people, at least 300).
    #[arg(long)]
    companies: Option<usize>,
    /// Seed for the generator; the same seed gives the same company.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Number of help-desk tickets (default: one for about every twentieth person).
    #[arg(long)]
    tickets: Option<usize>,
    /// Delete an existing SQLite database file first.
    #[arg(long)]
    reset: bool,
    /// Build the data and exit instead of serving.
    #[arg(long)]
    no_serve: bool,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user.
    Create {
        /// Login email.
        #[arg(long)]
        email: String,
        /// Password (at least 10 characters).
        #[arg(long, env = "RAPPORT_USER_PASSWORD")]
        password: String,
        /// Display name (default: the part of the email before @).
        #[arg(long)]
        name: Option<String>,
        /// Make the user an admin (same as --role admin).
        #[arg(long)]
        admin: bool,
        /// Role: admin, manager, sales_rep, support_agent, marketer, viewer, or a custom role's name.
        #[arg(long, default_value = "sales_rep")]
        role: String,
    },
}

async fn open(database: &str) -> anyhow::Result<Store> {
    let store = Store::connect(database).await.map_err(anyhow::Error::msg)?.with_keys(keys::configured()?);
    store.migrate().await.map_err(anyhow::Error::msg)?;
    Ok(store)
}

/// The phone region the settings ask for: `--default-region`, else the main region of
/// `--phone-country-code`, else the US. When both are set and disagree, says which wins.
fn phone_region(args: &ServeArgs) -> anyhow::Result<Region> {
    let from_code = (args.phone_country_code.as_deref())
        .map(|c| Region::for_calling_code(c).map_err(|e| anyhow::anyhow!("RAPPORT_PHONE_COUNTRY_CODE (--phone-country-code): {e}")))
        .transpose()?;
    let Some(region) = args.default_region.as_deref() else {
        return Ok(from_code.unwrap_or_default());
    };
    let region = Region::parse(region).map_err(|e| anyhow::anyhow!("RAPPORT_DEFAULT_REGION (--default-region): {e}"))?;
    if let Some(other) = from_code.filter(|r| r.calling_code() != region.calling_code()) {
        eprintln!(
            "Phone numbers without a country code are read as {region} numbers: RAPPORT_DEFAULT_REGION={region} wins over \
             RAPPORT_PHONE_COUNTRY_CODE={} ({other}); unset one of them.",
            other.calling_code()
        );
    }
    Ok(region)
}

async fn serve(store: Store, args: ServeArgs, phone_region: Region) -> anyhow::Result<()> {
    let config = Config {
        phone_region,
        secure_cookies: args.secure_cookies,
        trust_forwarded_for: args.trust_forwarded_for,
        import_lease_secs: args.import_lease_secs,
    };
    if let Some(url) = &args.public_url {
        store.set_public_url(url);
    }
    mail::spawn(&store, &args.mail)?;
    rapport_server::webhooks::spawn_sender(store.clone(), std::time::Duration::from_secs(1), args.webhook_lease_secs);
    rapport_server::jobs::spawn_ab_job(store.clone(), std::time::Duration::from_secs(15));
    if args.sequence_interval > 0 {
        rapport_server::jobs::spawn_sequence_job(store.clone(), std::time::Duration::from_secs(args.sequence_interval));
    }
    if args.sla_interval > 0 {
        rapport_server::jobs::spawn_sla_job(store.clone(), std::time::Duration::from_secs(args.sla_interval));
        let close_after = (args.auto_close_days > 0).then(|| chrono::Duration::days(i64::from(args.auto_close_days)));
        let every = std::time::Duration::from_secs(args.sla_interval);
        rapport_server::jobs::spawn_ticket_housekeeping(store.clone(), every, close_after);
    }
    let state = AppState::new(store, config);
    let resume_every = std::time::Duration::from_secs((args.import_lease_secs as u64).div_ceil(2));
    rapport_server::jobs::spawn_import_resumer(state.clone(), resume_every);
    let app = rapport_server::build_app(state);
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .with_context(|| format!("cannot listen on {} (is another server running there?)", args.addr))?;
    println!("Rapport is serving on http://{}  (API docs: http://{}/docs/)", args.addr, args.addr);
    rapport_server::serve(listener, app).await.context("server stopped")
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    rapport_server::telemetry::init(cli.log_json);
    match cli.command {
        // File mode: no database, so the global --database is not used.
        Command::Analyze(args) if args.transactions.is_none() => analyze::run_live(&open(&cli.database).await?, &args).await,
        Command::Analyze(args) => analyze::run(&args),
        Command::Report(args) => report::run(&open(&cli.database).await?, &args).await,
        Command::Import(args) => import::run(open(&cli.database).await?, &args).await,
        Command::Export(args) => export::run(open(&cli.database).await?, &args).await,
        Command::Sla(cmd) => sla::run(&open(&cli.database).await?, &cmd).await,
        Command::Clean(args) => clean::run(&open(&cli.database).await?, &args).await,
        Command::Merge { survivor, losers, companies, fields } => {
            let mut choices = std::collections::BTreeMap::new();
            for f in &fields {
                let (field, id) = f.split_once('=').with_context(|| format!("--field {f}: write FIELD=ID"))?;
                choices.insert(field.to_string(), id.parse::<i64>().with_context(|| format!("--field {f}: {id} is not an id"))?);
            }
            let store = open(&cli.database).await?;
            let system = Actor::system();
            let (name, version, diff) = if companies {
                let (kept, diff) = store.merge_companies(&system, survivor, &losers, None, &choices).await?;
                (kept.data.name, kept.version, diff)
            } else {
                let (kept, diff) = store.merge_customers(&system, survivor, &losers, None, &choices).await?;
                (kept.data.name, kept.version, diff)
            };
            println!("merged {losers:?} into {survivor} ({name}), now at version {version}; moved: {}", diff["moved"]);
            Ok(())
        }
        Command::Keys(keys::KeysCommand::Rotate { file, no_new_key }) => keys::rotate(&cli.database, &file, !no_new_key).await,
        Command::Keys(cmd) => keys::run(&cmd),
        Command::Serve(args) => {
            let region = phone_region(&args)?;
            let store = open(&cli.database).await?;
            if store.count_users().await? == 0 {
                eprintln!(
                    "No users yet: create the first admin with\n  rapport user create --admin --email you@example.com --password '…'"
                );
            }
            serve(store, args, region).await
        }
        Command::Backup { file } => backup::backup(&open(&cli.database).await?, &file).await,
        Command::Restore { file, force } => backup::restore(&open(&cli.database).await?, &file, force).await,
        Command::Migrate => {
            open(&cli.database).await?;
            println!("Database is up to date.");
            Ok(())
        }
        Command::Demo(args) => {
            let region = phone_region(&args.serve)?;
            if args.reset && rapport_store::Backend::from_url(&cli.database).is_none() {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", cli.database));
                }
            }
            if keys::configured()?.is_none() && !std::path::Path::new(keys::DEFAULT_FILE).exists() {
                keys::init(std::path::Path::new(keys::DEFAULT_FILE), false)?;
                println!("Created {} to encrypt emails, phones and addresses; back it up apart from the database.", keys::DEFAULT_FILE);
            }
            let store = open(&cli.database).await?;
            if store.count_users().await? > 0 {
                println!("The database already has data; serving it as it is (use --reset to rebuild the demo).");
            } else {
                let companies = args.companies.unwrap_or((args.people / 7).max(300));
                demo::build(&store, args.people, companies, args.seed, args.tickets).await?;
            }
            println!("Sign in as {} with password {}", demo::ADMIN_EMAIL, demo::ADMIN_PASSWORD);
            if args.no_serve { Ok(()) } else { serve(store, args.serve, region).await }
        }
        Command::User(UserCommand::Create { email, password, name, admin, role }) => {
            let role = if admin { Role::Admin.as_str().to_string() } else { role };
            let store = open(&cli.database).await?;
            let name = name.unwrap_or_else(|| email.split('@').next().unwrap_or("").to_string());
            match store.create_user(&Actor::system(), NewUser { email, name, password, role }).await {
                Ok(u) => {
                    println!("Created {} user {} (id {}).", u.role, u.email, u.id);
                    Ok(())
                }
                Err(rapport_store::Error::Invalid(e)) => bail!("cannot create the user: {e}"),
                Err(e) => Err(e.into()),
            }
        }
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run(Cli::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
