//! One call to Reference for a batch of keys, and what its answer means.
//!
//! | question | call | answer |
//! |---|---|---|
//! | which codes exist, where batched ([`RefType::codes_exists`]) | `POST {api}/{plural}/exists/`, the codes as a JSON array | `{code: bool}` |
//! | which ids exist, where served ([`RefType::ids_exists`]: grades, sites, trusts) | `POST {api}/{plural}/ids/exists`, the ids as a JSON array of numbers | `{id: bool}` |
//! | anything else: codes or ids elsewhere, records | `GET {api}/{plural}?columnFilters={"<field>":[…]}&page=0&size=<n>` | the records found |
//!
//! The call carries the credential of the request that started it ([`Credential`]: the
//! `TIS-Principal` it received, or its bearer token): Reference answers what that caller may
//! read, and no new trust is created. It goes through a tis-mesh [`ServiceClient`]
//! (discovery, balancing, breakers, retries), with its own deadline
//! ([`ReferenceClientConfig::timeout`](crate::ReferenceClientConfig)), because a shared call
//! outlives the request that started it.
//!
//! A key the answer does not mention, an answer that cannot be read, a refused credential or
//! any status but 200 is a [`FetchFailure`]: never taken as "does not exist".

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use http::{Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::Value;
use tis_auth::Credential;
use tis_mesh::ServiceClient;

use crate::cache::{Known, Want};
use crate::types::{By, RefType};

/// What is asked of a batch of keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Question {
    pub of: RefType,
    pub by: By,
    pub want: Want,
}

/// What Reference said about one key, and the size of a record's JSON (entries are weighed by
/// it).
#[derive(Debug, Clone, PartialEq)]
pub struct Fetched {
    pub known: Known,
    pub bytes: usize,
}

/// Reference's answers for a batch, by key.
pub type Answers = HashMap<Arc<str>, Fetched>;

/// Reference could not be asked, or answered something unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FetchFailure(pub String);

/// How a batch is fetched. [`HttpFetch`] in production; tests script their own.
pub trait Fetch: Send + Sync + 'static {
    fn fetch(
        &self,
        question: Question,
        keys: Vec<Arc<str>>,
        credential: Option<Credential>,
    ) -> BoxFuture<'static, Result<Answers, FetchFailure>>;
}

/// Reference's look-ups over tis-mesh.
#[derive(Clone)]
pub struct HttpFetch {
    client: ServiceClient,
    api: Arc<str>,
    timeout: Duration,
    max_bytes: usize,
}

impl std::fmt::Debug for HttpFetch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpFetch")
            .field("service", &self.client.name())
            .field("api", &self.api)
            .finish_non_exhaustive()
    }
}

/// The request a question about `keys` becomes: method, path and query, and JSON body.
pub fn request_for(api: &str, q: Question, keys: &[Arc<str>]) -> (Method, String, Option<Value>) {
    let base = format!("{api}/{}", q.of.plural);
    match (q.want, q.by) {
        (Want::Exists, By::Code) if q.of.codes_exists => (
            Method::POST,
            format!("{base}/exists/"),
            Some(Value::from(
                keys.iter().map(|k| k.to_string()).collect::<Vec<_>>(),
            )),
        ),
        (Want::Exists, By::Id) if q.of.ids_exists => {
            let ids: Option<Vec<i64>> = keys.iter().map(|k| k.parse().ok()).collect();
            match ids {
                Some(ids) => (
                    Method::POST,
                    format!("{base}/ids/exists"),
                    Some(Value::from(ids)),
                ),
                None => list_request(&base, q, keys),
            }
        }
        _ => list_request(&base, q, keys),
    }
}

fn list_request(base: &str, q: Question, keys: &[Arc<str>]) -> (Method, String, Option<Value>) {
    let field = field_of(q);
    let filters =
        serde_json::json!({ field: keys.iter().map(|k| k.to_string()).collect::<Vec<_>>() });
    let encoded = utf8_percent_encode(&filters.to_string(), NON_ALPHANUMERIC).to_string();
    (
        Method::GET,
        format!(
            "{base}?columnFilters={encoded}&page=0&size={}",
            keys.len().max(1)
        ),
        None,
    )
}

fn field_of(q: Question) -> &'static str {
    match q.by {
        By::Code => q.of.code_field,
        By::Id => "id",
    }
}

impl HttpFetch {
    pub fn new(client: ServiceClient, api: &str, timeout: Duration, max_bytes: usize) -> Self {
        HttpFetch {
            client,
            api: Arc::from(api),
            timeout,
            max_bytes,
        }
    }

    /// The mesh client (for status pages: endpoints, breakers).
    pub fn service(&self) -> &ServiceClient {
        &self.client
    }

    async fn call(
        self,
        q: Question,
        keys: Vec<Arc<str>>,
        credential: Option<Credential>,
    ) -> Result<Answers, FetchFailure> {
        let fail = |what: String| FetchFailure(what);
        let (method, uri, body) = request_for(&self.api, q, &keys);
        let mut builder = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::ACCEPT, "application/json");
        let bytes = match body {
            Some(v) => {
                builder = builder.header(header::CONTENT_TYPE, "application/json");
                Bytes::from(v.to_string())
            }
            None => Bytes::new(),
        };
        let mut req = builder
            .body(Full::new(bytes))
            .map_err(|e| fail(format!("building the request: {e}")))?;
        if let Some(c) = &credential {
            c.apply(req.headers_mut())
                .map_err(|_| fail("a credential that is not a header value".into()))?;
        }
        let deadline = tokio::time::Instant::now() + self.timeout;
        let res = self
            .client
            .call_with_deadline(req, deadline)
            .await
            .map_err(|e| fail(format!("calling Reference: {e}")))?;
        let status = res.status();
        let body = tokio::time::timeout_at(
            deadline,
            Limited::new(res.into_body(), self.max_bytes).collect(),
        )
        .await
        .map_err(|_| fail("Reference's answer did not arrive in time".into()))?
        .map_err(|e| fail(format!("reading Reference's answer: {e}")))?
        .to_bytes();
        interpret(q, &keys, status, &body, credential.as_ref())
    }
}

impl Fetch for HttpFetch {
    fn fetch(
        &self,
        question: Question,
        keys: Vec<Arc<str>>,
        credential: Option<Credential>,
    ) -> BoxFuture<'static, Result<Answers, FetchFailure>> {
        Box::pin(self.clone().call(question, keys, credential))
    }
}

/// A JSON scalar as the text of a key (`"1-AIIDWA"`, `42`).
fn key_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// What an answer of Reference to a question about `keys` means (see the module
/// documentation).
pub fn interpret(
    q: Question,
    keys: &[Arc<str>],
    status: StatusCode,
    body: &[u8],
    credential: Option<&Credential>,
) -> Result<Answers, FetchFailure> {
    let code = || {
        serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|v| v["error"]["code"].as_str().map(str::to_owned))
            .unwrap_or_default()
    };
    match status {
        StatusCode::OK => {}
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
            let hint = match credential {
                Some(Credential::Principal(_)) => {
                    "the principal must carry the `reference` audience (the gateway route's `principal_audiences`)"
                }
                Some(Credential::Bearer(_)) => {
                    "Reference must accept access tokens (`reference.access_tokens`)"
                }
                None => "the caller sent no credential to forward",
            };
            return Err(FetchFailure(format!(
                "Reference refused the forwarded credential ({} {}); {hint}",
                status.as_u16(),
                code()
            )));
        }
        other => {
            return Err(FetchFailure(format!(
                "Reference answered {} {}",
                other.as_u16(),
                code()
            )));
        }
    }
    let doc: Value = serde_json::from_slice(body)
        .map_err(|e| FetchFailure(format!("Reference answered unreadable JSON: {e}")))?;
    let mut out = Answers::with_capacity(keys.len());
    match doc {
        Value::Object(map) if q.want == Want::Exists => {
            for key in keys {
                match map.get(&**key) {
                    Some(Value::Bool(true)) => {
                        out.insert(key.clone(), fetched(Known::Exists, 0));
                    }
                    Some(Value::Bool(false)) => {
                        out.insert(key.clone(), fetched(Known::Missing, 0));
                    }
                    _ => {
                        return Err(FetchFailure(format!(
                            "Reference's answer does not say whether {} {key:?} exists",
                            q.of
                        )));
                    }
                }
            }
        }
        Value::Array(records) => {
            let field = field_of(q);
            let mut found: HashMap<String, Value> = HashMap::with_capacity(records.len());
            for record in records {
                if let Some(k) = record.get(field).and_then(key_text) {
                    found.insert(k, record);
                }
            }
            for key in keys {
                let answer = match (found.get(&**key), q.want) {
                    (None, _) => fetched(Known::Missing, 0),
                    (Some(_), Want::Exists) => fetched(Known::Exists, 0),
                    (Some(record), Want::Record) => {
                        let bytes = serde_json::to_vec(record).map(|v| v.len()).unwrap_or(0);
                        fetched(Known::Record(Arc::new(record.clone())), bytes)
                    }
                };
                out.insert(key.clone(), answer);
            }
        }
        _ => {
            return Err(FetchFailure(format!(
                "Reference answered an unexpected shape for {} by {}",
                q.of,
                q.by.label()
            )));
        }
    }
    Ok(out)
}

fn fetched(known: Known, bytes: usize) -> Fetched {
    Fetched { known, bytes }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(k: &[&str]) -> Vec<Arc<str>> {
        k.iter().map(|s| Arc::from(*s)).collect()
    }

    const EXISTS: Question = Question {
        of: RefType::DBCS,
        by: By::Code,
        want: Want::Exists,
    };

    #[test]
    fn each_question_becomes_the_lookup_reference_serves_for_it() {
        let (m, path, body) = request_for("/reference/api", EXISTS, &keys(&["1-A"]));
        assert_eq!(
            (m, path.as_str(), body),
            (
                Method::POST,
                "/reference/api/dbcs/exists/",
                Some(serde_json::json!(["1-A"]))
            )
        );
        let ids = Question {
            of: RefType::GRADES,
            by: By::Id,
            want: Want::Exists,
        };
        let (m, path, body) = request_for("/reference/api", ids, &keys(&["3", "4"]));
        assert_eq!(
            (m, path.as_str(), body),
            (
                Method::POST,
                "/reference/api/grades/ids/exists",
                Some(serde_json::json!([3, 4]))
            )
        );
        let genders = Question {
            of: RefType::GENDERS,
            ..ids
        };
        let by_code = Question {
            by: By::Code,
            ..genders
        };
        let (m, path, _) = request_for("/reference/api", by_code, &keys(&["M"]));
        assert_eq!(
            m,
            Method::GET,
            "genders' exists takes one code: the list is asked"
        );
        assert!(path.contains("%22code%22"), "{path}");
        let (m, path, body) = request_for("/reference/api", genders, &keys(&["3"]));
        assert_eq!((m, body), (Method::GET, None));
        assert_eq!(
            path,
            "/reference/api/genders?columnFilters=%7B%22id%22%3A%5B%223%22%5D%7D&page=0&size=1"
        );
        let records = Question {
            of: RefType::SITES,
            by: By::Code,
            want: Want::Record,
        };
        let (_, path, _) = request_for("/reference/api", records, &keys(&["S1", "S2"]));
        assert!(
            path.contains("siteCode") && path.ends_with("size=2"),
            "{path}"
        );
    }

    #[test]
    fn an_exists_answer_says_yes_or_no_for_every_key_asked_or_fails() {
        let got = interpret(
            EXISTS,
            &keys(&["A", "B"]),
            StatusCode::OK,
            br#"{"A":true,"B":false}"#,
            None,
        )
        .expect("answers");
        assert_eq!(got[&Arc::from("A")].known, Known::Exists);
        assert_eq!(got[&Arc::from("B")].known, Known::Missing);
        let partial = interpret(
            EXISTS,
            &keys(&["A", "C"]),
            StatusCode::OK,
            br#"{"A":true}"#,
            None,
        );
        assert!(partial.is_err(), "an unmentioned key is not a no");
    }

    #[test]
    fn a_list_answer_finds_records_by_their_code_or_id() {
        let q = Question {
            of: RefType::SITES,
            by: By::Code,
            want: Want::Record,
        };
        let got = interpret(
            q,
            &keys(&["S1", "S2", "s1"]),
            StatusCode::OK,
            br#"[{"id":1,"siteCode":"S1"},{"id":2,"siteCode":"S2"}]"#,
            None,
        )
        .expect("answers");
        assert!(matches!(&got[&Arc::from("S1")].known, Known::Record(r) if r["id"] == 1));
        assert!(matches!(&got[&Arc::from("S2")].known, Known::Record(r) if r["id"] == 2));
        assert_eq!(
            got[&Arc::from("s1")].known,
            Known::Missing,
            "codes are matched exactly, as Reference's exists does"
        );
        let by_id = Question {
            by: By::Id,
            want: Want::Exists,
            ..q
        };
        let got = interpret(
            by_id,
            &keys(&["2", "9"]),
            StatusCode::OK,
            br#"[{"id":2,"siteCode":"S2"}]"#,
            None,
        )
        .expect("answers");
        assert_eq!(got[&Arc::from("2")].known, Known::Exists);
        assert_eq!(got[&Arc::from("9")].known, Known::Missing);
    }

    #[test]
    fn a_refused_credential_is_a_failure_that_says_what_to_fix() {
        let err = interpret(
            EXISTS,
            &keys(&["A"]),
            StatusCode::FORBIDDEN,
            br#"{"error":{"code":"wrong_audience"}}"#,
            Some(&Credential::Principal(Arc::from("p"))),
        )
        .expect_err("refused");
        assert!(err.0.contains("audience"), "{err}");
        assert!(
            interpret(
                EXISTS,
                &keys(&["A"]),
                StatusCode::SERVICE_UNAVAILABLE,
                b"",
                None
            )
            .is_err()
        );
        assert!(interpret(EXISTS, &keys(&["A"]), StatusCode::NOT_FOUND, b"{}", None).is_err());
    }
}
