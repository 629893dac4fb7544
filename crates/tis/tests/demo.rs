//! `tis demo generate` as a script or CI runs it (stderr a pipe): no progress line, only the
//! one-line summary with the rows and the rate; the data is there.

use std::process::Command;

const TIS: &str = env!("CARGO_BIN_EXE_tis");

#[test]
fn off_a_terminal_demo_generate_prints_only_its_summary() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let db = dir.path().join("tcs.db");
    let out = Command::new(TIS)
        .args(["demo", "generate", "--people", "40", "--database-url"])
        .arg(format!("sqlite://{}", db.display()))
        .env("TIS_LOG__LEVEL", "warn")
        .current_dir(dir.path())
        .output()
        .expect("tis runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "only the summary: {stderr:?}");
    assert!(
        lines[0].starts_with("40 trainees (") && lines[0].contains(" rows/s) into sqlite://"),
        "{stderr:?}"
    );
    assert!(
        !stderr.contains('\r') && !stderr.contains('\x1b'),
        "no terminal control off a terminal: {stderr:?}"
    );
    assert!(
        out.stdout.is_empty(),
        "{:?}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// Runs `tis demo generate --people 40` into `url`; returns its stderr (the summary).
fn generate_into(url: &str) -> String {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let out = Command::new(TIS)
        .args(["demo", "generate", "--people", "40", "--database-url", url])
        .env("TIS_LOG__LEVEL", "warn")
        .current_dir(dir.path())
        .output()
        .expect("tis runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{url}: {stderr}");
    stderr
}

/// What the generator derives (list rows, owners, trusts, posts' current trainees), in an
/// order that does not depend on the backend.
async fn derived(url: &str) -> Vec<tis_store::Row> {
    let db = tis_store::Db::connect(&tis_store::DbConfig {
        url: url.to_owned(),
        ..tis_store::DbConfig::default()
    })
    .expect("the database");
    let mut rows = Vec::new();
    for q in [
        "SELECT id, surname, forenames, gmc_number, gdc_number, programme_id, programme_name, programme_number, programme_membership_status, training_number, grade_id, grade_abbreviation, site_id, site_code, placement_type, role, status, current_owner, current_owner_rule, search_text FROM person_view ORDER BY id",
        "SELECT id, status, current_owner, current_owner_rule FROM person ORDER BY id",
        "SELECT person_id, trust_id, trust_code FROM person_trust ORDER BY person_id, trust_id",
        "SELECT id, current_trainee_id, current_trainee_gmc_number, current_trainee_surname, current_trainee_forenames, search_text FROM post_view ORDER BY id",
        "SELECT id, trainee_id, post_id, site_code, grade_id, date_from, date_to, whole_time_equivalent, lifecycle_state FROM placement ORDER BY id",
        "SELECT COUNT(*) AS n FROM placement_specialty",
    ] {
        rows.extend(
            db.fetch_all(tis_store::Sql::new(q))
                .await
                .unwrap_or_else(|e| panic!("{url}: {q}: {e}")),
        );
    }
    db.close().await;
    rows
}

/// On PostgreSQL the generator loads by `COPY` and derives the list rows set-based; on SQLite
/// by multi-row `INSERT`s: the same people, placements and derived rows either way.
#[tokio::test]
async fn demo_generate_writes_the_same_data_set_on_postgresql_as_on_sqlite() {
    let pg = tis_testkit::pg::fresh_database()
        .await
        .expect("a PostgreSQL database");
    let dir = tempfile::tempdir().expect("a temporary folder");
    let sqlite = format!("sqlite://{}", dir.path().join("tcs.db").display());
    let (on_pg, on_sqlite) = (generate_into(&pg), generate_into(&sqlite));
    let rows = |s: &str| s.split(" rows)").next().unwrap_or_default().to_owned();
    assert!(on_pg.starts_with("40 trainees ("), "{on_pg:?}");
    assert_eq!(rows(&on_pg), rows(&on_sqlite));
    let (pg_rows, sqlite_rows) = (derived(&pg).await, derived(&sqlite).await);
    assert!(pg_rows.len() > 90, "{}", pg_rows.len());
    assert!(
        pg_rows
            .iter()
            .any(|r| r.get("grade_id").is_some_and(|g| !g.is_null())),
        "some people are placed today"
    );
    for (p, s) in pg_rows.iter().zip(&sqlite_rows) {
        assert_eq!(p, s);
    }
    assert_eq!(pg_rows.len(), sqlite_rows.len());
}
