//! The route registrar: one call adds a handler to the router *and* its operation to the
//! OpenAPI document, so the document lists exactly the routes that are served.
//!
//! Handlers are generic over the entity type, which `#[utoipa::path]` cannot describe; the
//! operations are therefore built here with utoipa's builders, from the same descriptor that
//! drives the handler.

use std::borrow::Cow;
use std::collections::HashMap;

use axum::Router;
use axum::handler::Handler;
use axum::routing::{MethodFilter, on};
use bytes::Bytes;
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer as _};
use serde_json::value::RawValue;
use utoipa::ToSchema;
use utoipa::openapi::path::{Operation, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, SchemaType, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, InfoBuilder, OpenApiBuilder, Ref, RefOr, Required,
};

use super::Kit;
use crate::guard::{Guard, enforce};

/// An HTTP method, for both the router and the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    fn filter(self) -> MethodFilter {
        match self {
            Method::Get => MethodFilter::GET,
            Method::Post => MethodFilter::POST,
            Method::Put => MethodFilter::PUT,
            Method::Patch => MethodFilter::PATCH,
            Method::Delete => MethodFilter::DELETE,
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
    /// A bare `true` or `false`.
    Bool,
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
            Body::Bool => Some(scalar(Type::Boolean)),
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
    /// What the caller must be allowed (checked before the handler, see [`crate::guard`]).
    pub guard: Guard,
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
            guard: Guard::Authenticated,
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

    /// The caller must hold the authority `permission` (`hasAuthority`).
    pub fn needs(self, permission: &'static str) -> Op {
        self.guard(Guard::Authority(permission))
    }

    /// The caller must pass `guard` (by default: be authenticated).
    pub fn guard(mut self, guard: Guard) -> Op {
        self.guard = guard;
        self
    }

    /// The route writes: a retry carrying the same `Idempotency-Key` gets the first response
    /// and writes nothing.
    pub fn idempotent(mut self) -> Op {
        self.idempotent = true;
        self
    }
}

/// What the document says about the service as a whole.
#[derive(Debug, Clone, Copy)]
pub struct ApiInfo {
    /// Where every API route lives (`/reference/api`); operation ids are made from the rest.
    pub prefix: &'static str,
    /// The document's title (`TIS Reference`).
    pub title: &'static str,
    pub description: &'static str,
}

/// The router under construction and its document.
pub struct Api<S = Kit> {
    router: Router<S>,
    doc: Document,
    /// A second prefix some routes are also served at ([`Api::also_at`]).
    alias: Option<Alias>,
}

/// Routes whose path below the API's prefix `keep` accepts are served at `prefix` too.
#[derive(Clone, Copy)]
struct Alias {
    prefix: &'static str,
    keep: fn(&str) -> bool,
}

/// The OpenAPI document under construction, kept small: each operation is built with utoipa's
/// builders and serialized to compact JSON at once, and only that text is kept. utoipa's
/// structures are large (about 13 MB for Reference's 473 operations, against 0.4 MB of JSON),
/// and building them all before serializing made them the start-up peak of the heap, which
/// glibc then kept as resident memory.
struct Document {
    info: ApiInfo,
    /// Each documented path, in the order added, with its operations.
    paths: Vec<(String, PathOps)>,
    /// Where each path is in `paths`.
    index: HashMap<String, usize>,
    schemas: Vec<(String, RefOr<Schema>)>,
    count: usize,
}

/// One path's operations as compact JSON, serialized in the order utoipa's `PathItem` uses.
#[derive(Default, Serialize)]
struct PathOps {
    #[serde(skip_serializing_if = "Option::is_none")]
    get: Option<Box<RawValue>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    put: Option<Box<RawValue>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    post: Option<Box<RawValue>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    delete: Option<Box<RawValue>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    patch: Option<Box<RawValue>>,
}

impl PathOps {
    fn slot(&mut self, method: Method) -> &mut Option<Box<RawValue>> {
        match method {
            Method::Get => &mut self.get,
            Method::Put => &mut self.put,
            Method::Post => &mut self.post,
            Method::Patch => &mut self.patch,
            Method::Delete => &mut self.delete,
        }
    }
}

/// The paths, in the order added.
struct Paths<'a>(&'a [(String, PathOps)]);

impl Serialize for Paths<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(path, ops)| (path, ops)))
    }
}

fn operation_id(prefix: &str, method: Method, path: &str) -> String {
    let mut id = format!("{method:?}").to_lowercase();
    for part in path.trim_start_matches(prefix).split('/') {
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

/// The operation `op` describes, as utoipa builds it.
fn operation(prefix: &str, method: Method, path: &str, op: &Op) -> Operation {
    let mut builder = OperationBuilder::new()
        .summary(Some(op.summary.clone()))
        .operation_id(Some(operation_id(prefix, method, path)))
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
    builder = builder.response(
        "400",
        ResponseBuilder::new().description("invalid input").build(),
    );
    if op.guard.needs_caller() {
        builder = builder.response(
            "401",
            ResponseBuilder::new()
                .description("not authenticated")
                .build(),
        );
    }
    if let Some(guard) = op.guard.describe() {
        builder = builder.response(
            "403",
            ResponseBuilder::new()
                .description(format!("the caller does not pass `{guard}`"))
                .build(),
        );
    }
    // The answers every operation of its kind can get (crate::error and the kit's layers):
    // documented so that a generated client expects them (issue 16 item 12).
    if path.contains('{') {
        builder = builder.response(
            "404",
            ResponseBuilder::new()
                .description("no such record, or none the caller may see")
                .build(),
        );
    }
    let writes = !matches!(method, Method::Get);
    if writes {
        builder = builder.response(
            "409",
            ResponseBuilder::new()
                .description(
                    "conflicts with what is stored: a duplicate unique value, a record others still refer to, an overlap",
                )
                .build(),
        );
    }
    if op.body.schema().is_some() {
        builder = builder
            .response(
                "413",
                ResponseBuilder::new()
                    .description("the body is larger than the service takes")
                    .build(),
            )
            .response(
                "415",
                ResponseBuilder::new()
                    .description("the body is not of the documented media type")
                    .build(),
            );
    }
    if op.idempotent {
        builder = builder.response(
            "422",
            ResponseBuilder::new()
                .description("the Idempotency-Key was used before with another body")
                .build(),
        );
    }
    builder = builder.response(
        "503",
        ResponseBuilder::new()
            .description("database unavailable")
            .build(),
    );
    if op.guard.needs_caller() {
        builder = builder.security(SecurityRequirement::new("principal", Vec::<String>::new()));
    }
    builder.build()
}

impl Document {
    /// Documents `op` at `method` `path`. Not generic, so it is compiled once rather than for
    /// every handler type. A second operation for the same method and path is ignored, as
    /// utoipa's `PathsBuilder` does.
    fn add(&mut self, method: Method, path: &str, op: &Op) {
        let json = serde_json::value::to_raw_value(&operation(self.info.prefix, method, path, op))
            .expect("an OpenAPI operation serializes to JSON");
        let at = match self.index.get(path) {
            Some(&at) => at,
            None => {
                self.index.insert(path.to_owned(), self.paths.len());
                self.paths.push((path.to_owned(), PathOps::default()));
                self.paths.len() - 1
            }
        };
        let slot = self.paths[at].1.slot(method);
        if slot.is_none() {
            *slot = Some(json);
        }
        self.count += 1;
    }

    /// The whole document as compact JSON.
    fn finish(self) -> Bytes {
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
        let head = OpenApiBuilder::new()
            .info(
                InfoBuilder::new()
                    .title(self.info.title)
                    .version(env!("CARGO_PKG_VERSION"))
                    .description(Some(self.info.description))
                    .build(),
            )
            .components(Some(components.build()))
            .build();
        // Everything but the paths (small: the info and the schemas), with the paths put in
        // as the JSON already made; keys in utoipa's order.
        let serde_json::Value::Object(mut head) =
            serde_json::to_value(&head).expect("an OpenAPI document serializes to JSON")
        else {
            unreachable!("an OpenAPI document is a JSON object")
        };
        let mut out = Vec::with_capacity(512 * 1024);
        let mut ser = serde_json::Serializer::new(&mut out);
        let mut map = ser.serialize_map(None).expect("writing to memory");
        for key in ["openapi", "info", "paths", "components"] {
            match head.remove(key) {
                _ if key == "paths" => map.serialize_entry(key, &Paths(&self.paths)),
                Some(value) => map.serialize_entry(key, &value),
                None => Ok(()),
            }
            .expect("writing to memory");
        }
        for (key, value) in &head {
            map.serialize_entry(key, value).expect("writing to memory");
        }
        map.end().expect("writing to memory");
        out.shrink_to_fit();
        Bytes::from(out)
    }
}

impl<S: Clone + Send + Sync + 'static> Api<S> {
    /// An empty registrar for the service `info` describes.
    pub fn new(info: ApiInfo) -> Self {
        Api {
            router: Router::new(),
            doc: Document {
                info,
                paths: Vec::new(),
                index: HashMap::new(),
                schemas: Vec::new(),
                count: 0,
            },
            alias: None,
        }
    }

    /// Serves every route added from now on whose path below [`Api::prefix`] `keep` accepts
    /// at `prefix` as well: the same handler, guard and idempotency (TCS's `/tcs/etl/api`,
    /// the original's second mapping of some resources). The document lists each route once,
    /// at the API's own prefix.
    pub fn also_at(mut self, prefix: &'static str, keep: fn(&str) -> bool) -> Self {
        self.alias = Some(Alias { prefix, keep });
        self
    }

    /// Where every route of this API lives (`/reference/api`).
    pub fn prefix(&self) -> &'static str {
        self.doc.info.prefix
    }

    /// Serves `handler` for `method` at `path` and documents it as `op`. The route checks
    /// `op.guard` before anything else (see [`crate::guard::enforce`]), then, when
    /// `op.idempotent`, honours `Idempotency-Key` (see [`super::idempotent`]).
    pub fn add<H, T>(mut self, method: Method, path: &str, handler: H, op: Op) -> Self
    where
        H: Handler<T, S>,
        T: 'static,
    {
        let mut route = on(method.filter(), handler);
        if op.idempotent {
            route = route.route_layer(axum::middleware::from_fn(super::idempotent));
        }
        if op.guard.needs_caller() {
            let guard = op.guard;
            route = route.route_layer(axum::middleware::from_fn(move |req, next| {
                enforce(guard, req, next)
            }));
        }
        if let Some(alias) = self.alias {
            let below = path.strip_prefix(self.doc.info.prefix);
            if let Some(below) = below.filter(|b| (alias.keep)(b)) {
                let at = format!("{}{below}", alias.prefix);
                self.router = self.router.route(&at, route.clone());
            }
        }
        self.router = self.router.route(path, route);
        self.doc.add(method, path, &op);
        self
    }

    /// Registers the schema of `T` (and of the types it refers to) in the document.
    pub fn schema<T: ToSchema>(mut self) -> Self {
        self.doc.schemas.push((T::name().into_owned(), T::schema()));
        T::schemas(&mut self.doc.schemas);
        self
    }

    /// How many operations were added.
    pub fn operations(&self) -> usize {
        self.doc.count
    }

    /// The router and its document, as compact JSON.
    pub fn finish(self) -> (Router<S>, Bytes) {
        (self.router, self.doc.finish())
    }
}
