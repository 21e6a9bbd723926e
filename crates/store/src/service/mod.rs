//! Customer service (issue 11): tickets and their status history.

#[cfg(test)]
mod report_plans;
mod feedback;
mod public;
mod reports;
mod surveys;
pub(crate) mod tickets;
