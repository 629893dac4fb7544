//! DNS discovery through hickory-resolver against a tiny DNS server of our own on
//! `127.0.0.1:0` (UDP), whose answers the test changes while the client runs.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hickory_resolver::proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_resolver::proto::rr::rdata::{A, SRV};
use hickory_resolver::proto::rr::{Name, RData, Record, RecordType};
use tis_mesh::{
    DnsConfig, DnsDiscovery, DnsTarget, EndpointState, HickoryResolve, MeshConfig, ServiceClient,
};
use tokio::net::UdpSocket;

use crate::support::{Upstream, eventually, work_get};

type Zone = Arc<Mutex<HashMap<(String, RecordType), Vec<RData>>>>;

/// Answers from a table of (name, type) → records; NXDOMAIN for anything else.
struct TinyDns {
    addr: SocketAddr,
    zone: Zone,
    task: tokio::task::JoinHandle<()>,
}

impl TinyDns {
    async fn start() -> TinyDns {
        let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        let addr = socket.local_addr().expect("addr");
        let zone: Zone = Arc::default();
        let table = zone.clone();
        let task = tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            loop {
                let Ok((n, peer)) = socket.recv_from(&mut buf).await else {
                    continue;
                };
                let Ok(query) = Message::from_vec(&buf[..n]) else {
                    continue;
                };
                let mut answer = Message::response(query.metadata.id, OpCode::Query);
                answer.metadata.message_type = MessageType::Response;
                answer.metadata.authoritative = true;
                answer.metadata.recursion_desired = query.metadata.recursion_desired;
                answer.metadata.recursion_available = true;
                let mut found = false;
                for q in &query.queries {
                    answer.add_query(q.clone());
                    let key = (q.name().to_ascii().to_lowercase(), q.query_type());
                    let rdatas = table.lock().expect("lock").get(&key).cloned();
                    for rdata in rdatas.unwrap_or_default() {
                        found = true;
                        answer.add_answer(Record::from_rdata(q.name().clone(), 0, rdata));
                    }
                }
                if !found {
                    answer.metadata.response_code = ResponseCode::NXDomain;
                }
                if let Ok(bytes) = answer.to_vec() {
                    let _ = socket.send_to(&bytes, peer).await;
                }
            }
        });
        TinyDns { addr, zone, task }
    }

    fn set(&self, name: &str, rtype: RecordType, records: Vec<RData>) {
        self.zone
            .lock()
            .expect("lock")
            .insert((name.to_owned(), rtype), records);
    }
}

impl Drop for TinyDns {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn a(ip: [u8; 4]) -> RData {
    RData::A(A(Ipv4Addr::from(ip)))
}

fn cfg() -> DnsConfig {
    DnsConfig {
        refresh_interval: Duration::from_millis(100),
    }
}

#[tokio::test]
async fn a_client_on_dns_discovery_follows_the_a_records_as_they_change() {
    let dns = TinyDns::start().await;
    let upstream = Upstream::start().await;
    dns.set("reference.test.", RecordType::A, vec![a([127, 0, 0, 1])]);
    let resolver = HickoryResolve::with_name_servers(&[dns.addr], &cfg()).expect("resolver");
    let target = DnsTarget::Host {
        name: "reference.test.".into(),
        port: upstream.addr().port(),
    };
    let discovery = DnsDiscovery::start(Arc::new(resolver), target, &cfg()).await;
    let client = ServiceClient::new("reference", MeshConfig::default(), discovery).expect("config");

    let res = client.call(work_get()).await.expect("found through DNS");
    assert_eq!(res.status(), 200);
    assert_eq!(client.snapshot().endpoints[0].address, upstream.addr());

    // A second instance appears (nothing listens there: it gets ejected, and nobody fails).
    dns.set(
        "reference.test.",
        RecordType::A,
        vec![a([127, 0, 0, 1]), a([127, 0, 0, 2])],
    );
    eventually(Duration::from_secs(3), "the new record is seen", || {
        client.snapshot().endpoints.len() == 2
    })
    .await;
    for _ in 0..10 {
        client.call(work_get()).await.expect("answered");
    }

    // The first one goes away.
    dns.set("reference.test.", RecordType::A, vec![a([127, 0, 0, 2])]);
    eventually(Duration::from_secs(3), "the old record is dropped", || {
        let snap = client.snapshot();
        snap.endpoints.len() == 1 && snap.endpoints[0].address.ip() == Ipv4Addr::new(127, 0, 0, 2)
    })
    .await;
}

#[tokio::test]
async fn srv_records_give_each_instance_its_own_port() {
    let dns = TinyDns::start().await;
    let one = Upstream::start().await;
    let two = Upstream::start().await;
    let srv = |port: u16, target: &str| {
        RData::SRV(SRV::new(
            10,
            1,
            port,
            Name::from_ascii(target).expect("name"),
        ))
    };
    dns.set(
        "_http._tcp.reference.test.",
        RecordType::SRV,
        vec![
            srv(one.addr().port(), "pod-1.test."),
            srv(two.addr().port(), "pod-2.test."),
        ],
    );
    dns.set("pod-1.test.", RecordType::A, vec![a([127, 0, 0, 1])]);
    dns.set("pod-2.test.", RecordType::A, vec![a([127, 0, 0, 1])]);
    let resolver = HickoryResolve::with_name_servers(&[dns.addr], &cfg()).expect("resolver");
    let target = DnsTarget::Srv {
        name: "_http._tcp.reference.test.".into(),
    };
    let discovery = DnsDiscovery::start(Arc::new(resolver), target, &cfg()).await;
    let client = ServiceClient::new("reference", MeshConfig::default(), discovery).expect("config");
    let mut addrs: Vec<SocketAddr> = client
        .snapshot()
        .endpoints
        .iter()
        .map(|e| e.address)
        .collect();
    addrs.sort();
    let mut expected = vec![one.addr(), two.addr()];
    expected.sort();
    assert_eq!(addrs, expected);
    assert!(
        client
            .snapshot()
            .endpoints
            .iter()
            .all(|e| e.state == EndpointState::Ready)
    );
    client.call(work_get()).await.expect("answered");
}
