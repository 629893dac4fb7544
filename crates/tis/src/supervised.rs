//! What a process started by `tis up` does differently: it announces its bound address to
//! the supervisor through a file, and drains and exits when the supervisor dies (so a
//! `kill -9` of `tis up` leaves nothing running).

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use crate::cli::SupervisedArgs;

/// Writes `addr` to the announce file, atomically (temporary file, then rename).
pub fn announce(args: &SupervisedArgs, addr: SocketAddr) -> anyhow::Result<()> {
    let Some(path) = &args.announce_to else {
        return Ok(());
    };
    write_atomically(path, &format!("{addr}\n"))
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
