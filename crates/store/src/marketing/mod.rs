//! Marketing (issue 12): campaigns and segments on the shared record machinery, campaign
//! members and their responses, and the compiler that turns segment rules into one SQL
//! condition.

pub(crate) mod campaigns;
pub(crate) mod members;
pub(crate) mod segments;
