//! Customer service (issue 11): tickets and their status history.

pub(crate) mod assignment;
mod links;
mod macros;
pub(crate) mod mail;
mod mentions;
mod public;
pub mod sla;
mod sla_admin;
pub(crate) mod tickets;
