//! The admin listener (default `127.0.0.1:8081`, never public): `/metrics`, `/health/*`,
//! `GET /admin/status` (the full detail, see [`crate::status::admin`]), `GET
//! /admin/status/history` (the status history peers pull),
//! `POST /admin/routes/reload` (reload the routes file now, answering with the result), and
//! the local registry API of `tis up` (see [`crate::registry`]).
//!
//! Writes (every method but `GET`, `HEAD` and `OPTIONS`) need `Authorization: Bearer` with
//! the admin token (`gateway.admin_token_file`, compared in constant time): without it a
//! 401 `missing_token`, with another one a 401 `invalid_admin_token`. Reads stay open, so
//! that Prometheus and probes need no secret. A gateway without a token file (local mode
//! only: production refuses to start without one) leaves writes open.
//!
//! It is a standard tis-core router (`tis_core::http::standard`): the same health, metrics,
//! context and JSON errors as every TIS server.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::Request;
use axum::extract::State;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tis_auth::StaticToken;
use tis_auth::static_token::Presented;
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
    token: Option<StaticToken>,
    health: &Health,
) -> Router {
    let routes = Router::new()
        .route(
            "/admin/status/history",
            get(crate::status::admin::history).with_state(sources.clone()),
        )
        .route("/admin/status", get(status).with_state(sources))
        .route("/admin/routes/reload", post(reload).with_state(reloader))
        .merge(registry::router(instances))
        .route_layer(middleware::from_fn_with_state(token.map(Arc::new), writes));
    tis_core::http::standard(
        routes,
        health,
        Standard {
            body_limit: 64 * 1024,
            metrics: true,
        },
    )
}

/// Lets a write through only with the admin token (see the module documentation).
async fn writes(
    State(token): State<Option<Arc<StaticToken>>>,
    request: Request,
    next: Next,
) -> Result<Response, HttpError> {
    let read = matches!(
        *request.method(),
        http::Method::GET | http::Method::HEAD | http::Method::OPTIONS
    );
    let Some(token) = token.filter(|_| !read) else {
        return Ok(next.run(request).await);
    };
    match token.presented(request.headers()) {
        Presented::Right => Ok(next.run(request).await),
        Presented::Missing => Err(HttpError::new(
            http::StatusCode::UNAUTHORIZED,
            tis_core::error::code::MISSING_TOKEN,
            "admin writes need the admin token (Authorization: Bearer, gateway.admin_token_file)",
        )),
        Presented::Wrong => {
            tracing::warn!(
                http.request.method = %request.method(),
                url.path = request.uri().path(),
                "an admin write with a wrong token was refused"
            );
            Err(HttpError::new(
                http::StatusCode::UNAUTHORIZED,
                tis_core::error::code::INVALID_ADMIN_TOKEN,
                "not the admin token",
            ))
        }
    }
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
