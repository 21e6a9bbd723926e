//! Sales records on the shared record machinery: pipelines and opportunities and the facts the
//! win-probability model learns from, activities and their task lists, and the public web form
//! that turns visitors into leads, targets and the sales reports.

mod activities;
pub(crate) mod opportunities;
pub(crate) mod pipelines;
mod reports;
mod targets;
mod web_lead;
pub(crate) mod win_data;

pub use web_lead::WebLeadOutcome;
