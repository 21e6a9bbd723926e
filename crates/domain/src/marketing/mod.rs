//! Marketing (issue 12): campaigns and their members, segments (who to reach, as rules stored
//! as data), the response states members move through, and marketing email: templates with
//! merge fields, the sending of a campaign, consent and suppression, and honest tracking.
//!
//! Campaigns and segments are record types on the shared machinery ([`crate::record`]); their
//! own rules sit here as plain code. The mail queue and the sender are the service module's
//! (`service::mail`), extended rather than copied.

pub mod ab;
pub mod campaigns;
pub mod clusters;
pub mod email;
pub mod members;
pub mod reports;
pub mod segments;
pub mod sequences;
pub mod templates;
pub mod tracking;
pub mod windows;
