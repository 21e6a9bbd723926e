//! The finishing pass over the generated OpenAPI document, so that it states the contract the
//! handlers keep without each annotation repeating it: every operation lists each error status
//! it can answer (from what it takes: a token, path and query parameters, `If-Match`, a body),
//! every error is `application/problem+json` with the `Problem` schema, and every response has
//! a description. Annotations declare only what is particular to an operation (its success,
//! `409`, `429`…).

use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::schema::{ArrayItems, Schema};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, OpenApi, Ref, RefOr, Response};

/// The media type of every error.
pub const PROBLEM: &str = "application/problem+json";

/// Adds the bearer scheme, the standard error responses and the missing descriptions.
pub fn finish(mut doc: OpenApi) -> OpenApi {
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme("bearer", SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()));
    page_items_by_reference(components);
    for item in doc.paths.paths.values_mut() {
        let ops = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch, &mut item.head, &mut item.options];
        for op in ops.into_iter().flatten() {
            complete(op);
        }
    }
    doc
}

/// utoipa inlines a generic's argument, so `Page<Customer>` carried a copy of `Customer` and
/// generated clients got a second, anonymous customer type; the pages refer to it instead.
fn page_items_by_reference(components: &mut utoipa::openapi::Components) {
    let items: Vec<String> = components
        .schemas
        .keys()
        .filter_map(|k| k.strip_prefix("Page_"))
        .filter(|i| components.schemas.contains_key(*i))
        .map(String::from)
        .collect();
    for item in items {
        if let Some(RefOr::T(Schema::Object(page))) = components.schemas.get_mut(&format!("Page_{item}"))
            && let Some(RefOr::T(Schema::Array(data))) = page.properties.get_mut("data")
        {
            data.items = ArrayItems::RefOrSchema(Box::new(RefOr::Ref(Ref::from_schema_name(item))));
        }
    }
}

/// The statuses an operation can answer besides its own, from what it takes.
fn implied_statuses(op: &Operation) -> Vec<u16> {
    let params: Vec<ParameterIn> = op
        .parameters
        .iter()
        .flatten()
        .filter_map(|p| match p {
            RefOr::T(p) => Some(p.parameter_in.clone()),
            RefOr::Ref(_) => None,
        })
        .collect();
    let mut out = vec![];
    if op.security.as_ref().is_some_and(|s| !s.is_empty()) {
        // No, a bad or a revoked token; a role or token scope that does not allow the call.
        out.extend([401, 403]);
    }
    if params.contains(&ParameterIn::Path) {
        // A path value that does not parse; no such record, or not one the caller may see.
        out.extend([400, 404]);
    }
    if params.contains(&ParameterIn::Query) {
        out.push(400);
    }
    if params.contains(&ParameterIn::Header) {
        // A malformed `If-Match`, or a stale one.
        out.extend([400, 412]);
    }
    if op.request_body.is_some() {
        // Not JSON or the wrong shape; over the size limit; values that do not validate.
        out.extend([400, 413, 422]);
    }
    out
}

fn complete(op: &mut Operation) {
    for status in implied_statuses(op) {
        op.responses.responses.entry(status.to_string()).or_insert_with(|| RefOr::T(Response::new("")));
    }
    for (status, response) in op.responses.responses.iter_mut() {
        let RefOr::T(response) = response else { continue };
        let code: u16 = status.parse().unwrap_or(0);
        if response.description.is_empty() {
            response.description = description(code).into();
        }
        if code >= 400 {
            response.content.clear();
            response.content.insert(PROBLEM.into(), RefOr::T(Content::new(Some(Ref::from_schema_name("Problem")))));
        }
    }
}

/// What a status means in this API, for responses that do not say more.
fn description(status: u16) -> &'static str {
    match status {
        200 => "The result",
        201 => "Created: the record, its URL in `Location`",
        202 => "Accepted: the job, its status URL in `Location`",
        204 => "Done; no content",
        400 => "Malformed request: a parameter, header or body that cannot be read (the problem names it)",
        401 => "No token, or one that is unknown, expired or revoked",
        403 => "The role or the token's scope does not allow this",
        404 => "No such record, or not one you may see",
        409 => {
            "A value that must be unique is taken, or the record's state does not allow the change (the problem names the field, and the allowed actions)"
        }
        412 => "`If-Match` names an older version: nothing was changed",
        413 => "The body is larger than the server accepts (2 MiB)",
        422 => "Invalid values, each named in `errors`",
        429 => "Too many failed sign-ins; `Retry-After` says when to try again",
        _ => "See the problem's detail",
    }
}
