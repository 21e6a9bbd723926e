//! Sales services the API and the web UI share (HTTP or UI → here → store and analytics).

pub mod reports;
pub mod win_probability;
