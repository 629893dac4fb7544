//! tis-store on both backends: every test runs against SQLite and a real PostgreSQL.

use std::sync::LazyLock;
use std::time::Duration;

use serde_json::json;
use tis_core::Health;
use tis_store::{Db, DbConfig, Migrations, Sql, SqlType, StoreError, Value};

static MIGRATIONS: LazyLock<Migrations> = LazyLock::new(|| Migrations {
    sqlite: sqlx::migrate!("tests/migrations/sqlite"),
    postgres: sqlx::migrate!("tests/migrations/postgres"),
});

struct Both {
    sqlite: Db,
    postgres: Db,
    _dir: tempfile::TempDir,
}

async fn both() -> Both {
    let dir = tempfile::tempdir().expect("tempdir");
    let sqlite = Db::connect(&DbConfig {
        url: format!("sqlite://{}", dir.path().join("t.db").display()),
        ..Default::default()
    })
    .expect("sqlite");
    let pg_url = tis_testkit::pg::fresh_database()
        .await
        .expect("PostgreSQL is required");
    let postgres = Db::connect(&DbConfig {
        url: pg_url,
        ..Default::default()
    })
    .expect("postgres");
    for db in [&sqlite, &postgres] {
        db.migrate(&MIGRATIONS).await.expect("migrations");
    }
    Both {
        sqlite,
        postgres,
        _dir: dir,
    }
}

fn insert(code: &str) -> Sql {
    let mut q = Sql::new(
        "INSERT INTO widget (code, label, active, weight, made_on, made_at, ref, extra) VALUES (",
    );
    q.bind(code)
        .push(", ")
        .bind(Value::Null)
        .push(", ")
        .bind(false)
        .push(", ")
        .bind(2.5)
        .push(", ")
        .bind(time::macros::date!(2024 - 02 - 29))
        .push(", ")
        .bind(time::macros::datetime!(2024-02-29 12:30 UTC))
        .push(", ")
        .bind(uuid::Uuid::nil())
        .push(", ")
        .bind(json!({"a": [1, 2]}))
        .push(") RETURNING id");
    q
}

#[tokio::test]
async fn values_round_trip_the_same_on_both_backends() {
    let b = both().await;
    for db in [&b.sqlite, &b.postgres] {
        let id = db.fetch_one(insert("W1")).await.expect("insert")["id"]
            .as_i64()
            .expect("id");
        let mut q = Sql::new(
            r#"SELECT id, code, label, active, weight, made_on AS "madeOn", made_at AS "madeAt", ref, extra FROM widget WHERE id = "#,
        );
        q.bind(id);
        let row = db.fetch_one(q).await.expect("select");
        assert_eq!(row["code"], "W1", "{:?}", db.backend());
        assert_eq!(row["label"], serde_json::Value::Null);
        assert_eq!(row["active"], false, "{:?}", db.backend());
        assert_eq!(row["weight"], 2.5);
        assert_eq!(row["madeOn"], "2024-02-29");
        assert_eq!(row["madeAt"], "2024-02-29T12:30:00Z", "{:?}", db.backend());
        assert_eq!(row["ref"], "00000000-0000-0000-0000-000000000000");
        #[derive(serde::Deserialize)]
        struct Extra {
            #[serde(deserialize_with = "tis_store::db::de::json")]
            extra: serde_json::Value,
        }
        let extra: Extra = tis_store::db::decode(row).expect("decode");
        assert_eq!(extra.extra, json!({"a": [1, 2]}), "{:?}", db.backend());
    }
}

#[tokio::test]
async fn a_duplicate_code_is_a_duplicate_naming_the_column() {
    let b = both().await;
    for db in [&b.sqlite, &b.postgres] {
        db.fetch_one(insert("DUP")).await.expect("first");
        let err = db
            .fetch_one(insert("DUP"))
            .await
            .expect_err("second must fail");
        match err {
            StoreError::Duplicate { constraint } => {
                assert!(constraint.contains("code"), "{constraint}")
            }
            other => panic!("{:?}: expected Duplicate, got {other:?}", db.backend()),
        }
        assert_eq!(
            StoreError::Duplicate {
                constraint: "code".into()
            }
            .into_http()
            .status,
            409
        );
    }
}

/// The column of `typed` holding each type, and a value of that type.
fn typed_columns() -> [(SqlType, &'static str, Value); 8] {
    [
        (SqlType::Bool, "b", Value::Bool(true)),
        (SqlType::Int, "i", Value::Int(42)),
        (SqlType::Float, "f", Value::Float(1.5)),
        (SqlType::Text, "t", Value::Text("x".into())),
        (
            SqlType::Date,
            "d",
            Value::Date(time::macros::date!(2024 - 02 - 29)),
        ),
        (
            SqlType::Timestamp,
            "ts",
            Value::Timestamp(time::macros::datetime!(2024-02-29 12:30 UTC)),
        ),
        (SqlType::Uuid, "u", Value::Uuid(uuid::Uuid::nil())),
        (SqlType::Json, "j", Value::Json(json!({"k": 1}))),
    ]
}

#[tokio::test]
async fn a_null_of_each_type_binds_into_its_column_even_in_statements_first_prepared_with_it() {
    let b = both().await;
    for db in [&b.sqlite, &b.postgres] {
        for (ty, column, value) in typed_columns() {
            let on = format!("{:?} {column}", db.backend());
            // Each text is run first with the NULL, so PostgreSQL prepares (and caches) the
            // statement with the NULL's declared type, then runs it again with a value.
            let insert = |v: Value| {
                let mut q = Sql::new(&format!("INSERT INTO typed ({column}) VALUES ("));
                q.bind(v).push(r#") RETURNING id AS "id""#);
                q
            };
            let id_of = |row: tis_store::Row| row["id"].as_i64().expect("id");
            let was_null = id_of(db.fetch_one(insert(Value::null(ty))).await.expect(&on));
            let had_value = id_of(db.fetch_one(insert(value.clone())).await.expect(&on));

            let update = |v: Value, id: i64| {
                let mut q = Sql::new(&format!("UPDATE typed SET {column} = "));
                q.bind(v).push(" WHERE id = ").bind(id);
                q
            };
            assert_eq!(
                db.execute(update(Value::null(ty), had_value))
                    .await
                    .expect(&on),
                1
            );
            assert_eq!(
                db.execute(update(value.clone(), was_null))
                    .await
                    .expect(&on),
                1
            );

            let matching = |v: Value| {
                let mut q = Sql::new(&format!(
                    "SELECT COUNT(*) AS n FROM typed WHERE {column} = "
                ));
                q.bind(v);
                q
            };
            let n = |row: tis_store::Row| row["n"].as_i64().expect("n");
            assert_eq!(
                n(db.fetch_one(matching(Value::null(ty))).await.expect(&on)),
                0,
                "{on}"
            );
            assert_eq!(
                n(db.fetch_one(matching(value)).await.expect(&on)),
                1,
                "{on}"
            );

            let mut q = Sql::new(&format!(r#"SELECT {column} AS "v" FROM typed WHERE id = "#));
            q.bind(had_value);
            let row = db.fetch_one(q).await.expect(&on);
            assert_eq!(
                row["v"],
                serde_json::Value::Null,
                "{on}: the NULL was stored"
            );
        }
    }
}

#[tokio::test]
async fn an_untyped_null_is_text_which_postgres_refuses_for_a_date_column() {
    // Why NULLs carry their type: this is what repositories had to work around.
    let b = both().await;
    let mut q = Sql::new("INSERT INTO typed (d) VALUES (");
    q.bind(Value::Null).push(")");
    b.sqlite
        .execute(q.clone())
        .await
        .expect("SQLite takes any NULL");
    let err = b
        .postgres
        .execute(q)
        .await
        .expect_err("a TEXT NULL in a DATE column");
    assert!(err.to_string().contains("date"), "{err}");
}

#[tokio::test]
async fn an_uncommitted_transaction_leaves_nothing_behind() {
    let b = both().await;
    for db in [&b.sqlite, &b.postgres] {
        {
            let mut tx = db.begin().await.expect("begin");
            tx.fetch_one(insert("TX")).await.expect("insert in tx");
            // dropped without commit
        }
        let mut tx = db.begin().await.expect("begin");
        tx.fetch_one(insert("KEPT")).await.expect("insert");
        tx.commit().await.expect("commit");
        let rows = db
            .fetch_all(Sql::new("SELECT code FROM widget ORDER BY code"))
            .await
            .expect("select");
        let codes: Vec<_> = rows
            .iter()
            .map(|r| r["code"].as_str().unwrap_or_default().to_owned())
            .collect();
        assert_eq!(codes, vec!["KEPT"], "{:?}", db.backend());
    }
}

#[tokio::test]
async fn input_in_values_is_never_sql() {
    let b = both().await;
    for db in [&b.sqlite, &b.postgres] {
        db.fetch_one(insert("A")).await.expect("insert");
        let mut q = Sql::new("SELECT COUNT(*) AS n FROM widget WHERE code = ");
        q.bind("A' OR '1'='1");
        let row = db.fetch_one(q).await.expect("count");
        assert_eq!(row["n"], 0, "{:?}", db.backend());
        let mut q = Sql::new(r"SELECT COUNT(*) AS n FROM widget WHERE LOWER(code) LIKE LOWER(");
        q.bind(format!("%{}%", tis_store::sql::escape_like("%")))
            .push(r") ESCAPE '\'");
        assert_eq!(
            db.fetch_one(q).await.expect("like")["n"],
            0,
            "{:?}",
            db.backend()
        );
    }
}

#[tokio::test]
async fn an_unreachable_database_is_unavailable_and_the_instance_not_ready_until_it_returns() {
    let cluster =
        tokio::task::spawn_blocking(|| tis_testkit::pg::PgCluster::start(Default::default()))
            .await
            .expect("join")
            .expect("PostgreSQL is required");
    let cfg = DbConfig {
        url: cluster.primary.url("postgres"),
        acquire_timeout: Duration::from_millis(500),
        health_interval: Duration::from_millis(100),
        ..Default::default()
    };
    let db = Db::connect(&cfg).expect("connect");
    let health = Health::new("test");
    let _monitor = tis_store::monitor::start(db.clone(), health.clone(), cfg.health_interval, None);
    let ready = |want: bool| {
        let health = health.clone();
        async move {
            tis_testkit::wait::until("readiness", Duration::from_secs(10), Duration::from_millis(20), || {
                let h = health.clone();
                async move { (h.check("database").is_some() && h.is_ready() == want).then_some(()) }
            })
            .await
        }
    };
    ready(true).await.expect("ready while the database runs");

    cluster.primary.stop().expect("stop");
    ready(false)
        .await
        .expect("not ready while the database is down");
    let started = tokio::time::Instant::now();
    let err = db
        .fetch_all(Sql::new("SELECT 1 AS one"))
        .await
        .expect_err("must fail");
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_millis(100),
        "fails fast once known down: {:?}",
        started.elapsed()
    );
    assert_eq!(err.into_http().status, 503);

    cluster.primary.start().expect("restart");
    ready(true)
        .await
        .expect("ready again without a restart of the instance");
    let row = db
        .fetch_one(Sql::new("SELECT 1 AS one"))
        .await
        .expect("query after recovery");
    assert_eq!(row["one"], 1);
}

/// Transactions that read and then write, as every write of the services does (the record
/// before, a scope check), all succeed when they run at once: none is refused with "database
/// is locked". A deferred SQLite transaction that read first failed at its first write,
/// without waiting, whenever another committed in between; a write transaction now takes the
/// write lock at BEGIN and waits for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_read_then_write_transactions_all_commit() {
    let b = both().await;
    for db in [&b.sqlite, &b.postgres] {
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..16 {
            let db = db.clone();
            tasks.spawn(async move {
                let mut tx = db.begin().await?;
                tx.fetch_all(Sql::new("SELECT COUNT(*) AS n FROM widget"))
                    .await?;
                tokio::task::yield_now().await;
                tx.fetch_one(insert(&format!("C{i}"))).await?;
                tx.commit().await
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.expect("join")
                .unwrap_or_else(|e| panic!("{:?}: {e}", db.backend()));
        }
        let n = db
            .fetch_one(Sql::new(
                "SELECT COUNT(*) AS n FROM widget WHERE code LIKE 'C%'",
            ))
            .await
            .expect("count");
        assert_eq!(n["n"], 16, "{:?}", db.backend());
    }
}

#[tokio::test]
async fn each_sqlite_connection_bounds_its_page_cache_as_configured() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let cache_of = |db: Db| async move {
        let row = db
            .fetch_one(Sql::new("PRAGMA cache_size"))
            .await
            .expect("pragma");
        row["cache_size"].clone()
    };
    let db = Db::connect(&DbConfig {
        url: url.clone(),
        ..Default::default()
    })
    .expect("sqlite");
    assert_eq!(cache_of(db).await, json!(-256), "the default, in KiB");
    let db = Db::connect(&DbConfig {
        url,
        sqlite_cache_kib: 2000,
        ..Default::default()
    })
    .expect("sqlite");
    assert_eq!(cache_of(db).await, json!(-2000));
}

/// Two instances on one SQLite file: a writer that finds the other's write lock taken waits
/// for it in tis-store's busy handler (db/busy.rs), in short steps, for its `busy_timeout`, and
/// then gets `Unavailable` (a 503) with nothing written; one with time enough commits once the
/// lock is free.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sqlite_writer_waits_for_another_instances_lock_for_its_busy_timeout() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let instance = |busy_timeout: Duration| {
        Db::connect(&DbConfig {
            url: url.clone(),
            busy_timeout,
            ..Default::default()
        })
        .expect("sqlite")
    };
    let holder = instance(Duration::from_secs(5));
    holder.migrate(&MIGRATIONS).await.expect("migrations");
    let impatient = instance(Duration::from_millis(50));
    let patient = instance(Duration::from_secs(30));

    let mut held = holder.begin().await.expect("begin");
    held.fetch_one(insert("HOLD")).await.expect("insert");

    // The lock stays taken: the impatient writer gives up after its 50 ms, not sqlx's or
    // SQLite's default, and writes nothing.
    let started = std::time::Instant::now();
    let refused = async {
        let mut tx = impatient.begin().await?;
        tx.fetch_one(insert("NOPE")).await?;
        tx.commit().await
    }
    .await;
    let waited = started.elapsed();
    assert!(
        matches!(refused, Err(StoreError::Unavailable(_))),
        "{refused:?}"
    );
    assert!(
        waited >= Duration::from_millis(50),
        "gave up after {waited:?}"
    );
    assert!(
        waited < Duration::from_secs(4),
        "waited {waited:?} for a 50 ms timeout"
    );

    // The patient one waits while the lock is held, and commits once it is free.
    let waiting = tokio::spawn(async move {
        let mut tx = patient.begin().await?;
        tx.fetch_one(insert("LATER")).await?;
        tx.commit().await
    });
    tokio::time::sleep(Duration::from_millis(100)).await; // the lock held a while longer
    assert!(!waiting.is_finished(), "wrote while the lock was held");
    held.commit().await.expect("commit");
    waiting
        .await
        .expect("join")
        .expect("the waiting writer commits");

    let codes = holder
        .fetch_all(Sql::new("SELECT code FROM widget ORDER BY id"))
        .await
        .expect("codes");
    let codes: Vec<_> = codes.iter().map(|r| r["code"].clone()).collect();
    assert_eq!(codes, vec![json!("HOLD"), json!("LATER")]);
}
