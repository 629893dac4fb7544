//! Processes `tis chaos` runs beside `tis up`'s (`reference-ns`, `gateway-2`): started with
//! the settings `tis up` gave a process of the same kind, announced and ready like them.
//!
//! `tis up` gives each child its whole configuration as a file, `run/<process>.toml`, named
//! by the child's `--config` argument; a sibling gets a copy of its model's file with its own
//! listener and last-good keys file, written next to it as `run/<sibling>.toml`. Keys are set
//! as TOML paths (`reference.listen`): a misspelt one is refused by the sibling at start, by
//! name, like any unknown key.

use std::io::Write;
use std::net::SocketAddr;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::process::Child;
use tokio::time::Instant;

/// The configuration `tis up` gave the running process `pid`: the file after its `--config`
/// (read from `/proc/<pid>/cmdline`), as a table to adjust.
pub fn tis_config(pid: i32) -> anyhow::Result<toml::Table> {
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline"))
        .with_context(|| format!("reading the command line of pid {pid}"))?;
    let args: Vec<String> = cmdline
        .split(|b| *b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    let file = config_arg(&args).with_context(|| format!("pid {pid} has no --config file"))?;
    let text =
        std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
    text.parse()
        .with_context(|| format!("{} is not a TOML table", file.display()))
}

/// The value of `--config` in `args`.
fn config_arg(args: &[String]) -> Option<PathBuf> {
    args.iter().enumerate().find_map(|(i, a)| {
        if a == "--config" {
            args.get(i + 1).map(PathBuf::from)
        } else {
            a.strip_prefix("--config=").map(PathBuf::from)
        }
    })
}

/// Sets the dotted `key` (`reference.listen`) in `config`, creating tables on the way.
pub fn set(config: &mut toml::Table, key: &str, value: impl Into<toml::Value>) {
    let mut table = config;
    let mut parts = key.split('.').peekable();
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            table.insert(part.to_owned(), value.into());
            return;
        }
        let next = table
            .entry(part.to_owned())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if !next.is_table() {
            *next = toml::Value::Table(toml::Table::new());
        }
        let toml::Value::Table(t) = next else {
            return;
        };
        table = t;
    }
}

/// The string at the dotted `key`, if any.
fn get<'a>(config: &'a toml::Table, key: &str) -> Option<&'a str> {
    let mut parts = key.split('.');
    let first = parts.next()?;
    parts
        .try_fold(config.get(first)?, |v, part| v.get(part))?
        .as_str()
}

/// A copy of the last-good keys file named by the dotted `key` in `config`, for `owner`, so
/// that two processes never write the same file; `config` is pointed at the copy.
pub fn own_keys_file(config: &mut toml::Table, key: &str, owner: &str) {
    let Some(file) = get(config, key).map(PathBuf::from) else {
        return;
    };
    let own = file.with_file_name(format!("jwks-{owner}.json"));
    let _ = std::fs::copy(&file, &own);
    set(config, key, own.display().to_string());
}

/// Writes `config` to `run/<owner>.toml` (private: it may hold passwords) and returns the
/// path to pass with `--config`.
pub fn write_config(run_dir: &Path, owner: &str, config: &toml::Table) -> anyhow::Result<PathBuf> {
    let path = run_dir.join(format!("{owner}.toml"));
    let _ = std::fs::remove_file(&path);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(toml::to_string(config)?.as_bytes())?;
    Ok(path)
}

/// Waits for `announce` (written by the process once listening), then for `/health/ready`.
/// Returns the announced addresses (the first line is the main one; `name addr` lines follow).
pub async fn wait_ready(
    name: &str,
    child: &mut Child,
    announce: &Path,
    http: &reqwest::Client,
    within: Duration,
) -> anyhow::Result<(SocketAddr, Vec<(String, SocketAddr)>)> {
    let deadline = Instant::now() + within;
    let (addr, others) = loop {
        if let Ok(text) = std::fs::read_to_string(announce) {
            let mut lines = text.lines();
            if let Some(Ok(addr)) = lines.next().map(|l| l.trim().parse::<SocketAddr>()) {
                let others = lines
                    .filter_map(|l| {
                        let (n, a) = l.trim().split_once(' ')?;
                        Some((n.to_owned(), a.trim().parse().ok()?))
                    })
                    .collect();
                break (addr, others);
            }
        }
        if let Some(status) = child.try_wait()? {
            bail!("{name} exited before listening: {status}");
        }
        if Instant::now() >= deadline {
            bail!("{name} did not announce its address within {within:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let ready = format!("http://{addr}/health/ready");
    loop {
        if let Ok(res) = http.get(&ready).send().await
            && res.status().is_success()
        {
            return Ok((addr, others));
        }
        if let Some(status) = child.try_wait()? {
            bail!("{name} exited before it was ready: {status}");
        }
        if Instant::now() >= deadline {
            bail!("{name} at {addr} was not ready within {within:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_config_argument_is_found_in_both_spellings() {
        let args = |a: &[&str]| a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            config_arg(&args(&[
                "tis",
                "serve",
                "reference",
                "--config",
                "run/r.toml"
            ])),
            Some(PathBuf::from("run/r.toml"))
        );
        assert_eq!(
            config_arg(&args(&["tis", "gateway", "--config=run/g.toml"])),
            Some(PathBuf::from("run/g.toml"))
        );
        assert_eq!(config_arg(&args(&["tis", "idp"])), None);
    }

    #[test]
    fn keys_are_set_and_copied_by_their_path() {
        let dir = tempfile::tempdir().expect("tempdir");
        let keys = dir.path().join("jwks-reference-1.json");
        std::fs::write(&keys, "{}").expect("keys");
        let mut config: toml::Table = format!(
            "[reference]\nlisten = \"127.0.0.1:0\"\n[reference.access_tokens]\nkeys_file = {:?}\n",
            keys.display().to_string()
        )
        .parse()
        .expect("toml");
        set(&mut config, "reference.listen", "10.0.0.2:0");
        own_keys_file(
            &mut config,
            "reference.access_tokens.keys_file",
            "reference-ns",
        );
        let own = dir.path().join("jwks-reference-ns.json");
        assert_eq!(get(&config, "reference.listen"), Some("10.0.0.2:0"));
        assert_eq!(
            get(&config, "reference.access_tokens.keys_file"),
            Some(own.display().to_string().as_str())
        );
        assert!(own.exists(), "the keys were copied");
        let file = write_config(dir.path(), "reference-ns", &config).expect("written");
        let back: toml::Table = std::fs::read_to_string(file)
            .expect("read")
            .parse()
            .expect("toml");
        assert_eq!(back, config);
    }
}
