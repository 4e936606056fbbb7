//! Passwords live only in the OS keyring (Secret Service, Keychain, Credential Manager).

use crate::error::{EngineError, Result};

const SERVICE: &str = "Rapport";

fn entry(jid: &str) -> Result<keyring::Entry> {
    keyring::Entry::new(SERVICE, jid).map_err(keyring_error)
}

fn keyring_error(error: keyring::Error) -> EngineError {
    let detail = match (&error, keyring::Entry::store_status()) {
        // The start-up error says why (no D-Bus session, no Secret Service running…).
        (keyring::Error::NoDefaultStore, Err(cause)) => cause.to_string(),
        _ => error.to_string(),
    };
    EngineError::KeyringUnavailable { detail }
}

pub fn store_password(jid: &str, password: &str) -> Result<()> {
    entry(jid)?.set_password(password).map_err(keyring_error)
}

pub fn load_password(jid: &str) -> Result<String> {
    match entry(jid)?.get_password() {
        Ok(password) => Ok(password),
        Err(keyring::Error::NoEntry) => Err(EngineError::NoPassword { jid: jid.into() }),
        Err(e) => Err(keyring_error(e)),
    }
}

/// Returns whether a password was stored.
pub fn delete_password(jid: &str) -> Result<bool> {
    match entry(jid)?.delete_credential() {
        Ok(()) => Ok(true),
        Err(keyring::Error::NoEntry) => Ok(false),
        Err(e) => Err(keyring_error(e)),
    }
}
