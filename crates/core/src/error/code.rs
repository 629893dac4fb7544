//! The `code` of every JSON error body a TIS endpoint answers with: one constant per code,
//! named where it is produced and where it is read (a client that tells `no_profile` from an
//! outage), so that a code is spelled once. The strings are the wire format: clients, the UI
//! and scripts match on them, so a constant's value never changes once released.
//!
//! Grouped by the crate that produces them; the status each goes with is decided where the
//! error is built, not here. (The development identity provider answers OAuth's own `error`
//! values, RFC 6749 §5.2, which are not TIS error codes.)

// tis-core: extractors, the router, the request context.
/// 400: a body or query field is invalid; the body lists the `fields`.
pub const VALIDATION_FAILED: &str = "validation_failed";
/// 400: the body is not JSON at all.
pub const MALFORMED_JSON: &str = "malformed_json";
/// 400: the body could not be read (bad encoding, a broken stream).
pub const UNREADABLE_BODY: &str = "unreadable_body";
/// 400: a query parameter (`page`, `size`, `sort`, a filter) is unusable.
pub const INVALID_QUERY: &str = "invalid_query";
/// 400: a path segment (an id) is unusable.
pub const INVALID_PATH: &str = "invalid_path";
/// 404: no such record, or no resource at this path.
pub const NOT_FOUND: &str = "not_found";
/// 405: a known path with a method it does not serve.
pub const METHOD_NOT_ALLOWED: &str = "method_not_allowed";
/// 409: a rule of the domain or a unique key refused the write.
pub const CONFLICT: &str = "conflict";
/// 413: the body is larger than the limit.
pub const PAYLOAD_TOO_LARGE: &str = "payload_too_large";
/// 415: the body must be JSON.
pub const UNSUPPORTED_MEDIA_TYPE: &str = "unsupported_media_type";
/// 500: a bug; the details are in the log, not the body.
pub const INTERNAL_ERROR: &str = "internal_error";
/// 504: the caller's deadline passed before the work could finish.
pub const DEADLINE_EXCEEDED: &str = "deadline_exceeded";

// tis-store: databases and idempotency.
/// 503: the service's database cannot be reached.
pub const DATABASE_UNAVAILABLE: &str = "database_unavailable";
/// 503: no primary database: reads work, writes do not (`TIS-Degraded: db-read-only`).
pub const PRIMARY_UNAVAILABLE: &str = "primary_unavailable";
/// 409: a foreign key refused the write.
pub const REFERENCE_CONFLICT: &str = "reference_conflict";
/// 400: the `Idempotency-Key` header is unusable.
pub const INVALID_IDEMPOTENCY_KEY: &str = "invalid_idempotency_key";
/// 422: the `Idempotency-Key` was used for a different request.
pub const IDEMPOTENCY_KEY_REUSED: &str = "idempotency_key_reused";
/// 409: a request with this `Idempotency-Key` is still being processed.
pub const IDEMPOTENCY_IN_PROGRESS: &str = "idempotency_in_progress";

// tis-mesh: calls to other services.
/// 503: every instance of the service is ejected (breakers open) or none is known.
pub const NO_HEALTHY_ENDPOINTS: &str = "no_healthy_endpoints";
/// 503: a concurrency limit shed the request.
pub const OVERLOADED: &str = "overloaded";
/// 504: the service did not answer within the per-try timeout.
pub const UPSTREAM_TIMEOUT: &str = "upstream_timeout";
/// 502/503: the service could not be reached, or failed before it answered.
pub const UPSTREAM_UNAVAILABLE: &str = "upstream_unavailable";
/// 400: the request body could not be read to forward it.
pub const INVALID_REQUEST_BODY: &str = "invalid_request_body";

// The HTTP parser (hyper), before any route: `tis_core::parse_errors`.
/// 400: a malformed request line or header.
pub const MALFORMED_REQUEST: &str = "malformed_request";
/// 414: a request URI over 64 KiB.
pub const URI_TOO_LONG: &str = "uri_too_long";
/// 431: a request head too large, or too many headers.
pub const HEADERS_TOO_LARGE: &str = "headers_too_large";

// tis-gateway.
/// 400: `X-Request-Timeout` is unusable.
pub const INVALID_REQUEST_TIMEOUT: &str = "invalid_request_timeout";
/// 400 (admin): a registry service or instance name with characters it may not have.
pub const INVALID_NAME: &str = "invalid_name";
/// 400 (admin): a route reload asked of a gateway without a `routes_file`.
pub const NO_ROUTES_FILE: &str = "no_routes_file";
/// 422 (admin): the reloaded route table is invalid; the old one stays.
pub const ROUTE_TABLE_REFUSED: &str = "route_table_refused";
/// 401 (admin): a write on the admin listener with a token that is not the admin token.
pub const INVALID_ADMIN_TOKEN: &str = "invalid_admin_token";

// tis-auth: authentication and authorisation.
pub const MISSING_TOKEN: &str = "missing_token";
pub const CONFLICTING_TOKENS: &str = "conflicting_tokens";
pub const TOKEN_TOO_LARGE: &str = "token_too_large";
pub const MALFORMED_TOKEN: &str = "malformed_token";
pub const WRONG_TOKEN_TYPE: &str = "wrong_token_type";
pub const UNSUPPORTED_CRITICAL_HEADER: &str = "unsupported_critical_header";
pub const ALGORITHM_NOT_ALLOWED: &str = "algorithm_not_allowed";
pub const UNKNOWN_KEY: &str = "unknown_key";
pub const BAD_SIGNATURE: &str = "bad_signature";
pub const MISSING_CLAIM: &str = "missing_claim";
pub const WRONG_ISSUER: &str = "wrong_issuer";
pub const WRONG_AUDIENCE: &str = "wrong_audience";
pub const TOKEN_EXPIRED: &str = "token_expired";
pub const TOKEN_NOT_YET_VALID: &str = "token_not_yet_valid";
pub const TOKEN_LIFETIME_TOO_LONG: &str = "token_lifetime_too_long";
/// 503: the identity provider's keys are beyond their grace (`TIS-Degraded: idp` before).
pub const IDP_UNAVAILABLE: &str = "idp_unavailable";
/// 403: the caller lacks the endpoint's permission.
pub const FORBIDDEN: &str = "forbidden";
/// The user has no TIS profile: 404 from Profile's `/userinfo`, 403 at the edge.
pub const NO_PROFILE: &str = "no_profile";
/// 403: the user is not active in TIS.
pub const INACTIVE_USER: &str = "inactive_user";
/// 503: Profile is unavailable and nothing usable is cached for the caller.
pub const AUTHORISATION_UNAVAILABLE: &str = "authorisation_unavailable";

// Typed clients of other services (tis-reference-client).
/// 503: a value could not be checked because the service that knows it is unavailable
/// (`TIS-Degraded: dependency-<service>`).
pub const DEPENDENCY_UNAVAILABLE: &str = "dependency_unavailable";
