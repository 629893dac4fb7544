//! The floor under the gateway's data path, for `bench/gateway.sh`: a reverse proxy made of
//! nothing but a hyper 1 server and a pooled hyper-util client (no routing, no auth, no
//! mesh, no context), on the same runtime settings as `tis`. Not a product: it forwards
//! every request to one upstream.
//!
//! `cargo run --release -p tis-gateway --example bare_proxy -- 127.0.0.1:0 127.0.0.1:9000`
//! prints its address on the first line of stdout. With a third argument `mesh`, requests go
//! through a default tis-mesh `ServiceClient` instead of the bare client: the difference is
//! what the mesh stack costs, apart from everything else the gateway does.

use std::net::SocketAddr;

use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let listen: SocketAddr = args
        .next()
        .unwrap_or_else(|| "127.0.0.1:0".into())
        .parse()?;
    let upstream: SocketAddr = args
        .next()
        .ok_or_else(|| anyhow::anyhow!("usage: bare_proxy LISTEN UPSTREAM"))?
        .parse()?;
    let mesh = args.next().as_deref() == Some("mesh");
    let listener = tokio::net::TcpListener::bind(listen).await?;
    println!("{}", listener.local_addr()?);
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let client: Client<HttpConnector, Incoming> =
        Client::builder(TokioExecutor::new()).build(connector);
    let authority = http::uri::Authority::try_from(upstream.to_string().as_str())?;
    if mesh {
        let client = tis_mesh::ServiceClient::new(
            "bench",
            tis_mesh::MeshConfig::default(),
            tis_mesh::StaticDiscovery::new([upstream]),
        )?;
        loop {
            let (stream, _) = listener.accept().await?;
            let _ = stream.set_nodelay(true);
            let client = client.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                    let client = client.clone();
                    async move {
                        let res = client.call(req).await?;
                        Ok::<_, tis_mesh::MeshError>(res.map(|b| b.boxed()))
                    }
                });
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    }
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let (client, authority) = (client.clone(), authority.clone());
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                let (client, authority) = (client.clone(), authority.clone());
                async move {
                    let (mut parts, body) = req.into_parts();
                    let mut uri = http::uri::Parts::default();
                    uri.scheme = Some(http::uri::Scheme::HTTP);
                    uri.authority = Some(authority);
                    uri.path_and_query = parts.uri.path_and_query().cloned();
                    parts.uri = http::Uri::from_parts(uri)?;
                    let res = client
                        .request(hyper::Request::from_parts(parts, body))
                        .await?;
                    Ok::<_, anyhow::Error>(res.map(|b| b.boxed()))
                }
            });
            let _ = auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}
