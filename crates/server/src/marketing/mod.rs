//! Marketing services the API, the web UI and the background jobs share (issue 12): the A/B
//! test's comparison and decision, which need the store and the analytics crate together.

pub mod ab;
