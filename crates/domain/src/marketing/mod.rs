//! Marketing email (issue 12 §3–6): templates with merge fields, the sending of a campaign,
//! consent and suppression, and honest tracking. The rules live here; the queue and the
//! sender are the service module's (`service::mail`), extended rather than copied.

pub mod email;
pub mod templates;
pub mod tracking;
