//! Customer service (issue 11): tickets and their status history.

mod public;
mod surveys;
pub(crate) mod tickets;
