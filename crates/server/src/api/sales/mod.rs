//! The sales API (issue 9): pipelines and opportunities.

pub mod opportunities;
pub mod pipelines;

use utoipa::IntoParams;
use utoipa::openapi::path::{Parameter, ParameterIn};
use utoipa::openapi::{ObjectBuilder, RefOr, Schema, Type};

/// The parameters every list takes ([`super::ListQuery`]) without those in `drop`, and with
/// `sort` taking one of `sorts` (each also with `-` for descending).
fn list_params(drop: &[&str], sorts: &[&str]) -> Vec<Parameter> {
    let pattern = format!("^-?({})$", sorts.join("|"));
    super::ListQuery::into_params(|| Some(ParameterIn::Query))
        .into_iter()
        .filter(|p| !drop.contains(&p.name.as_str()))
        .map(|mut p| {
            if p.name == "sort" {
                let schema = ObjectBuilder::new().schema_type(Type::String).pattern(Some(pattern.clone()));
                p.schema = Some(RefOr::T(Schema::Object(schema.build())));
                p.description =
                    Some(format!("{}, `-` for descending", sorts.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ")));
            }
            p
        })
        .collect()
}
