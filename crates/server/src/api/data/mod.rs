//! Data in and out (issue 13): batch writes, exports and imports.

pub mod batch;
pub mod export;
pub mod imports;
pub mod kinds;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

mod routes {
    use super::batch::{BatchRequest, BatchResponse, batch_route, handle};
    use super::kinds::{Activities, Companies, Opportunities, Orders, People, Products, Tickets};
    use crate::AppState;
    use crate::error::ApiError;
    use crate::extract::{AppJson, CurrentUser};
    use axum::extract::State;
    use axum::http::HeaderMap;
    use axum::response::Response;
    use serde_json::Value;

    batch_route!(batch_customers, People, "/api/v1/customers/batch", "customers", "batch_customers");
    batch_route!(batch_companies, Companies, "/api/v1/companies/batch", "companies", "batch_companies");
    batch_route!(batch_products, Products, "/api/v1/products/batch", "products", "batch_products");
    batch_route!(batch_activities, Activities, "/api/v1/activities/batch", "activities", "batch_activities");
    batch_route!(batch_opportunities, Opportunities, "/api/v1/opportunities/batch", "opportunities", "batch_opportunities");
    batch_route!(batch_orders, Orders, "/api/v1/orders/batch", "orders", "batch_orders");
    batch_route!(batch_tickets, Tickets, "/api/v1/tickets/batch", "tickets", "batch_tickets");
}

pub(super) fn router() -> OpenApiRouter<AppState> {
    use routes::*;
    OpenApiRouter::new()
        .routes(routes!(batch_customers))
        .routes(routes!(batch_companies))
        .routes(routes!(batch_products))
        .routes(routes!(batch_activities))
        .routes(routes!(batch_opportunities))
        .routes(routes!(batch_orders))
        .routes(routes!(batch_tickets))
        .routes(routes!(export::export))
        .routes(routes!(imports::create))
        .routes(routes!(imports::get_one))
        .routes(routes!(imports::problems))
        .routes(routes!(imports::rejected))
        .routes(routes!(imports::save_mapping, imports::list_mappings))
}
