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
