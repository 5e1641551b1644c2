//! Settings: command-line flags win over `PRESSWIRE_*` environment
//! variables (both handled by clap), which win over `presswire.toml`, which
//! wins over the defaults here.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The settings file presswire reads when `--config` names none.
pub const DEFAULT_FILE: &str = "presswire.toml";

/// A settings file that cannot be read or understood.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
}

/// The contents of presswire.toml. Unknown keys are errors, so a typo does
/// not silently fall back to a default.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Database URL: `sqlite://FILE` or `postgres://…`.
    pub db: Option<String>,
}

impl Config {
    /// Loads `path`, or presswire.toml in the working directory when it
    /// exists; no file means defaults. A file named explicitly must exist.
    pub fn load(path: Option<&Path>) -> Result<Config, Error> {
        let (path, required) = match path {
            Some(p) => (p.to_path_buf(), true),
            None => (PathBuf::from(DEFAULT_FILE), false),
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => {
                return Ok(Config::default())
            }
            Err(e) => {
                return Err(Error::Invalid {
                    path: path.display().to_string(),
                    message: e.to_string(),
                })
            }
        };
        toml::from_str(&text).map_err(|e| Error::Invalid {
            path: path.display().to_string(),
            message: e.to_string().trim_end().replace('\n', "\n  "),
        })
    }
}

/// The commented presswire.toml that `presswire init` writes.
pub const STARTER: &str = r##"# presswire settings.
# Command-line flags win over PRESSWIRE_* environment variables, which win
# over this file. Remove the leading "# " of a line to use it.

# Where contacts, sends and bounces are kept: a SQLite file (the default)
# or a PostgreSQL database shared by a team or several sending machines.
# Environment: PRESSWIRE_DB. Flag: --db.
# db = "sqlite://presswire.db"
# db = "postgres://presswire@db.example.org/presswire"
"##;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starter_parses_and_unknown_keys_are_refused() {
        let c: Config = toml::from_str(STARTER).unwrap();
        assert!(c.db.is_none());
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("p.toml");
        std::fs::write(&p, "db = \"sqlite://x.db\"\ndatabase = 1\n").unwrap();
        let e = Config::load(Some(&p)).unwrap_err().to_string();
        assert!(e.contains("p.toml") && e.contains("database"), "{e}");
    }
}
