//! Sales records on the shared record machinery: pipelines and opportunities and the facts the
//! win-probability model learns from, products and orders, activities and their task lists,
//! the public web form that turns visitors into leads, targets and the sales reports.

mod activities;
mod leads;
pub(crate) mod monthly_sales;
#[cfg(test)]
mod monthly_sales_follow;
#[cfg(test)]
mod monthly_sales_random;
mod monthly_sales_report;
pub(crate) mod opportunities;
pub(crate) mod order_stats;
mod orders;
pub(crate) mod pipelines;
mod products;
#[cfg(test)]
mod purchase_migration;
#[cfg(test)]
mod report_plans;
mod reports;
mod targets;
mod web_lead;
pub(crate) mod win_data;

pub use web_lead::WebLeadOutcome;
