use std::io::Write;
use std::sync::{Arc, Mutex};

use tracing_subscriber::fmt::MakeWriter;

use crate::helpers::{ALICE_PASSWORD, ETL_SECRET, spawn_idp};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// The subscriber is process-wide: a thread-local one misses callsites whose interest was
/// cached by tests running at the same time. It therefore also sees the other tests' logs,
/// which only makes the check stronger.
#[tokio::test]
async fn passwords_secrets_and_tokens_never_appear_in_the_logs() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(captured.clone())
        .with_ansi(false)
        .finish();
    tracing::subscriber::set_global_default(subscriber)
        .expect("no other test in this binary installs a global subscriber");

    let idp = spawn_idp().await;
    let login = idp.login_alice().await;
    let wrong = "not-alice-password-9c2e";
    idp.token(&[
        ("grant_type", "password"),
        ("client_id", "tis-ui"),
        ("username", "alice"),
        ("password", wrong),
    ])
    .await;
    idp.token(&[
        ("grant_type", "client_credentials"),
        ("client_id", "etl"),
        ("client_secret", ETL_SECRET),
    ])
    .await;
    let refresh = login["refresh_token"].as_str().unwrap();
    idp.token(&[
        ("grant_type", "refresh_token"),
        ("client_id", "tis-ui"),
        ("refresh_token", refresh),
    ])
    .await;
    drop(idp);

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("login"), "the capture works: {logs}");
    assert!(logs.contains("alice"), "user names are logged: {logs}");
    for secret in [ALICE_PASSWORD, wrong, ETL_SECRET, refresh] {
        assert!(!logs.contains(secret), "a secret leaked into the logs");
    }
    let access = login["access_token"].as_str().unwrap();
    let signature = access.rsplit('.').next().unwrap();
    assert!(!logs.contains(signature), "a token leaked into the logs");
}

#[test]
fn the_realm_file_keeps_only_hashes() {
    let text = toml::to_string(&crate::helpers::test_realms()).unwrap();
    assert!(!text.contains(ALICE_PASSWORD));
    assert!(!text.contains(ETL_SECRET));
    assert!(text.contains("$argon2id$"));
}
