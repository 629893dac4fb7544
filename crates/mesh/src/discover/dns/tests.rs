//! The refresh and diff logic against a fake resolver, on a paused clock. The same code
//! against hickory and a real (tiny) DNS server is in `tests/mesh/dns.rs`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use super::*;

#[derive(Default)]
struct Fake {
    ips: Mutex<HashMap<String, Result<Vec<IpAddr>, ResolveError>>>,
    srv: Mutex<HashMap<String, Result<Vec<SrvRecord>, ResolveError>>>,
}

impl Fake {
    fn set_ips(&self, host: &str, answer: Result<Vec<IpAddr>, ResolveError>) {
        self.ips
            .lock()
            .expect("lock")
            .insert(host.to_owned(), answer);
    }
}

impl Resolve for Fake {
    fn lookup_ip(&self, host: &str) -> BoxFuture<'static, Result<Vec<IpAddr>, ResolveError>> {
        let answer = self
            .ips
            .lock()
            .expect("lock")
            .get(host)
            .cloned()
            .unwrap_or(Err(ResolveError::NoRecords));
        Box::pin(async move { answer })
    }

    fn lookup_srv(&self, name: &str) -> BoxFuture<'static, Result<Vec<SrvRecord>, ResolveError>> {
        let answer = self
            .srv
            .lock()
            .expect("lock")
            .get(name)
            .cloned()
            .unwrap_or(Err(ResolveError::NoRecords));
        Box::pin(async move { answer })
    }
}

fn ip(last: u8) -> IpAddr {
    IpAddr::from([10, 0, 0, last])
}

fn ports(set: &EndpointSet) -> Vec<String> {
    set.iter().map(|a| a.to_string()).collect()
}

const EVERY: Duration = Duration::from_secs(5);

fn cfg() -> DnsConfig {
    DnsConfig {
        refresh_interval: EVERY,
    }
}

#[tokio::test(start_paused = true)]
async fn each_refresh_publishes_the_new_set_and_a_failed_lookup_keeps_the_last() {
    let fake = Arc::new(Fake::default());
    fake.set_ips("reference", Ok(vec![ip(1), ip(2)]));
    let target = DnsTarget::Host {
        name: "reference".into(),
        port: 8080,
    };
    let dns = DnsDiscovery::start(fake.clone(), target, &cfg()).await;
    let mut rx = dns.subscribe();
    assert_eq!(
        ports(&rx.borrow_and_update()),
        ["10.0.0.1:8080", "10.0.0.2:8080"]
    );

    fake.set_ips("reference", Ok(vec![ip(2), ip(3)]));
    tokio::time::advance(EVERY).await;
    rx.changed().await.expect("refreshed");
    assert_eq!(
        ports(&rx.borrow_and_update()),
        ["10.0.0.2:8080", "10.0.0.3:8080"]
    );

    fake.set_ips("reference", Err(ResolveError::Failed("SERVFAIL".into())));
    tokio::time::advance(EVERY).await;
    tokio::task::yield_now().await;
    assert!(
        !rx.has_changed().expect("open"),
        "a failure changes nothing"
    );
    assert_eq!(rx.borrow().len(), 2);

    fake.set_ips("reference", Err(ResolveError::NoRecords));
    tokio::time::advance(EVERY).await;
    rx.changed().await.expect("refreshed");
    assert!(
        rx.borrow().is_empty(),
        "an authoritative empty answer empties the set"
    );
}

#[tokio::test(start_paused = true)]
async fn an_unchanged_answer_does_not_wake_anyone() {
    let fake = Arc::new(Fake::default());
    fake.set_ips("svc", Ok(vec![ip(1)]));
    let target = DnsTarget::Host {
        name: "svc".into(),
        port: 80,
    };
    let dns = DnsDiscovery::start(fake.clone(), target, &cfg()).await;
    let mut rx = dns.subscribe();
    rx.borrow_and_update();
    for _ in 0..3 {
        tokio::time::advance(EVERY).await;
        tokio::task::yield_now().await;
    }
    assert!(!rx.has_changed().expect("open"));
}

#[tokio::test]
async fn srv_records_of_the_lowest_priority_are_resolved_to_their_ports() {
    let fake = Fake::default();
    fake.srv.lock().expect("lock").insert(
        "_http._tcp.reference".into(),
        Ok(vec![
            SrvRecord {
                priority: 10,
                weight: 1,
                port: 8081,
                target: "pod-a.".into(),
            },
            SrvRecord {
                priority: 10,
                weight: 1,
                port: 8082,
                target: "pod-b.".into(),
            },
            SrvRecord {
                priority: 20,
                weight: 1,
                port: 9999,
                target: "backup.".into(),
            },
        ]),
    );
    fake.set_ips("pod-a.", Ok(vec![ip(1)]));
    fake.set_ips("pod-b.", Ok(vec![ip(2)]));
    fake.set_ips("backup.", Ok(vec![ip(9)]));
    let set = resolve(
        &fake,
        &DnsTarget::Srv {
            name: "_http._tcp.reference".into(),
        },
    )
    .await
    .expect("resolved");
    let got: Vec<String> = set.iter().map(|a| a.to_string()).collect();
    assert_eq!(got, ["10.0.0.1:8081", "10.0.0.2:8082"]);
}
