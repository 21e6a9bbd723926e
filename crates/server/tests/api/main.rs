//! API tests: every test runs on SQLite and, when `RAPPORT_TEST_POSTGRES_URL` is set, on
//! PostgreSQL, through the real router.

mod helpers;

mod analytics;
mod auth;
mod companies;
mod contact_values;
mod custom_fields;
mod customers;
mod encryption;
mod errors;
mod lists;
mod meta;
mod opportunities;
mod ownership;
mod privacy;
mod sales_ui;
mod security;
mod sign_in;
mod sync;
mod ui;
mod win_probability;
