//! Customer service (issue 11): tickets and their status history.

pub(crate) mod assignment;
pub(crate) mod daily;
mod feedback;
pub mod housekeeping;
mod links;
mod macros;
pub(crate) mod mail;
mod mail_settings;
mod mentions;
mod public;
#[cfg(test)]
mod report_plans;
pub(crate) mod reports;
pub(crate) mod service_times;
pub mod sla;
mod sla_admin;
pub(crate) mod surveys;
pub(crate) mod tickets;
