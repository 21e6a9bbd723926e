//! Customer service (issue 11): the ticket workflow and the business-hours clock its SLAs are
//! measured on.
//!
//! Like [`crate::sales`], nothing here does I/O: the workflow says which action leads where
//! (and refuses the others with the actions allowed now, answered as 409), and the calendar
//! turns working periods, holidays and a time zone into business seconds between two instants
//! and the instant a target falls due.

pub mod assignment;
pub mod business_time;
pub mod calendar;
pub mod canned;
pub mod feedback;
pub mod links;
pub mod mail;
pub mod mail_settings;
pub mod mention;
pub mod message;
pub mod public;
pub mod report;
pub mod sla;
pub mod sla_policy;
pub mod survey;
pub mod ticket;
pub mod work_calendar;
pub mod workflow;
