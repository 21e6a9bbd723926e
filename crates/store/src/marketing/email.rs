//! Moving campaign members through their response states as the email machinery learns what
//! happened (sent, opened, clicked, bounced, complained, unsubscribed), through the one
//! function the API's responses use too ([`super::members::record_response`]).

use rapport_domain::marketing::members::ResponseState;

use crate::{Error, Result, WriteTx};

/// Records that `person` reached `state` in `campaign` at `at` (see `record_response`: times
/// are kept from the first time, the status only moves forward). What mail reports about
/// someone who is not a member, or after a final state, changes nothing and is no error: the
/// mail itself was sent or bounced whatever the member's row says.
pub(crate) async fn advance_member(tx: &mut WriteTx, campaign: i64, person: i64, state: &str, at: &str) -> Result<()> {
    let Some(state) = ResponseState::parse(state) else { return Ok(()) };
    match super::members::record_response(tx, campaign, person, state, at).await {
        Ok(_) | Err(Error::NotFound) | Err(Error::Refused(_)) => Ok(()),
        Err(e) => Err(e),
    }
}
