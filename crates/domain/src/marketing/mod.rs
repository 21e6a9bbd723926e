//! Marketing (issue 12): campaigns and their members, segments (who to reach, as rules stored
//! as data), and the response states members move through.
//!
//! Campaigns and segments are record types on the shared machinery ([`crate::record`]); their
//! own rules sit here as plain code: the campaign status machine, the members' forward-only
//! response states, and the validation of segment rules (which the store compiles to SQL).

pub mod campaigns;
pub mod members;
pub mod segments;
