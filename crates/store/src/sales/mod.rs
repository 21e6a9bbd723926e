//! Sales records on the shared record machinery: activities and their task lists, and the
//! public web form that turns visitors into leads.

mod activities;
mod web_lead;

pub use web_lead::WebLeadOutcome;
