//! API tests: every test runs on SQLite and, when `RAPPORT_TEST_POSTGRES_URL` is set, on
//! PostgreSQL, through the real router.

mod helpers;

mod activities;
mod activities_ui;
mod analytics;
mod auth;
mod bulk;
mod companies;
mod contact_values;
mod convert;
mod custom_fields;
mod customers;
mod dashboard_ui;
mod deals_ui;
mod encryption;
mod errors;
mod feedback;
mod group_commit;
mod imports;
mod leads;
mod list_plans;
mod lists;
mod meta;
mod monthly_sales;
mod opportunities;
mod orders;
mod orders_ui;
mod ownership;
mod privacy;
mod reports;
mod security;
mod service_reports;
mod sign_in;
mod support_ui;
mod surveys;
mod sync;
mod targets;
mod tickets;
mod tickets_ui;
mod timeline;
mod timeline_ui;
mod ui;
mod web_to_lead;
mod win_probability;
