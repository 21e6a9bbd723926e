//! `POST /api/v1/web_to_lead`: the public lead form's endpoint (no sign-in), and
//! `/api/v1/settings/web_form`, where admins list the sites allowed to use it.
//!
//! A submission passes, in order: the origin check (a browser on another site must be on the
//! admins' list, else 403; no `Origin` means no browser, and our own pages are always
//! allowed), the per-address throttle (429 with `Retry-After`), the honeypot (a bot is
//! answered as everyone is, and nothing is stored), validation (422 naming the field), and is
//! then written (see [`rapport_store::Store::submit_web_lead`]). Everyone who gets that far
//! gets the same 202, whether their email was known or not.

use std::net::{IpAddr, SocketAddr};

use axum::Json;
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rapport_domain::sales::web_lead::{WebFormSettings, WebFormSettingsInput, WebLeadInput, parse_origin};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::super::etag;
use crate::AppState;
use crate::error::ApiError;
use crate::extract::{AppJson, CurrentUser, IfMatch, JsonOrForm, request_id};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(submit, preflight)).routes(routes!(get_settings, update_settings))
}

/// Where a request comes from, as the web form judges it: the client's address (what the
/// throttle counts) and the headers the origin check reads.
pub struct Caller {
    /// The throttle's key: an IPv4 address, or the /64 an IPv6 address is in (one host
    /// commonly has a whole /64); `unknown` when the server cannot tell.
    pub client: String,
    /// The request's headers.
    pub headers: HeaderMap,
    /// The host the request was sent to, when the URI names it (HTTP/2 has no `Host`).
    pub authority: Option<String>,
}

/// The throttle's key for `ip`.
fn client_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let forwarded = state.config.trust_forwarded_for.then(|| {
            let all: Vec<&str> = parts.headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).collect();
            all.join(",").rsplit(',').next().and_then(|ip| ip.trim().parse::<IpAddr>().ok())
        });
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
        let client = forwarded.flatten().or(peer).map(client_key).unwrap_or_else(|| "unknown".into());
        Ok(Caller { client, headers: parts.headers.clone(), authority: parts.uri.authority().map(|a| a.to_string()) })
    }
}

/// The `Origin` of a browser request that may submit: `None` for our own pages and for
/// clients that send none, the origin (to answer with CORS headers) for a listed site; 403
/// for any other.
pub(crate) async fn check_origin(state: &AppState, caller: &Caller) -> Result<Option<String>, ApiError> {
    let headers = &caller.headers;
    let Some(raw) = headers.get(header::ORIGIN) else { return Ok(None) };
    let refuse = |shown: &str| ApiError::ForbiddenField {
        field: "Origin".into(),
        message: format!("pages of {shown} may not submit leads here: an admin can allow the site under Admin › Web form"),
    };
    let raw = raw.to_str().map_err(|_| refuse("this site"))?;
    let origin = parse_origin(raw).map_err(|_| refuse(raw))?;
    let authority = origin.split_once("://").map(|(_, a)| a).unwrap_or("");
    let host = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(|h| h.split(',').next().unwrap_or("").trim());
    let forwarded = state.config.trust_forwarded_for.then(|| host("x-forwarded-host")).flatten();
    // Host has the port only when it is not the scheme's default, as an origin does.
    let ours = [host("host"), forwarded, caller.authority.as_deref()].into_iter().flatten().any(|h| {
        let h = h.to_ascii_lowercase();
        h == authority || h.strip_suffix(":443").or_else(|| h.strip_suffix(":80")) == Some(authority)
    });
    if ours {
        return Ok(None);
    }
    if state.store.web_form_public_settings().await?.allowed_origins.contains(&origin) {
        Ok(Some(raw.to_string()))
    } else {
        Err(refuse(raw))
    }
}

/// Takes one submission through the checks and writes it (see the module doc). The UI's form
/// page answers from the same result.
pub async fn receive(state: &AppState, caller: &Caller, input: WebLeadInput) -> Result<(), ApiError> {
    let rid = request_id(&caller.headers);
    if let Some(until) = state.store.throttle_web_lead(&caller.client, rid.clone()).await? {
        return Err(ApiError::Throttled(until));
    }
    if input.is_bot() {
        tracing::info!(client = %caller.client, "web form honeypot filled: nothing stored");
        return Ok(());
    }
    let lead = input.apply(state.config.phone_region)?;
    let ip = Some(caller.client.as_str()).filter(|c| *c != "unknown");
    state.store.submit_web_lead(&lead, ip, rid).await?;
    Ok(())
}

/// What every accepted submission is answered with.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebLeadReceived {
    /// Always `received`.
    #[schema(example = "received")]
    pub status: &'static str,
    /// A message to show the visitor.
    pub message: &'static str,
}

/// What visitors read after submitting.
pub const THANKS: &str = "Thank you: we have your details and will be in touch.";

fn cors(res: &mut Response, origin: Option<String>) {
    let h = res.headers_mut();
    h.insert(header::VARY, HeaderValue::from_static("Origin"));
    if let Some(v) = origin.and_then(|o| HeaderValue::from_str(&o).ok()) {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
    }
}

/// Submit a lead from a public form; no sign-in.
///
/// Send JSON or a form-encoded body. A new email becomes a person at lifecycle stage `lead`
/// (lead status `new`, source `web form`); a known email has the interest recorded on that
/// person. Either way the answer is the same, so it does not tell whether the email was known.
/// Leave `website` empty. Browsers on other sites may submit only when an admin listed their
/// origin; each address may submit 5 times in 10 minutes.
#[utoipa::path(post, path = "/api/v1/web_to_lead", tag = "leads", operation_id = "submit_web_lead",
    request_body(content((WebLeadInput = "application/json"), (WebLeadInput = "application/x-www-form-urlencoded"))),
    responses((status = 202, body = WebLeadReceived, description = "Received (the same answer whatever became of it)"),
        (status = 403, description = "The page's site (`Origin`) is not allowed to submit leads"),
        (status = 429, description = "Too many submissions from this address; `Retry-After` says when to try again",
            headers(("Retry-After" = String, description = "Seconds until submissions are taken again"))),
        ))]
async fn submit(State(state): State<AppState>, caller: Caller, JsonOrForm(input): JsonOrForm<WebLeadInput>) -> Response {
    let origin = match check_origin(&state, &caller).await {
        Ok(o) => o,
        Err(e) => return e.into_response(),
    };
    let mut res = match receive(&state, &caller, input).await {
        Ok(()) => (StatusCode::ACCEPTED, Json(WebLeadReceived { status: "received", message: THANKS })).into_response(),
        Err(e) => e.into_response(),
    };
    cors(&mut res, origin);
    res
}

/// The CORS preflight of a submission from a listed site's page.
#[utoipa::path(options, path = "/api/v1/web_to_lead", tag = "leads", operation_id = "preflight_web_lead",
    responses((status = 204, description = "The site may submit (CORS headers say how)"),
        (status = 403, description = "The page's site (`Origin`) is not allowed to submit leads")))]
async fn preflight(State(state): State<AppState>, caller: Caller) -> Response {
    match check_origin(&state, &caller).await {
        Ok(origin) => {
            let mut res = StatusCode::NO_CONTENT.into_response();
            cors(&mut res, origin);
            let h = res.headers_mut();
            h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("POST"));
            h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static("content-type"));
            h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
            res
        }
        Err(e) => e.into_response(),
    }
}

/// The web form's settings: allowed origins and the owner of new web leads (admins).
#[utoipa::path(get, path = "/api/v1/settings/web_form", tag = "leads", operation_id = "get_web_form_settings", security(("bearer" = [])),
    responses((status = 200, body = WebFormSettings, headers(("ETag" = String, description = "The version, for `If-Match`")))))]
async fn get_settings(State(state): State<AppState>, user: CurrentUser) -> Result<(HeaderMap, Json<WebFormSettings>), ApiError> {
    let s = state.store.web_form_settings(&user.actor).await?;
    Ok((etag(s.version), Json(s)))
}

/// Change the web form's settings (admins; audited); send `If-Match: <version>`.
#[utoipa::path(patch, path = "/api/v1/settings/web_form", tag = "leads", operation_id = "update_web_form_settings",
    request_body = WebFormSettingsInput, security(("bearer" = [])), params(IfMatch),
    responses((status = 200, body = WebFormSettings, headers(("ETag" = String, description = "The new version")))))]
async fn update_settings(
    State(state): State<AppState>,
    user: CurrentUser,
    IfMatch(version): IfMatch,
    AppJson(input): AppJson<WebFormSettingsInput>,
) -> Result<(HeaderMap, Json<WebFormSettings>), ApiError> {
    let s = state.store.update_web_form_settings(&user.actor, version, input).await?;
    Ok((etag(s.version), Json(s)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_are_addresses_and_ipv6_hosts_their_64() {
        assert_eq!(client_key("203.0.113.9".parse().unwrap()), "203.0.113.9");
        assert_eq!(client_key("::ffff:203.0.113.9".parse().unwrap()), "203.0.113.9");
        assert_eq!(client_key("2001:db8:1:2:aaaa::1".parse().unwrap()), "2001:db8:1:2::/64");
        assert_eq!(client_key("2001:db8:1:2:bbbb::7".parse().unwrap()), client_key("2001:db8:1:2::1".parse().unwrap()));
    }
}
