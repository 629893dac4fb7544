//! Names from Reference for the ids and codes other records hold (a post's sites and grades,
//! a user's designated bodies), so that pages say "St Thomas' Hospital (RJ122)", not "28".
//! Reference being unavailable is not an error of the page: the caller shows the ids or codes
//! with a plain-words note ([`NAMES_DOWN`]).

use std::collections::HashMap;

use serde_json::Value;

use super::{Current, Web};
use crate::api::ApiError;
use crate::format::raw;

/// What a page says when Reference cannot give the names.
pub const NAMES_DOWN: &str = "Reference data is unavailable right now, so some names cannot be shown: their ids or codes are shown instead.";

/// A kind of Reference record a page names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Named {
    /// Sites by id: "St Thomas' Hospital (RJ122)".
    Sites,
    /// Grades by id: "Core Training Year 1 (CT1)".
    Grades,
    /// Designated bodies by code: "Kent, Surrey and Sussex (1-AIIDWA)".
    Dbcs,
}

impl Named {
    /// The words for one record.
    pub fn words(self, item: &Value) -> String {
        let (name, code) = match self {
            Named::Sites => ("siteName", "siteCode"),
            Named::Grades => ("name", "abbreviation"),
            Named::Dbcs => ("name", "dbc"),
        };
        let (name, code) = (raw(&item[name]), raw(&item[code]));
        match (name.is_empty(), code.is_empty()) {
            (false, false) => format!("{name} ({code})"),
            (false, true) => name,
            _ => code,
        }
    }

    /// The key a record is found by.
    fn key(self, item: &Value) -> String {
        match self {
            Named::Dbcs => raw(&item["dbc"]),
            _ => raw(&item["id"]),
        }
    }

    /// The API for these keys: the batched look-up by ids, or the whole (short) list.
    fn path(self, keys: &[String]) -> String {
        match self {
            Named::Sites => format!("/reference/api/sites/ids/in?ids={}", keys.join(",")),
            Named::Grades => format!("/reference/api/grades/ids/in?ids={}", keys.join(",")),
            Named::Dbcs => "/reference/api/dbcs?size=500".into(),
        }
    }
}

/// Key → words for `keys` (ids that are not numbers are left out); no call for none.
pub async fn lookup(
    web: &Web,
    c: &Current,
    kind: Named,
    keys: &[String],
) -> Result<HashMap<String, String>, ApiError> {
    let keys: Vec<String> = keys
        .iter()
        .filter(|k| kind == Named::Dbcs || k.parse::<i64>().is_ok())
        .cloned()
        .collect();
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    let answer = web
        .gateway
        .get::<Value>(c.token(), &kind.path(&keys))
        .await?;
    Ok(answer
        .body
        .as_array()
        .into_iter()
        .flatten()
        .map(|i| (kind.key(i), kind.words(i)))
        .collect())
}

/// Key → words, or the keys as they are with [`NAMES_DOWN`] noted on the page.
pub async fn or_keys(
    web: &Web,
    c: &mut Current,
    kind: Named,
    keys: &[String],
) -> HashMap<String, String> {
    match lookup(web, c, kind, keys).await {
        Ok(found) => found,
        Err(_) => {
            if !c.layout.notices.iter().any(|n| n == NAMES_DOWN) {
                c.layout.notices.push(NAMES_DOWN.to_owned());
            }
            HashMap::new()
        }
    }
}
