//! The OpenAPI document describes the person the routes answer: the properties of its
//! `PersonRecordDto` (following `allOf` and `$ref`) are exactly the keys of a real
//! `GET /people/{id}`, and so for each nested record and programme membership.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::Value;

use crate::helpers::*;

/// The property names of schema `schema` of `doc`, following `$ref` and `allOf`.
pub fn properties(doc: &Value, schema: &Value) -> BTreeSet<String> {
    if let Some(name) = schema["$ref"].as_str() {
        let name = name.trim_start_matches("#/components/schemas/");
        let target = &doc["components"]["schemas"][name];
        assert!(target.is_object(), "{name} is referenced, not described");
        return properties(doc, target);
    }
    let mut out: BTreeSet<String> = schema["properties"]
        .as_object()
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default();
    for part in schema["allOf"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(schema["oneOf"].as_array().into_iter().flatten())
    {
        out.extend(properties(doc, part));
    }
    out
}

/// The schema of property `key` of `schema` (through `$ref`, `allOf`, `oneOf` and arrays).
fn property<'a>(doc: &'a Value, schema: &'a Value, key: &str) -> Option<&'a Value> {
    if let Some(name) = schema["$ref"].as_str() {
        let name = name.trim_start_matches("#/components/schemas/");
        return property(doc, &doc["components"]["schemas"][name], key);
    }
    if let Some(found) = schema["properties"].get(key) {
        return Some(found);
    }
    schema["allOf"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(schema["oneOf"].as_array().into_iter().flatten())
        .find_map(|part| property(doc, part, key))
}

/// An object's schema from a property's: the items of an array, the non-null of a `oneOf`.
fn object_schema(schema: &Value) -> &Value {
    if schema["items"].is_object() {
        return object_schema(&schema["items"]);
    }
    if let Some(one) = schema["oneOf"].as_array()
        && let Some(not_null) = one.iter().find(|s| s["type"] != "null")
    {
        return object_schema(not_null);
    }
    schema
}

pub fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn the_api_documents_person_has_exactly_the_fields_a_person_is_answered_with() {
    for backend in BACKENDS {
        let app = spawn_with_people(backend, 4).await;
        let etl = Caller::etl().token();
        let (status, _, doc) = call(&app, Method::GET, "/tcs/api-docs", &etl, None).await;
        assert_eq!(status, 200);
        let (status, _, person) = call(&app, Method::GET, "/tcs/api/people/1", &etl, None).await;
        assert_eq!(status, 200, "{backend:?}: {person}");
        let answered = &doc["paths"]["/tcs/api/people/{id}"]["get"]["responses"]["200"]["content"]
            ["application/json"]["schema"];
        assert!(answered.is_object(), "{backend:?}: {doc}");
        assert_eq!(
            properties(&doc, answered),
            keys(&person),
            "{backend:?}: the document's person and a real one"
        );
        // Each nested record, and a programme membership with its nested person.
        for key in [
            "contactDetails",
            "personalDetails",
            "gmcDetails",
            "gdcDetails",
            "rightToWork",
            "programmeMemberships",
        ] {
            let value = match &person[key] {
                Value::Array(items) => items.first().cloned().unwrap_or(Value::Null),
                other => other.clone(),
            };
            if value.is_null() {
                continue; // none recorded (gdcDetails for a doctor)
            }
            let schema = object_schema(property(&doc, answered, key).expect(key));
            assert_eq!(properties(&doc, schema), keys(&value), "{backend:?}: {key}");
            if key == "programmeMemberships" {
                let person_schema =
                    object_schema(property(&doc, schema, "person").expect("person"));
                assert_eq!(
                    properties(&doc, person_schema),
                    keys(&value["person"]),
                    "{backend:?}: a membership's person"
                );
            }
        }
    }
}
