//! Customer service (issue 11): tickets and their status history.

mod public;
mod reports;
mod surveys;
pub(crate) mod tickets;
