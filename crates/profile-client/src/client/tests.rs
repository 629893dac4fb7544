//! The cache's memory bound, which needs moka's own maintenance to be observed.

use super::*;
use tis_auth::UserProfile;

/// Every user exists and has a profile whose JSON is about a kilobyte.
struct Kilobyte;

impl Fetch for Kilobyte {
    fn fetch(
        &self,
        key: &UserKey,
        _token: Arc<str>,
    ) -> BoxFuture<'static, Result<Fetched, FetchFailure>> {
        let profile = Arc::new(UserProfile::named(key.user.to_string()));
        Box::pin(async move {
            Ok(Fetched::Profile {
                profile,
                bytes: 1000,
            })
        })
    }
}

#[tokio::test]
async fn memory_stays_within_the_configured_bytes() {
    let config = ProfileClientConfig {
        max_bytes: 64 * 1024,
        ..ProfileClientConfig::default()
    };
    let client = ProfileClient::with_fetch(&config, Arc::new(Kilobyte)).expect("client");
    for i in 0..500 {
        let claims: AccessClaims = serde_json::from_value(serde_json::json!({
            "iss": "http://idp/realms/lin", "aud": "tis", "exp": 1,
            "preferred_username": format!("user{i}")
        }))
        .expect("claims");
        client.resolve("token", &claims).await.expect("profile");
    }
    client.inner.cache.run_pending_tasks().await;
    let stats = client.stats();
    assert!(stats.weight_bytes <= 64 * 1024, "{stats:?}");
    assert!(stats.entries < 500 && stats.entries > 0, "{stats:?}");
}
