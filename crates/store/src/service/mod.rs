//! Customer service (issue 11): tickets and their status history.

mod feedback;
mod public;
#[cfg(test)]
mod report_plans;
mod reports;
mod surveys;
pub(crate) mod tickets;
