//! Sales services the API and the web UI share (HTTP or UI → here → store and analytics).

pub mod win_probability;
