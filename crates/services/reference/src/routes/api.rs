//! The route registrar: one call adds a handler to the router *and* its operation to the
//! OpenAPI document, so the document lists exactly the routes that are served.
//!
//! Handlers are generic over the entity type, which `#[utoipa::path]` cannot describe; the
//! operations are therefore built here with utoipa's builders, from the same descriptor that
//! drives the handler.

use std::borrow::Cow;

use axum::Router;
use axum::handler::Handler;
use axum::routing::{MethodFilter, on};
use utoipa::ToSchema;
use utoipa::openapi::path::{
    HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, PathsBuilder,
};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, SchemaType, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, Ref, RefOr, Required,
};

use super::AppState;

/// An HTTP method, for both the router and the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Put,
    Delete,
}

impl Method {
    fn filter(self) -> MethodFilter {
        match self {
            Method::Get => MethodFilter::GET,
            Method::Post => MethodFilter::POST,
            Method::Put => MethodFilter::PUT,
            Method::Delete => MethodFilter::DELETE,
        }
    }

    fn http(self) -> HttpMethod {
        match self {
            Method::Get => HttpMethod::Get,
            Method::Post => HttpMethod::Post,
            Method::Put => HttpMethod::Put,
            Method::Delete => HttpMethod::Delete,
        }
    }
}

/// What a body or response holds.
#[derive(Debug, Clone)]
pub enum Body {
    None,
    /// One record of the named schema.
    One(Cow<'static, str>),
    /// A JSON array of records of the named schema.
    Many(Cow<'static, str>),
    /// A JSON array of strings (codes) or integers (ids).
    Strings,
    Ids,
    /// A JSON object of input → boolean (or → string).
    BoolMap,
    StringMap,
    /// A bare string (a code).
    Text,
}

impl Body {
    fn schema(&self) -> Option<RefOr<Schema>> {
        let reference = |name: &str| RefOr::Ref(Ref::from_schema_name(name));
        let scalar =
            |t: Type| RefOr::T(Schema::Object(ObjectBuilder::new().schema_type(t).build()));
        let array = |items: RefOr<Schema>| {
            RefOr::T(Schema::Array(ArrayBuilder::new().items(items).build()))
        };
        let map = |values: Type| {
            RefOr::T(Schema::Object(
                ObjectBuilder::new()
                    .schema_type(SchemaType::Type(Type::Object))
                    .additional_properties(Some(Schema::Object(
                        ObjectBuilder::new().schema_type(values).build(),
                    )))
                    .build(),
            ))
        };
        match self {
            Body::None => None,
            Body::One(name) => Some(reference(name)),
            Body::Many(name) => Some(array(reference(name))),
            Body::Strings => Some(array(scalar(Type::String))),
            Body::Ids => Some(array(scalar(Type::Integer))),
            Body::BoolMap => Some(map(Type::Boolean)),
            Body::StringMap => Some(map(Type::String)),
            Body::Text => Some(scalar(Type::String)),
        }
    }
}

/// The description of one operation.
#[derive(Debug, Clone)]
pub struct Op {
    pub summary: String,
    pub tag: &'static str,
    /// Path parameters, by name.
    pub path_params: Vec<&'static str>,
    /// Query parameters, by name.
    pub query_params: Vec<&'static str>,
    pub body: Body,
    pub status: u16,
    pub response: Body,
    /// Whether the response carries `X-Total-Count` and `Link`.
    pub paged: bool,
    /// The permission required beyond authentication, if any.
    pub permission: Option<&'static str>,
    /// Whether the route writes and honours `Idempotency-Key` (see [`super::idempotent`]).
    pub idempotent: bool,
}

impl Op {
    pub fn new(tag: &'static str, summary: impl Into<String>) -> Op {
        Op {
            summary: summary.into(),
            tag,
            path_params: Vec::new(),
            query_params: Vec::new(),
            body: Body::None,
            status: 200,
            response: Body::None,
            paged: false,
            permission: None,
            idempotent: false,
        }
    }

    pub fn path(mut self, name: &'static str) -> Op {
        self.path_params.push(name);
        self
    }

    pub fn query(mut self, names: &[&'static str]) -> Op {
        self.query_params.extend_from_slice(names);
        self
    }

    pub fn body(mut self, body: Body) -> Op {
        self.body = body;
        self
    }

    pub fn returns(mut self, status: u16, body: Body) -> Op {
        self.status = status;
        self.response = body;
        self
    }

    pub fn paged(mut self) -> Op {
        self.paged = true;
        self.query_params.extend_from_slice(&[
            "page",
            "size",
            "sort",
            "searchQuery",
            "columnFilters",
        ]);
        self
    }

    pub fn needs(mut self, permission: &'static str) -> Op {
        self.permission = Some(permission);
        self
    }

    /// The route writes: a retry carrying the same `Idempotency-Key` gets the first response
    /// and writes nothing.
    pub fn idempotent(mut self) -> Op {
        self.idempotent = true;
        self
    }
}

/// The router under construction and its document.
pub struct Api {
    router: Router<AppState>,
    paths: PathsBuilder,
    schemas: Vec<(String, RefOr<Schema>)>,
    count: usize,
}

impl Default for Api {
    fn default() -> Self {
        Api {
            router: Router::new(),
            paths: PathsBuilder::new(),
            schemas: Vec::new(),
            count: 0,
        }
    }
}

fn operation_id(method: Method, path: &str) -> String {
    let mut id = format!("{method:?}").to_lowercase();
    for part in path.trim_start_matches("/reference/api").split('/') {
        let part = part.trim_matches(|c| c == '{' || c == '}');
        if !part.is_empty() {
            id.push('_');
            id.push_str(&part.replace('-', "_"));
        }
    }
    if path.ends_with('/') {
        id.push_str("_slash");
    }
    id
}

impl Api {
    /// Serves `handler` for `method` at `path` and documents it as `op`.
    pub fn add<H, T>(mut self, method: Method, path: &str, handler: H, op: Op) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        let mut route = on(method.filter(), handler);
        if op.idempotent {
            route = route.route_layer(axum::middleware::from_fn(super::idempotent));
        }
        self.router = self.router.route(path, route);
        let mut builder = OperationBuilder::new()
            .summary(Some(op.summary.clone()))
            .operation_id(Some(operation_id(method, path)))
            .tag(op.tag);
        let string = RefOr::T(Schema::Object(
            ObjectBuilder::new().schema_type(Type::String).build(),
        ));
        for name in &op.path_params {
            builder = builder.parameter(
                ParameterBuilder::new()
                    .name(*name)
                    .parameter_in(ParameterIn::Path)
                    .required(Required::True)
                    .schema(Some(string.clone())),
            );
        }
        for name in &op.query_params {
            builder = builder.parameter(
                ParameterBuilder::new()
                    .name(*name)
                    .parameter_in(ParameterIn::Query)
                    .required(Required::False)
                    .schema(Some(string.clone())),
            );
        }
        if op.idempotent {
            builder = builder.parameter(
                ParameterBuilder::new()
                    .name("Idempotency-Key")
                    .parameter_in(ParameterIn::Header)
                    .required(Required::False)
                    .description(Some(
                        "Makes a retry safe: the same key and body return the first response (Idempotent-Replayed: true) without writing again; the same key with another body is a 422. Keys are kept 24 h.",
                    ))
                    .schema(Some(string.clone())),
            );
        }
        if let Some(schema) = op.body.schema() {
            let media = if matches!(op.body, Body::Text) {
                "text/plain"
            } else {
                "application/json"
            };
            builder = builder.request_body(Some(
                RequestBodyBuilder::new()
                    .content(media, ContentBuilder::new().schema(Some(schema)).build())
                    .required(Some(Required::True))
                    .build(),
            ));
        }
        let mut response = ResponseBuilder::new().description(match op.status {
            201 => "created",
            204 => "no content",
            302 => "found",
            _ => "ok",
        });
        if let Some(schema) = op.response.schema() {
            response = response.content(
                "application/json",
                ContentBuilder::new().schema(Some(schema)).build(),
            );
        }
        if op.paged {
            response = response
                .header("X-Total-Count", Default::default())
                .header("Link", Default::default());
        }
        builder = builder.response(op.status.to_string(), response.build());
        for (status, what) in [
            ("400", "invalid input"),
            ("401", "not authenticated"),
            ("503", "database unavailable"),
        ] {
            builder = builder.response(status, ResponseBuilder::new().description(what).build());
        }
        if let Some(permission) = op.permission {
            builder = builder.response(
                "403",
                ResponseBuilder::new()
                    .description(format!("lacks the permission `{permission}`"))
                    .build(),
            );
        }
        builder = builder.security(SecurityRequirement::new("principal", Vec::<String>::new()));
        self.paths = std::mem::take(&mut self.paths).path(
            path,
            utoipa::openapi::PathItem::new(method.http(), builder.build()),
        );
        self.count += 1;
        self
    }

    /// Registers the schema of `T` (and of the types it refers to) in the document.
    pub fn schema<T: ToSchema>(mut self) -> Self {
        self.schemas.push((T::name().into_owned(), T::schema()));
        T::schemas(&mut self.schemas);
        self
    }

    /// How many operations were added.
    pub fn operations(&self) -> usize {
        self.count
    }

    /// The router and its document.
    pub fn finish(self) -> (Router<AppState>, OpenApi) {
        let mut components = ComponentsBuilder::new().security_scheme(
            "principal",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "TIS-Principal",
                "the principal token minted by the gateway",
            ))),
        );
        for (name, schema) in self.schemas {
            components = components.schema(name, schema);
        }
        let doc = OpenApiBuilder::new()
            .info(
                InfoBuilder::new()
                    .title("TIS Reference")
                    .version(env!("CARGO_PKG_VERSION"))
                    .description(Some(
                        "The lookup tables of the Trainee Information System, compatible with the original /reference/api.",
                    ))
                    .build(),
            )
            .paths(self.paths.build())
            .components(Some(components.build()))
            .build();
        (self.router, doc)
    }
}
