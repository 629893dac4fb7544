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
