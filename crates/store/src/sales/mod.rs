//! Sales records on the shared record machinery (issue 9): pipelines and opportunities, and
//! the facts the win-probability model learns from.

pub(crate) mod opportunities;
pub(crate) mod pipelines;
pub(crate) mod win_data;
