//! Customer service (issue 11): tickets and their status history.

mod mentions;
mod public;
pub mod sla;
mod sla_admin;
pub(crate) mod tickets;
