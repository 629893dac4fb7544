//! The floor under the gateway's data path, for `bench/gateway.sh`: a reverse proxy made of
//! nothing but a hyper 1 server and a pooled hyper-util client (no routing, no auth, no
//! mesh, no context), on the same runtime model as the gateway. Not a product: it forwards
//! every request to one upstream.
//!
//! `cargo run --release -p tis-gateway --example bare_proxy -- 127.0.0.1:0 127.0.0.1:9000`
//! prints its address on the first line of stdout. With a third argument `mesh`, requests go
//! through a default tis-mesh `ServiceClient` instead of the bare client: the difference is
//! what the mesh stack costs, apart from everything else the gateway does.
//!
//! `WORKERS=n` (default: the number of cores, as `gateway.workers`) serves on n threads, each
//! a current-thread runtime with its own `SO_REUSEPORT` listener; `WORKERS=0` serves on one
//! multi-thread runtime instead (the gateway's model before `workers`).

use std::net::SocketAddr;

use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::{TcpListener, TcpSocket};

#[derive(Clone)]
enum Upstream {
    Bare(Box<(Client<HttpConnector, Incoming>, http::uri::Authority)>),
    Mesh(tis_mesh::ServiceClient),
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let listen: SocketAddr = args
        .next()
        .unwrap_or_else(|| "127.0.0.1:0".into())
        .parse()?;
    let upstream: SocketAddr = args
        .next()
        .ok_or_else(|| anyhow::anyhow!("usage: bare_proxy LISTEN UPSTREAM [mesh]"))?
        .parse()?;
    let mesh = args.next().as_deref() == Some("mesh");
    let workers: usize = match std::env::var("WORKERS") {
        Ok(n) => n.parse()?,
        Err(_) => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };

    let main_rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let upstream = main_rt.block_on(async {
        anyhow::Ok(if mesh {
            Upstream::Mesh(tis_mesh::ServiceClient::new(
                "bench",
                tis_mesh::MeshConfig::default(),
                tis_mesh::StaticDiscovery::new([upstream]),
            )?)
        } else {
            let mut connector = HttpConnector::new();
            connector.set_nodelay(true);
            Upstream::Bare(Box::new((
                Client::builder(TokioExecutor::new()).build(connector),
                http::uri::Authority::try_from(upstream.to_string().as_str())?,
            )))
        })
    })?;

    let bind = |addr: SocketAddr, reuse: bool| -> anyhow::Result<std::net::TcpListener> {
        let socket = TcpSocket::new_v4()?;
        socket.set_reuseaddr(true)?;
        socket.set_reuseport(reuse)?;
        socket.bind(addr)?;
        Ok(main_rt
            .block_on(async { socket.listen(1024) })?
            .into_std()?)
    };
    let first = bind(listen, workers > 1)?;
    let addr = first.local_addr()?;
    println!("{addr}");
    if workers == 0 {
        return main_rt.block_on(serve(first, upstream));
    }
    let mut listeners = vec![first];
    for _ in 1..workers {
        listeners.push(bind(addr, true)?);
    }
    let threads: Vec<_> = listeners
        .into_iter()
        .map(|l| {
            let upstream = upstream.clone();
            std::thread::spawn(move || {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime")
                    .block_on(serve(l, upstream))
            })
        })
        .collect();
    for t in threads {
        let _ = t.join();
    }
    drop(main_rt);
    Ok(())
}

async fn serve(listener: std::net::TcpListener, upstream: Upstream) -> anyhow::Result<()> {
    let listener = TcpListener::from_std(listener)?;
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let upstream = upstream.clone();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                let upstream = upstream.clone();
                async move {
                    match upstream {
                        Upstream::Mesh(client) => {
                            let res = client.call(req).await?;
                            Ok::<_, anyhow::Error>(res.map(|b| b.boxed()))
                        }
                        Upstream::Bare(bare) => {
                            let (client, authority) = *bare;
                            let (mut parts, body) = req.into_parts();
                            let mut uri = http::uri::Parts::default();
                            uri.scheme = Some(http::uri::Scheme::HTTP);
                            uri.authority = Some(authority);
                            uri.path_and_query = parts.uri.path_and_query().cloned();
                            parts.uri = http::Uri::from_parts(uri)?;
                            let res = client
                                .request(hyper::Request::from_parts(parts, body))
                                .await?;
                            Ok(res.map(|b| b.boxed()))
                        }
                    }
                }
            });
            let _ = auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}
