//! The configuration file of each process `tis up` starts: `run/<process>.toml`.
//!
//! The file is the process's whole [`Config`] (see `plan`), serialized by serde from the typed
//! structs, so that what a child reads is exactly what the supervisor meant: no setting is
//! spelt as a string, and the child checks every key of it as it would an operator's file. It
//! is written before the process first starts and reused by each restart; it is private
//! (0600), since it may hold database passwords.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::config::Config;

/// Where `name`'s configuration is written.
pub fn path(run_dir: &Path, name: &str) -> PathBuf {
    run_dir.join(format!("{name}.toml"))
}

/// The file's text.
pub fn render(name: &str, config: &Config) -> anyhow::Result<String> {
    let body = toml::to_string(config)
        .with_context(|| format!("writing the configuration of {name} as TOML"))?;
    Ok(format!(
        "# The configuration of `{name}`, written by `tis up` from its own (file, TIS_… environment,\n\
         # flags) with this process's settings applied. Rewritten at every start: do not edit.\n\n\
         {body}"
    ))
}

/// Writes `config` for process `name` (0600, atomically) and returns the file's path.
pub fn write(run_dir: &Path, name: &str, config: &Config) -> anyhow::Result<PathBuf> {
    let path = path(run_dir, name);
    let tmp = run_dir.join(format!(".{name}.toml.tmp"));
    let text = render(name, config)?;
    // A leftover temporary file may have other permissions: start from none.
    let _ = std::fs::remove_file(&tmp);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("creating {}", tmp.display()))?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("writing {}", tmp.display()))?;
    drop(file);
    std::fs::rename(&tmp, &path).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}
