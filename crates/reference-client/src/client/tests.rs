//! The cache's memory bound, which needs moka's own maintenance to be observed.

use super::*;
use crate::fetch::Fetched;

/// Every code exists, and every record's JSON is about two kilobytes.
struct Everything;

impl Fetch for Everything {
    fn fetch(
        &self,
        q: Question,
        keys: Vec<Arc<str>>,
        _credential: Option<Credential>,
    ) -> BoxFuture<'static, Result<Answers, FetchFailure>> {
        let answers = keys
            .into_iter()
            .map(|k| {
                let fetched = match q.want {
                    Want::Exists => Fetched {
                        known: Known::Exists,
                        bytes: 0,
                    },
                    Want::Record => Fetched {
                        known: Known::Record(Arc::new(Value::from(k.to_string()))),
                        bytes: 2048,
                    },
                };
                (k, fetched)
            })
            .collect();
        Box::pin(async move { Ok(answers) })
    }
}

#[tokio::test]
async fn memory_stays_within_the_configured_entries_and_a_record_weighs_more() {
    let config = ReferenceClientConfig {
        max_entries: 300,
        ..ReferenceClientConfig::default()
    };
    let client = ReferenceClient::with_fetch(&config, Arc::new(Everything)).expect("client");
    let codes: Vec<String> = (0..1000).map(|i| format!("C{i}")).collect();
    let checked = client.codes_exist(RefType::GRADES, &codes, None).await;
    assert_eq!(checked.missing(), Vec::<&str>::new());
    client.inner.cache.run_pending_tasks().await;
    let stats = client.stats();
    assert!(stats.weight <= 300, "{stats:?}");
    assert!(stats.entries > 0 && stats.entries < 1000, "{stats:?}");

    client.invalidate_all();
    client
        .records(RefType::GRADES, By::Code, &codes[..200], None)
        .await;
    client.inner.cache.run_pending_tasks().await;
    let stats = client.stats();
    assert!(stats.weight <= 300, "{stats:?}");
    assert!(stats.entries <= 100, "three units each: {stats:?}");
}
