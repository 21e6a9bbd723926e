//! Customer service (issue 11): tickets and their status history.

pub(crate) mod assignment;
pub(crate) mod mail;
mod public;
pub(crate) mod tickets;
