//! Layered configuration.
//!
//! Every binary has one `Config` made of per-crate structs, each with
//! `#[serde(deny_unknown_fields)]` so a misspelt key is an error that names it. Layers, later
//! winning: the struct's `Default` → the configuration file (`--config`, or `tis.toml` in the
//! working folder when present) → environment variables `TIS_…`, with `__` between the levels
//! (`TIS_REFERENCE__LISTEN=127.0.0.1:0` sets `reference.listen`).
//!
//! [`load`] is called once, in `main`; nothing below `main` reads the environment.

use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The configuration file read when `--config` is not given, if it exists.
pub const DEFAULT_FILE: &str = "tis.toml";
/// The prefix of configuration environment variables.
pub const ENV_PREFIX: &str = "TIS_";
/// The exit code of a process whose configuration is invalid.
pub const EXIT_CONFIG: i32 = 2;

/// Where the system runs: the top-level `mode` key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// One machine, demo data and demo identities (`tis up`).
    #[default]
    Local,
    /// A real deployment: nothing is invented, every development shortcut is refused at
    /// start (see `docs/operations.md`, "Production checklist").
    Production,
}

impl Mode {
    pub fn is_production(self) -> bool {
        self == Mode::Production
    }
}

/// A configuration that loads but cannot work: every problem at once, each a sentence naming
/// its key. Exit code 2 ([`EXIT_CONFIG`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid configuration: {}", .0.join("; "))]
pub struct InvalidConfig(pub Vec<String>);

impl InvalidConfig {
    /// `Ok` when there is no problem, else every one of them.
    pub fn check(problems: Vec<String>) -> Result<(), InvalidConfig> {
        if problems.is_empty() {
            Ok(())
        } else {
            Err(InvalidConfig(problems))
        }
    }

    /// The configuration problem behind `err`, wherever it is in its chain of causes.
    pub fn find(err: &anyhow::Error) -> Option<&InvalidConfig> {
        err.chain().find_map(|e| e.downcast_ref::<InvalidConfig>())
    }
}

/// What is wrong with the secret file `path` given for `key` (a private key, a token): it
/// must be readable; in production it must not be readable or writable by others (mode
/// `o-rwx`, e.g. 0600 or 0640), as PostgreSQL refuses a world-readable server key: a secret
/// any local user or process can read is no longer a secret.
pub fn secret_file_problems(key: &str, path: &Path, mode: Mode) -> Vec<String> {
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) => return vec![format!("`{key}` {}: cannot be read: {e}", path.display())],
    };
    if let Err(e) = std::fs::File::open(path) {
        return vec![format!("`{key}` {}: cannot be read: {e}", path.display())];
    }
    let mut out = Vec::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let bits = meta.permissions().mode() & 0o777;
        if mode.is_production() && bits & 0o007 != 0 {
            out.push(format!(
                "`{key}` {} is readable or writable by others (mode {bits:04o}): in production a \
                 secret must be o-rwx (chmod 600, or 640 for a group such as a Kubernetes fsGroup)",
                path.display()
            ));
        }
    }
    #[cfg(not(unix))]
    let _ = (meta, mode);
    out
}

/// What is wrong with fetching keys (or anything that decides who a caller is) from `url`
/// for `key`: in production it must be `https://`, since whoever can answer a plain-HTTP
/// fetch on the network path can hand out their own keys and sign tokens for anyone. Plain
/// HTTP to a loopback address (a local proxy or sidecar) never crosses a network and is
/// allowed.
pub fn https_problem(key: &str, url: &str, mode: Mode) -> Option<String> {
    let parsed = url::Url::parse(url.trim()).ok();
    let plain = parsed.as_ref().is_some_and(|u| u.scheme() == "http");
    let loopback = parsed.as_ref().is_some_and(|u| match u.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    });
    (mode.is_production() && plain && !loopback).then(|| {
        format!(
            "`{key}` is {url:?}: in production keys are fetched over https only (a plain-HTTP \
             answer could be forged on the network)"
        )
    })
}

/// A configuration that cannot be used. Its message names the key and where it came from.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration file {0} does not exist")]
    MissingFile(PathBuf),
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

impl From<figment::Error> for ConfigError {
    fn from(err: figment::Error) -> Self {
        // figment reports every error it found; name each with its key and source.
        let all: Vec<String> = err.into_iter().map(|e| describe(&e)).collect();
        ConfigError::Invalid(all.join("; "))
    }
}

fn describe(err: &figment::Error) -> String {
    let key = err.path.join(".");
    let source = err
        .metadata
        .as_ref()
        .map(|m| match &m.source {
            Some(src) => format!("{} ({src})", m.name),
            None => m.name.to_string(),
        })
        .unwrap_or_else(|| "defaults".into());
    if key.is_empty() {
        format!("{} in {source}", err.kind)
    } else {
        format!("{} for key `{key}` in {source}", err.kind)
    }
}

/// The layers for a configuration: defaults, then `file` (or `tis.toml` when present), then
/// the `TIS_…` environment.
pub fn figment<T: Serialize + Default>(file: Option<&Path>) -> Result<Figment, ConfigError> {
    let mut fig = Figment::from(Serialized::defaults(T::default()));
    match file {
        Some(path) => {
            if !path.exists() {
                return Err(ConfigError::MissingFile(path.to_path_buf()));
            }
            fig = fig.merge(Toml::file_exact(path));
        }
        None => {
            if Path::new(DEFAULT_FILE).exists() {
                fig = fig.merge(Toml::file_exact(DEFAULT_FILE));
            }
        }
    }
    Ok(fig.merge(Env::prefixed(ENV_PREFIX).split("__")))
}

/// Loads the configuration: defaults → file → environment.
pub fn load<T>(file: Option<&Path>) -> Result<T, ConfigError>
where
    T: Serialize + DeserializeOwned + Default,
{
    Ok(figment::<T>(file)?.extract()?)
}

#[cfg(test)]
mod production_tests {
    use super::*;

    #[test]
    fn production_fetches_keys_over_https_or_loopback_only() {
        let p = Mode::Production;
        assert!(https_problem("k", "http://login.example.org/realms/lin", p).is_some());
        assert!(https_problem("k", "HTTP://login.example.org/realms/lin", p).is_some());
        assert!(https_problem("k", "https://login.example.org/realms/lin", p).is_none());
        assert!(https_problem("k", "http://127.0.0.1:8180/realms/lin", p).is_none());
        assert!(https_problem("k", "http://[::1]:8180/realms/lin", p).is_none());
        assert!(https_problem("k", "http://localhost:8180/realms/lin", p).is_none());
        assert!(https_problem("k", "http://login.example.org", Mode::Local).is_none());
    }

    #[cfg(unix)]
    #[test]
    fn production_refuses_a_secret_others_can_read_and_every_mode_a_missing_one() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("tis-core-secret-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("key");
        std::fs::write(&path, "secret").expect("write");
        for (bits, refused) in [(0o600, false), (0o640, false), (0o644, true), (0o606, true)] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(bits)).expect("chmod");
            let problems = secret_file_problems("gateway.k", &path, Mode::Production);
            assert_eq!(!problems.is_empty(), refused, "{bits:o}: {problems:?}");
            assert!(secret_file_problems("gateway.k", &path, Mode::Local).is_empty());
        }
        let missing = secret_file_problems("gateway.k", &dir.join("none"), Mode::Local);
        assert!(missing[0].starts_with("`gateway.k`"), "{missing:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment::Jail's closures return figment::Error
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields, default)]
    struct Inner {
        listen: String,
        size: u32,
    }
    impl Default for Inner {
        fn default() -> Self {
            Inner {
                listen: "127.0.0.1:0".into(),
                size: 20,
            }
        }
    }

    #[derive(Debug, Default, Serialize, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields, default)]
    struct Top {
        inner: Inner,
    }

    #[test]
    fn environment_overrides_file_which_overrides_defaults() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("tis.toml", "[inner]\nlisten = \"0.0.0.0:1\"\nsize = 5\n")?;
            jail.set_env("TIS_INNER__SIZE", "7");
            let cfg: Top = load(None).map_err(|e| e.to_string())?;
            assert_eq!(cfg.inner.listen, "0.0.0.0:1");
            assert_eq!(cfg.inner.size, 7);
            Ok(())
        });
    }

    #[test]
    fn unknown_key_in_file_is_an_error_naming_the_key() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("tis.toml", "[inner]\nlisen = \"0.0.0.0:1\"\n")?;
            let err = load::<Top>(None).expect_err("a misspelt key must be refused");
            let msg = err.to_string();
            assert!(msg.contains("lisen"), "{msg}");
            assert!(msg.contains("inner"), "{msg}");
            Ok(())
        });
    }

    #[test]
    fn unknown_environment_key_is_an_error() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("TIS_INNER__COLOUR", "blue");
            let err = load::<Top>(None).expect_err("an unknown variable must be refused");
            assert!(err.to_string().contains("colour"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn missing_explicit_file_is_an_error() {
        let err = load::<Top>(Some(Path::new("/nonexistent/tis.toml"))).unwrap_err();
        assert!(matches!(err, ConfigError::MissingFile(_)));
    }
}
