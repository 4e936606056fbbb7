//! Accounts and where their files live. One `Profile` is one set of directories: the user's
//! standard ones (shared by the desktop app and `rapport-cli`) or an explicit directory for
//! tests and scripts.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use xmpp_parsers::jid::BareJid;

use crate::error::{EngineError, Result};

/// Environment variable that points a profile at one directory (same as `--profile`).
pub const PROFILE_ENV: &str = "RAPPORT_PROFILE";

/// How to reach and trust one account's server. Never holds the password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountConfig {
    /// The bare JID, e.g. `alice@example.org`.
    pub jid: String,
    /// Manual host override; when unset the domain's SRV records are used.
    #[serde(default)]
    pub host: Option<String>,
    #[serde(default)]
    pub port: Option<u16>,
    /// Connect with TLS from the first byte (XEP-0368) instead of STARTTLS.
    #[serde(default)]
    pub direct_tls: bool,
    /// An extra CA certificate (PEM) trusted for this account besides the system roots.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// SHA-256 fingerprint of the one certificate the user chose to trust for this account.
    #[serde(default)]
    pub pinned_certificate: Option<String>,
    /// The server once authenticated us with channel binding (SCRAM-*-PLUS); a later offer
    /// without it is refused as a downgrade.
    #[serde(default)]
    pub channel_binding_seen: bool,
}

impl AccountConfig {
    pub fn new(jid: &str) -> Result<Self> {
        let jid = parse_account_jid(jid)?;
        Ok(Self {
            jid: jid.to_string(),
            host: None,
            port: None,
            direct_tls: false,
            ca_file: None,
            pinned_certificate: None,
            channel_binding_seen: false,
        })
    }

    pub fn bare_jid(&self) -> Result<BareJid> {
        parse_account_jid(&self.jid)
    }
}

/// Parses an account address: a bare JID with a local part (`user@domain`).
pub fn parse_account_jid(input: &str) -> Result<BareJid> {
    let invalid = |reason: &str| EngineError::InvalidJid { input: truncate(input, 200), reason: reason.into() };
    let jid = BareJid::new(input.trim()).map_err(|e| invalid(&e.to_string()))?;
    if jid.node().is_none() {
        return Err(invalid("an account address needs a user name before the @"));
    }
    Ok(jid)
}

/// Parses any contact address given by a user or a script.
pub fn parse_contact_jid(input: &str) -> Result<BareJid> {
    BareJid::new(input.trim())
        .map_err(|e| EngineError::InvalidJid { input: truncate(input, 200), reason: e.to_string() })
}

pub(crate) fn truncate(text: &str, max_chars: usize) -> String {
    text.chars().take(max_chars).collect()
}

#[derive(Debug, Clone)]
pub struct Profile {
    config_dir: PathBuf,
    data_dir: PathBuf,
}

impl Profile {
    /// `RAPPORT_PROFILE` if set, else the platform's standard directories.
    pub fn from_env_or_default() -> Result<Self> {
        match std::env::var_os(PROFILE_ENV) {
            Some(dir) if !dir.is_empty() => Ok(Self::at(dir)),
            _ => Self::standard(),
        }
    }

    pub fn standard() -> Result<Self> {
        let dirs = directories::ProjectDirs::from("im", "Rapport", "Rapport").ok_or_else(|| {
            EngineError::Storage { detail: "no home directory to keep Rapport's data in".into() }
        })?;
        Ok(Self { config_dir: dirs.config_dir().to_path_buf(), data_dir: dirs.data_dir().to_path_buf() })
    }

    pub fn at(dir: impl AsRef<Path>) -> Self {
        let dir = dir.as_ref();
        Self { config_dir: dir.join("config"), data_dir: dir.join("data") }
    }

    pub fn config_dir(&self) -> &Path {
        &self.config_dir
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    fn accounts_file(&self) -> PathBuf {
        self.config_dir.join("accounts.json")
    }

    pub fn accounts(&self) -> Result<Vec<AccountConfig>> {
        let path = self.accounts_file();
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(storage(&path, e)),
        };
        serde_json::from_str(&text).map_err(|e| EngineError::Storage {
            detail: format!("{} is damaged ({e}); fix or remove it", path.display()),
        })
    }

    pub fn account(&self, jid: &str) -> Result<AccountConfig> {
        let jid = parse_account_jid(jid)?.to_string();
        self.accounts()?
            .into_iter()
            .find(|a| a.jid == jid)
            .ok_or(EngineError::UnknownAccount { jid })
    }

    /// Adds the account, or replaces the one with the same JID.
    pub fn save_account(&self, account: &AccountConfig) -> Result<()> {
        let mut accounts = self.accounts()?;
        match accounts.iter_mut().find(|a| a.jid == account.jid) {
            Some(existing) => *existing = account.clone(),
            None => accounts.push(account.clone()),
        }
        self.write_accounts(&accounts)
    }

    /// Returns whether the account existed.
    pub fn remove_account(&self, jid: &str) -> Result<bool> {
        let jid = parse_account_jid(jid)?.to_string();
        let mut accounts = self.accounts()?;
        let before = accounts.len();
        accounts.retain(|a| a.jid != jid);
        self.write_accounts(&accounts)?;
        Ok(accounts.len() != before)
    }

    fn write_accounts(&self, accounts: &[AccountConfig]) -> Result<()> {
        let json = serde_json::to_string_pretty(accounts).expect("account config serializes");
        write_private_file(&self.accounts_file(), json.as_bytes())
    }

    pub fn account_data_dir(&self, jid: &BareJid) -> PathBuf {
        // A bare JID never contains '/', so it is one safe path component.
        self.data_dir.join("accounts").join(jid.as_str())
    }

    pub fn history_path(&self, jid: &BareJid) -> PathBuf {
        self.account_data_dir(jid).join("history.sqlite3")
    }

    /// Deletes the account's local history and cache.
    pub fn remove_account_data(&self, jid: &BareJid) -> Result<()> {
        let dir = self.account_data_dir(jid);
        match fs::remove_dir_all(&dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(storage(&dir, e)),
        }
    }
}

fn storage(path: &Path, error: std::io::Error) -> EngineError {
    EngineError::Storage { detail: format!("{}: {error}", path.display()) }
}

/// Creates `dir` and its missing parents readable by the user only.
pub(crate) fn create_private_dir(dir: &Path) -> Result<()> {
    fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).map_err(|e| storage(dir, e))?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(|e| storage(dir, e))
}

/// Writes a file atomically (temporary file, then rename) with mode 0600.
pub(crate) fn write_private_file(path: &Path, contents: &[u8]) -> Result<()> {
    let dir = path.parent().expect("config files live in a directory");
    create_private_dir(dir)?;
    let temporary = path.with_extension("tmp");
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temporary)
        .map_err(|e| storage(&temporary, e))?;
    file.write_all(contents).and_then(|_| file.sync_all()).map_err(|e| storage(&temporary, e))?;
    fs::rename(&temporary, path).map_err(|e| storage(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_round_trip_in_private_files() {
        let dir = tempfile::tempdir().unwrap();
        let profile = Profile::at(dir.path());
        let mut account = AccountConfig::new("Alice@Example.org").unwrap();
        account.port = Some(5223);
        profile.save_account(&account).unwrap();
        assert_eq!(profile.account("alice@example.org").unwrap().port, Some(5223));
        let mode = fs::metadata(profile.accounts_file()).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let dir_mode = fs::metadata(profile.config_dir()).unwrap().permissions().mode() & 0o777;
        assert_eq!(dir_mode, 0o700);
        assert!(profile.remove_account("alice@example.org").unwrap());
        assert!(profile.accounts().unwrap().is_empty());
    }

    #[test]
    fn bad_addresses_get_typed_errors() {
        for input in ["", "example.org", "a@b@c", "@example.org", "alice@", "a@exa mple.org"] {
            let error = AccountConfig::new(input).unwrap_err();
            assert_eq!(error.code(), "invalid_jid", "{input}");
        }
    }

    #[test]
    fn a_damaged_accounts_file_is_an_error_not_a_crash() {
        let dir = tempfile::tempdir().unwrap();
        let profile = Profile::at(dir.path());
        create_private_dir(profile.config_dir()).unwrap();
        fs::write(profile.accounts_file(), "{not json").unwrap();
        assert_eq!(profile.accounts().unwrap_err().code(), "storage");
    }
}
