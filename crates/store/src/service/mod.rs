//! Customer service (issue 11): tickets and their status history.

mod links;
mod macros;
mod public;
pub(crate) mod tickets;
