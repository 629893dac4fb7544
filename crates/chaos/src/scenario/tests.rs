use std::time::Duration;

use super::*;

const MINIMAL: &str = r#"
name = "t"
summary = "a test"

[[phases]]
name = "baseline"
duration = "20s"
short = "4s"

[[phases]]
name = "down"
duration = "30s"
short = "6s"
actions = [{ do = "kill", target = "reference-1", hold = true }]

[[expect]]
phase = "down"
min_success = 99.9
"#;

fn err(text: &str) -> String {
    Scenario::parse(text, "test")
        .expect_err("invalid")
        .to_string()
}

#[test]
fn every_built_in_scenario_parses_and_validates() {
    let all = builtin::all().expect("built-in scenarios");
    assert_eq!(all.len(), builtin::SCENARIOS.len());
    for (s, (name, _)) in all.iter().zip(builtin::SCENARIOS) {
        assert_eq!(&s.name, name, "file name and `name` agree");
        assert!(!s.expect.is_empty(), "{name} states expectations");
        let short: Duration = s.plan(true).iter().map(|p| p.duration).sum();
        assert!(
            short <= Duration::from_secs(30),
            "{name}: the short version takes {short:?}"
        );
    }
}

#[test]
fn a_minimal_scenario_has_defaults_and_two_versions() {
    let s = Scenario::parse(MINIMAL, "test").expect("valid");
    assert_eq!(s.system.instances, 2);
    assert_eq!(s.system.database, Database::Sqlite);
    assert_eq!(s.rate(false), 40.0);
    assert_eq!(s.rate(true), 25.0);
    let short = s.plan(true);
    assert_eq!(short[1].duration, Duration::from_secs(6));
    assert_eq!(s.plan(false)[1].duration, Duration::from_secs(30));
    assert_eq!(
        short[1].actions,
        [Action::Kill {
            target: "reference-1".into(),
            hold: true
        }]
    );
    assert_eq!(
        short[1].actions[0].describe(),
        "kill -9 reference-1 (held down)"
    );
}

#[test]
fn unknown_keys_and_actions_are_refused() {
    assert!(err(&MINIMAL.replace("summary", "sumary")).contains("sumary"));
    assert!(err(&MINIMAL.replace("do = \"kill\"", "do = \"explode\"")).contains("explode"));
}

#[test]
fn targets_must_exist_in_the_system() {
    let e = err(&MINIMAL.replace("reference-1", "reference-3"));
    assert!(e.contains("no process \"reference-3\""), "{e}");
    let e = err(&MINIMAL.replace("reference-1", "gateway-2"));
    assert!(e.contains("gateway-2"), "{e}");
    let ok = MINIMAL.replace("reference-1", "service:profile");
    Scenario::parse(&ok, "test").expect("every instance of a service");
    let e = err(&MINIMAL.replace("reference-1", "service:billing"));
    assert!(e.contains("billing"), "{e}");
}

#[test]
fn postgres_actions_need_postgres_mode() {
    let text = MINIMAL.replace(
        r#"{ do = "kill", target = "reference-1", hold = true }"#,
        r#"{ do = "pg-kill", node = "primary" }"#,
    );
    assert!(err(&text).contains("postgres"));
    let text = format!("{text}\n[system]\ndatabase = \"postgres\"\n");
    Scenario::parse(&text, "test").expect("valid in PostgreSQL mode");
}

#[test]
fn expectations_must_name_phases_and_check_something() {
    let e = err(&MINIMAL.replace("phase = \"down\"", "phase = \"dwon\""));
    assert!(e.contains("dwon"), "{e}");
    let e = err(&MINIMAL.replace("min_success = 99.9", "requests = \"all\""));
    assert!(e.contains("must check something"), "{e}");
    let e = err(&MINIMAL.replace("min_success = 99.9", "min_success = 120"));
    assert!(e.contains("percentage"), "{e}");
    let e = err(&MINIMAL.replace("min_success = 99.9", "max_p99_ratio = 2.0"));
    assert!(e.contains("go together"), "{e}");
    let e = err(&MINIMAL.replace(
        "min_success = 99.9",
        "requests = \"billing\"\nmin_success = 1",
    ));
    assert!(e.contains("billing"), "{e}");
}

#[test]
fn phases_must_be_unique_and_last() {
    let e = err(&MINIMAL.replace("name = \"down\"", "name = \"baseline\""));
    assert!(e.contains("unique"), "{e}");
    let e = err(&MINIMAL.replace("short = \"4s\"", "short = \"0s\""));
    assert!(e.contains("above zero"), "{e}");
}

#[test]
fn only_tis_settings_go_to_the_environment() {
    let text = format!("{MINIMAL}\n[system]\nenv = {{ PATH = \"/tmp\" }}\n");
    assert!(err(&text).contains("TIS_"));
}

#[test]
fn selectors_pick_groups() {
    let all = Selector::parse("all").expect("all");
    assert!(all.matches("reference.read"));
    assert!(!all.matches("idp.login"), "logins are not gateway requests");
    let login = Selector::parse("login").expect("login");
    assert!(login.matches("idp.login") && !login.matches("profile.read"));
    let not_ref = Selector::parse("!reference").expect("!reference");
    assert!(not_ref.matches("profile.read"));
    assert!(!not_ref.matches("reference.write") && !not_ref.matches("idp.login"));
    let writes = Selector::parse("reference.write").expect("group");
    assert!(writes.matches("reference.write") && !writes.matches("reference.read"));
    assert!(Selector::parse("!reference.read").is_err());
}

#[test]
fn a_scenario_is_found_by_file_or_built_in_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("mine.toml");
    std::fs::write(&file, MINIMAL).expect("write");
    let s = Scenario::find(file.to_str().expect("utf-8"), None).expect("by path");
    assert_eq!(s.name, "t");
    let s = Scenario::find("mine", Some(dir.path())).expect("by name in a folder");
    assert_eq!(s.name, "t");
    assert!(matches!(
        Scenario::find("no-such", Some(dir.path())),
        Err(ScenarioError::Unknown(_))
    ));
}
