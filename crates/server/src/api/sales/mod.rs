//! Sales resources: pipelines and opportunities, products and orders, activities and task
//! lists, the public web-to-lead endpoint with its settings, targets and the sales reports.

use rapport_domain::record::{Field, Kind, RecordSpec};
use utoipa::IntoParams;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::{ObjectBuilder, Required, Type};
use utoipa_axum::router::OpenApiRouter;

use super::ListQuery;
use crate::AppState;

mod activities;
mod leads;
pub mod opportunities;
pub mod orders;
pub mod pipelines;
pub mod products;
mod reports;
mod targets;
pub mod web_to_lead;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(activities::router())
        .merge(web_to_lead::router())
        .merge(pipelines::router())
        .merge(opportunities::router())
        .merge(leads::router())
        .merge(products::router())
        .merge(orders::router())
        .merge(targets::router())
        .merge(reports::router())
}

/// The query parameters of a record type's list, from its spec: every list's (without `tag`
/// when the type has no tags, with the type's own sorts), and one per filterable field, plus
/// `.gte`/`.lte` for numbers, amounts, dates and times.
pub(crate) fn list_params(spec: &RecordSpec) -> Vec<Parameter> {
    let query = || Some(ParameterIn::Query);
    let mut sorts: Vec<&str> = vec!["name", "created_at", "updated_at", "id"];
    sorts.extend(spec.fields.iter().filter(|f| f.sort && f.name != spec.title).map(|f| f.param()));
    if spec.searched() {
        sorts.push("relevance");
    }
    let mut params: Vec<Parameter> = ListQuery::into_params(query)
        .into_iter()
        .filter(|p| match p.name.as_str() {
            "tag" => spec.tags().is_some(),
            "q" => spec.searched(),
            "owner_id" => spec.owned,
            _ => true,
        })
        .map(|mut p| {
            if p.name == "sort" {
                let pattern = format!("^-?({})$", sorts.join("|"));
                p.schema = Some(ObjectBuilder::new().schema_type(Type::String).pattern(Some(pattern)).into());
            }
            p
        })
        .collect();
    for f in spec.fields.iter().filter(|f| f.filter && f.kind != Kind::Tags) {
        let names: Vec<String> = if f.ranged() {
            vec![f.param().to_string(), format!("{}.gte", f.param()), format!("{}.lte", f.param())]
        } else {
            vec![f.param().to_string()]
        };
        for name in names {
            if params.iter().any(|p| p.name == name) {
                continue;
            }
            let what = match name.rsplit_once('.') {
                Some((_, "gte")) => format!("Only records whose {} is at or after (or at least) this", f.label.to_lowercase()),
                Some((_, "lte")) => format!("Only records whose {} is at or before (or at most) this", f.label.to_lowercase()),
                _ => format!("Only records with this {}", f.label.to_lowercase()),
            };
            params.push(
                ParameterBuilder::new()
                    .name(name)
                    .parameter_in(ParameterIn::Query)
                    .required(Required::False)
                    .description(Some(what))
                    .schema(Some(param_schema(f)))
                    .build(),
            );
        }
    }
    params
}

fn param_schema(f: &Field) -> ObjectBuilder {
    match f.kind {
        Kind::Int | Kind::Ref(_) | Kind::Money => ObjectBuilder::new()
            .schema_type(Type::Integer)
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(utoipa::openapi::KnownFormat::Int64))),
        Kind::Number => ObjectBuilder::new().schema_type(Type::Number),
        Kind::Bool => ObjectBuilder::new().schema_type(Type::Boolean),
        Kind::Choice(options) => ObjectBuilder::new().schema_type(Type::String).enum_values(Some(options.iter().copied())),
        _ => ObjectBuilder::new().schema_type(Type::String),
    }
}
