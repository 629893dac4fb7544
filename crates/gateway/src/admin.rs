//! The admin listener (default `127.0.0.1:8081`, never public): `/metrics`, `/health/*`,
//! `GET /admin/status` (the full detail, see [`crate::status::admin`]),
//! `POST /admin/routes/reload` (reload the routes file now, answering with the result), and
//! the local registry API of `tis up` (see [`crate::registry`]).
//!
//! It is a standard tis-core router (`tis_core::http::standard`): the same health, metrics,
//! context and JSON errors as every TIS server.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tis_core::http::Standard;
use tis_core::{Health, HttpError};

use crate::registry::{self, Instances};
use crate::reload::{ReloadError, Reloader};
use crate::status::Sources;

/// The admin router.
pub fn router(
    sources: Sources,
    reloader: Arc<Reloader>,
    instances: Arc<Instances>,
    health: &Health,
) -> Router {
    let routes = Router::new()
        .route("/admin/status", get(status).with_state(sources))
        .route("/admin/routes/reload", post(reload).with_state(reloader))
        .merge(registry::router(instances));
    tis_core::http::standard(
        routes,
        health,
        Standard {
            body_limit: 64 * 1024,
            metrics: true,
        },
    )
}

async fn status(State(sources): State<Sources>) -> Response {
    Json(sources.admin()).into_response()
}

async fn reload(State(reloader): State<Arc<Reloader>>) -> Result<Response, HttpError> {
    match reloader.reload_file().await {
        Ok(generation) => Ok(Json(serde_json::json!({"generation": generation})).into_response()),
        Err(ReloadError::NoFile) => Err(HttpError::bad_request(
            tis_core::error::code::NO_ROUTES_FILE,
            "this gateway has no routes_file to reload",
        )),
        Err(e) => Err(HttpError::new(
            http::StatusCode::UNPROCESSABLE_ENTITY,
            tis_core::error::code::ROUTE_TABLE_REFUSED,
            e.to_string(),
        )),
    }
}
