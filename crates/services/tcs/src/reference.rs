//! Checking the Reference data a write names (a person's title, a qualification's country, a
//! membership's grade…) through the cached Reference client, before anything is saved.
//!
//! Reads never ask Reference. A write asks only about the keys the client's cache cannot
//! answer, all of one type in one batched call, on the caller's behalf (their principal is
//! forwarded). What each answer does to the write (the client's [`settle`] rule):
//!
//! | Reference says | the write |
//! |---|---|
//! | every key exists (fresh) | goes on |
//! | some key does not exist | 400, a field error naming the field and the value |
//! | every key exists, some answered from the last-good snapshot (Reference down) | goes on, marked `TIS-Degraded: reference-stale` |
//! | some key was never seen and Reference cannot be asked | 503 `dependency_unavailable`, `Retry-After: 1`, nothing written |
//!
//! ```ignore
//! let mut refs = Refs::new();
//! refs.code("title", RefType::TITLES, dto.title.as_deref());
//! refs.id("gradeId", RefType::GRADES, dto.grade_id);
//! refs.check(&tcs, &who, &headers).await?;   // before the transaction
//! ```
//!
//! [`settle`]: tis_reference_client::Checked::settle

use std::collections::BTreeMap;

use http::HeaderMap;
use tis_auth::{Credential, Principal};
use tis_core::{FieldError, HttpError};
use tis_reference_client::types::By;
use tis_reference_client::{RefType, ReferenceClient};
use tis_service_kit::ApiError;

/// Each key asked about, with the JSON fields naming it.
type Keys = BTreeMap<String, Vec<String>>;

/// The Reference keys a write names, each with the JSON field it came from.
#[derive(Debug, Default)]
pub struct Refs {
    /// (type's plural, by) → the type, and its keys.
    asked: BTreeMap<(&'static str, By), (RefType, Keys)>,
}

impl Refs {
    pub fn new() -> Refs {
        Refs::default()
    }

    /// `field` names the record of type `of` whose code is `code` (nothing when `None` or
    /// blank: absent references are the field's own validation's business).
    pub fn code(&mut self, field: impl Into<String>, of: RefType, code: Option<&str>) -> &mut Refs {
        if let Some(code) = code.map(str::trim).filter(|c| !c.is_empty()) {
            self.ask(field.into(), of, By::Code, code.to_owned());
        }
        self
    }

    /// `field` names the record of type `of` whose id is `id` (nothing when `None`).
    pub fn id(&mut self, field: impl Into<String>, of: RefType, id: Option<i64>) -> &mut Refs {
        if let Some(id) = id {
            self.ask(field.into(), of, By::Id, id.to_string());
        }
        self
    }

    fn ask(&mut self, field: String, of: RefType, by: By, key: String) {
        self.asked
            .entry((of.plural, by))
            .or_insert_with(|| (of, BTreeMap::new()))
            .1
            .entry(key)
            .or_default()
            .push(field);
    }

    /// Whether nothing was named.
    pub fn is_empty(&self) -> bool {
        self.asked.is_empty()
    }

    /// Asks Reference (through `client`, on `who`'s behalf) about every key named: `Ok` when
    /// all exist, a 400 naming each field whose value does not, a 503 when any could not be
    /// settled (see the module documentation).
    pub async fn check(
        &self,
        client: &ReferenceClient,
        who: &Principal,
        headers: &HeaderMap,
    ) -> Result<(), ApiError> {
        if self.is_empty() {
            return Ok(());
        }
        let credential = Credential::on_behalf_of(who, headers);
        let mut fields = Vec::new();
        for ((_, by), (of, keys)) in &self.asked {
            let checked = client
                .exist(*of, *by, keys.keys(), credential.as_ref())
                .await;
            let missing = checked
                .settle()
                .map_err(|e| ApiError::Http(HttpError::from(e)))?;
            for key in missing {
                for field in keys.get(key).into_iter().flatten() {
                    fields.push(FieldError::new(
                        field.clone(),
                        format!("no {} with {} {key}", singular(of.plural), by.label()),
                    ));
                }
            }
        }
        if fields.is_empty() {
            Ok(())
        } else {
            fields.sort_by(|a, b| a.field.cmp(&b.field));
            Err(ApiError::Validation(fields))
        }
    }
}

/// The records of type `of` with the ids `ids` (each with the JSON fields naming it), for a
/// write that keeps some of their values (a post's sites' codes and trusts): by the same rule
/// as [`Refs::check`] (an id that does not exist is a 400 naming each of its fields; one that
/// could not be settled a 503; stale answers mark the request `reference-stale`).
pub async fn records_by_id(
    client: &ReferenceClient,
    of: RefType,
    ids: &BTreeMap<i64, Vec<String>>,
    who: &Principal,
    headers: &HeaderMap,
) -> Result<BTreeMap<i64, std::sync::Arc<serde_json::Value>>, ApiError> {
    if ids.is_empty() {
        return Ok(BTreeMap::new());
    }
    let credential = Credential::on_behalf_of(who, headers);
    let keys: Vec<String> = ids.keys().map(i64::to_string).collect();
    let checked = client.records(of, By::Id, &keys, credential.as_ref()).await;
    let missing = checked
        .settle()
        .map_err(|e| ApiError::Http(HttpError::from(e)))?;
    let mut fields = Vec::new();
    for key in missing {
        let id: i64 = key.parse().unwrap_or_default();
        for field in ids.get(&id).into_iter().flatten() {
            fields.push(FieldError::new(
                field.clone(),
                format!("no {} with id {key}", singular(of.plural)),
            ));
        }
    }
    if !fields.is_empty() {
        fields.sort_by(|a, b| a.field.cmp(&b.field));
        return Err(ApiError::Validation(fields));
    }
    Ok(checked
        .into_map()
        .into_iter()
        .filter_map(|(k, lookup)| Some((k.parse().ok()?, lookup.record()?.clone())))
        .collect())
}

/// `grades` → `grade`, `local-offices` → `local office`, `countries` → `country`.
fn singular(plural: &str) -> String {
    let words = plural.replace('-', " ");
    if let Some(stem) = words.strip_suffix("ies") {
        format!("{stem}y")
    } else if let Some(stem) = words.strip_suffix("ses") {
        format!("{stem}s")
    } else {
        words.strip_suffix('s').unwrap_or(&words).to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_named_in_the_singular_in_field_errors() {
        assert_eq!(singular("grades"), "grade");
        assert_eq!(singular("local-offices"), "local office");
        assert_eq!(singular("countries"), "country");
        assert_eq!(singular("gmc-statuses"), "gmc status");
    }

    #[test]
    fn blank_and_absent_keys_are_not_asked_and_one_key_keeps_every_field() {
        let mut refs = Refs::new();
        refs.code("title", RefType::TITLES, Some("  "))
            .code("x", RefType::TITLES, None)
            .id("gradeId", RefType::GRADES, None);
        assert!(refs.is_empty());
        refs.id("a[0].gradeId", RefType::GRADES, Some(3)).id(
            "a[1].gradeId",
            RefType::GRADES,
            Some(3),
        );
        let (_, keys) = &refs.asked[&("grades", By::Id)];
        assert_eq!(keys["3"], ["a[0].gradeId", "a[1].gradeId"]);
    }
}
