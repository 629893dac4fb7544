//! What a process started by `tis up` does differently: it announces its bound address to
//! the supervisor through a file, and drains and exits when the supervisor dies (so a
//! `kill -9` of `tis up` leaves nothing running).

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use crate::cli::SupervisedArgs;

/// Writes `addr` (and any other named listeners, e.g. `admin`) to the announce file,
/// atomically (temporary file, then rename). The format is the main address on the first
/// line, then one `<name> <address>` line per other listener.
pub fn announce(
    args: &SupervisedArgs,
    addr: SocketAddr,
    others: &[(&str, SocketAddr)],
) -> anyhow::Result<()> {
    let Some(path) = &args.announce_to else {
        return Ok(());
    };
    let mut text = format!("{addr}\n");
    for (name, other) in others {
        text.push_str(&format!("{name} {other}\n"));
    }
    write_atomically(path, &text)
}

/// Reads an announce file: the main address and the named others.
pub fn parse_announcement(text: &str) -> Option<(SocketAddr, Vec<(String, SocketAddr)>)> {
    let mut lines = text.lines();
    let main = lines.next()?.trim().parse().ok()?;
    let others = lines
        .filter_map(|l| {
            let (name, addr) = l.trim().split_once(' ')?;
            Some((name.to_owned(), addr.trim().parse().ok()?))
        })
        .collect();
    Some((main, others))
}

pub fn write_atomically(path: &Path, text: &str) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

/// Resolves on SIGTERM/SIGINT, or when the supervisor that started us is gone.
pub async fn shutdown(args: SupervisedArgs) {
    let orphaned = async move {
        match args.supervisor_pid {
            Some(pid) => loop {
                if nix::unistd::getppid().as_raw() != pid {
                    tracing::warn!(
                        supervisor.pid = pid,
                        "the supervisor is gone; shutting down"
                    );
                    return;
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            },
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        () = tis_core::shutdown::signal() => {}
        () = orphaned => {}
    }
}
