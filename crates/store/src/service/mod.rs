//! Customer service (issue 11): tickets and their status history.

mod public;
pub(crate) mod tickets;
