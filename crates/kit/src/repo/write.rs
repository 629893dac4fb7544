//! Creating and updating records, one transaction per request.

use serde_json::{Map, Value as Json};
use tis_store::{Row, Sql, StoreError, Tx, Value};

use super::Repo;
use crate::entity::validate::bind_value;
use crate::entity::{Descriptor, IdKind, Kind};

/// Why a write was refused.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A reference names a record that does not exist (a field error of record `index`).
    #[error("{field}: no {target} with id {id}")]
    MissingReference {
        index: usize,
        field: &'static str,
        target: &'static str,
        id: String,
    },
    /// An update names a record that does not exist.
    #[error("no {entity} with id {id}")]
    NotFound { entity: &'static str, id: String },
}

fn describe(v: &Value) -> String {
    match v {
        Value::Int(i) => i.to_string(),
        Value::Uuid(u) => u.to_string(),
        Value::Text(t) => t.clone(),
        other => format!("{other:?}"),
    }
}

impl Repo {
    /// Inserts every record (validated, without ids) and returns them as stored, in order.
    pub async fn create_many(
        &self,
        desc: &'static Descriptor,
        records: &[Map<String, Json>],
    ) -> Result<Vec<Row>, WriteError> {
        let mut tx = self.db().begin().await?;
        let mut ids = Vec::with_capacity(records.len());
        for (index, record) in records.iter().enumerate() {
            check_references(&mut tx, desc, record, index).await?;
            ids.push(insert(&mut tx, desc, record).await?);
        }
        tx.commit().await?;
        Ok(self.get_many(desc, &ids).await?)
    }

    /// Replaces every record named by its `id` (validated) and returns them as stored; an id
    /// that names no record is a [`WriteError::NotFound`] and nothing is written.
    pub async fn update_many(
        &self,
        desc: &'static Descriptor,
        records: &[(Value, Map<String, Json>)],
    ) -> Result<Vec<Row>, WriteError> {
        self.update_or_insert(desc, records, false).await
    }

    /// Like [`Repo::update_many`], but a record whose id names no stored record is inserted
    /// as a new one (with an id of its own), as the original's JPA `save` (a merge) did:
    /// `PUT` was an upsert there.
    pub async fn upsert_many(
        &self,
        desc: &'static Descriptor,
        records: &[(Value, Map<String, Json>)],
    ) -> Result<Vec<Row>, WriteError> {
        self.update_or_insert(desc, records, true).await
    }

    async fn update_or_insert(
        &self,
        desc: &'static Descriptor,
        records: &[(Value, Map<String, Json>)],
        upsert: bool,
    ) -> Result<Vec<Row>, WriteError> {
        let mut tx = self.db().begin().await?;
        let mut ids = Vec::with_capacity(records.len());
        for (index, (id, record)) in records.iter().enumerate() {
            check_references(&mut tx, desc, record, index).await?;
            let mut sql = Sql::new(&format!("UPDATE {} SET ", desc.table));
            for (i, f) in desc.fields.iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.push(f.column).push(" = ");
                let value = bind_value(f, record.get(f.json));
                if f.generated && value.is_null() {
                    // Left out: kept as stored.
                    sql.push("COALESCE(")
                        .bind(value)
                        .push(", ")
                        .push(f.column)
                        .push(")");
                } else {
                    sql.bind(value);
                }
            }
            sql.push(" WHERE id = ").bind(id.clone());
            if tx.execute(sql).await? == 0 {
                if upsert {
                    ids.push(insert(&mut tx, desc, record).await?);
                    continue;
                }
                return Err(WriteError::NotFound {
                    entity: desc.name,
                    id: describe(id),
                });
            }
            ids.push(match id {
                Value::Int(i) => Json::from(*i),
                other => Json::String(describe(other)),
            });
        }
        tx.commit().await?;
        Ok(self.get_many(desc, &ids).await?)
    }
}

/// Inserts one validated record with an id of its own (a sequence's, or a new UUID), making
/// its generated fields when absent; returns the id.
async fn insert(
    tx: &mut Tx,
    desc: &'static Descriptor,
    record: &Map<String, Json>,
) -> Result<Json, WriteError> {
    let mut columns: Vec<&str> = Vec::new();
    let mut values: Vec<Value> = Vec::new();
    if desc.id == IdKind::Uuid {
        columns.push("id");
        values.push(Value::Uuid(uuid::Uuid::new_v4()));
    }
    for f in desc.fields {
        columns.push(f.column);
        let value = bind_value(f, record.get(f.json));
        values.push(if f.generated && value.is_null() {
            Value::Uuid(uuid::Uuid::new_v4())
        } else {
            value
        });
    }
    let mut sql = Sql::new(&format!(
        "INSERT INTO {} ({}) VALUES ",
        desc.table,
        columns.join(", ")
    ));
    sql.bind_list(values).push(r#" RETURNING id AS "id""#);
    let row = tx.fetch_one(sql).await?;
    Ok(row.get("id").cloned().unwrap_or(Json::Null))
}

/// Refuses a record whose references name missing records, before the foreign key would
/// (so the caller gets a field error, not a constraint name).
async fn check_references(
    tx: &mut Tx,
    desc: &'static Descriptor,
    record: &Map<String, Json>,
    index: usize,
) -> Result<(), WriteError> {
    for f in desc.fields {
        let Kind::Ref(target) = f.kind else { continue };
        let id = bind_value(f, record.get(f.json));
        if id.is_null() {
            continue;
        }
        let mut sql = Sql::new(&format!("SELECT id FROM {} WHERE id = ", target.table));
        sql.bind(id.clone());
        if tx.fetch_optional(sql).await?.is_none() {
            return Err(WriteError::MissingReference {
                index,
                field: f.json,
                target: target.name,
                id: describe(&id),
            });
        }
    }
    Ok(())
}
