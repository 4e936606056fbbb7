//! Typed, user-presentable errors. Each variant has a stable `code` (serde tag) that a UI can
//! switch on, and a `Display` text that can be shown to a person as it is.

use serde::{Deserialize, Serialize};

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum EngineError {
    #[error("The password is wrong, or the account does not exist.")]
    WrongPassword,
    #[error("The server has disabled this account.")]
    AccountDisabled,
    #[error("The server name {host} could not be found.")]
    UnknownHost { host: String },
    #[error("The server at {address} refused the connection.")]
    ConnectionRefused { address: String },
    #[error("The server did not answer in time ({stage}).")]
    Timeout { stage: String },
    #[error("The server does not offer an encrypted connection; Rapport never connects without TLS.")]
    TlsUnavailable,
    #[error("The encrypted connection failed: {detail}")]
    TlsFailed { detail: String },
    #[error("The server's certificate is not trusted ({reason}). SHA-256 fingerprint: {fingerprint}")]
    UntrustedCertificate { fingerprint: String, reason: String },
    #[error("The server refused this session because of its policy: {text}")]
    PolicyViolation { text: String },
    #[error("The server closed the stream: {condition}{}", text_suffix(text))]
    StreamError { condition: String, text: Option<String> },
    #[error("The server offers no sign-in method Rapport accepts (offered: {offered}).")]
    NoAuthMechanism { offered: String },
    #[error("This server used to support channel binding and no longer offers it; refusing a possible downgrade attack.")]
    AuthDowngrade,
    #[error("Sign-in failed: {condition}")]
    AuthFailed { condition: String },
    #[error("Network error: {detail}")]
    Network { detail: String },
    #[error("The server broke the protocol: {detail}")]
    Protocol { detail: String },
    #[error("'{input}' is not a valid address: {reason}")]
    InvalidJid { input: String, reason: String },
    #[error("Invalid {field}: {reason}")]
    InvalidInput { field: String, reason: String },
    #[error("No system keyring is reachable ({detail}). Rapport stores passwords only in the keyring.")]
    KeyringUnavailable { detail: String },
    #[error("No password is stored for {jid}.")]
    NoPassword { jid: String },
    #[error("No account {jid} is configured.")]
    UnknownAccount { jid: String },
    #[error("Local storage failed: {detail}")]
    Storage { detail: String },
    #[error("Not connected.")]
    NotConnected,
    #[error("The server answered with an error: {condition}{}", text_suffix(text))]
    ServerError { condition: String, text: Option<String> },
    #[error("The nickname {nick} is already taken in {room}.")]
    NicknameConflict { room: String, nick: String },
    #[error("You are banned from {room}.")]
    BannedFromRoom { room: String },
    #[error("{room} is for members only, and you are not a member.")]
    MembersOnly { room: String },
    #[error("{room} needs a password, and the one given is missing or wrong.")]
    RoomPasswordWrong { room: String },
    #[error("{room} is full.")]
    RoomFull { room: String },
    #[error("The room {room} does not exist (or is locked until its owner configures it).")]
    RoomNotFound { room: String },
    #[error("You are not in the room {room}.")]
    NotInRoom { room: String },
    #[error("You are not allowed to do that in {room}{}.", text_suffix(text))]
    RoomForbidden { room: String, text: Option<String> },
    #[error("The server cannot keep bookmarks private, so the bookmark was not saved.")]
    PrivacyNotSupported,
}

/// An error as a UI gets it: the serde form of an `EngineError` (`code` and fields) plus
/// `message`, its text for people. The engine's own serde form has no `message`: the shells add
/// it (the CLI's `error_json`, the desktop app's event forwarding), and the TypeScript of `Event`
/// and `ConnectionState` describes their errors so. Only for that TypeScript (feature `ts`).
#[cfg(feature = "ts")]
#[derive(ts_rs::TS)]
pub struct ShownError {
    #[ts(flatten)]
    pub error: EngineError,
    pub message: String,
}

fn text_suffix(text: &Option<String>) -> String {
    text.as_deref().map(|t| format!(" ({t})")).unwrap_or_default()
}

impl EngineError {
    /// Errors that another attempt cannot fix without a user decision: reconnecting would only
    /// repeat them (and, for a wrong password, risk locking the account).
    pub fn is_fatal(&self) -> bool {
        matches!(
            self,
            Self::WrongPassword
                | Self::AccountDisabled
                | Self::TlsUnavailable
                | Self::UntrustedCertificate { .. }
                | Self::PolicyViolation { .. }
                | Self::NoAuthMechanism { .. }
                | Self::AuthDowngrade
                | Self::AuthFailed { .. }
                | Self::InvalidJid { .. }
                | Self::InvalidInput { .. }
                | Self::KeyringUnavailable { .. }
                | Self::NoPassword { .. }
                | Self::UnknownAccount { .. }
        )
    }

    pub fn code(&self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.get("code").and_then(|c| c.as_str()).map(str::to_owned))
            .unwrap_or_else(|| "unknown".into())
    }

    pub fn network(error: impl std::fmt::Display) -> Self {
        Self::Network { detail: error.to_string() }
    }

    pub fn protocol(detail: impl std::fmt::Display) -> Self {
        Self::Protocol { detail: detail.to_string() }
    }

    pub fn invalid(field: &str, reason: impl std::fmt::Display) -> Self {
        Self::InvalidInput { field: field.into(), reason: reason.to_string() }
    }
}

impl From<crate::store::StoreError> for EngineError {
    fn from(error: crate::store::StoreError) -> Self {
        Self::Storage { detail: error.to_string() }
    }
}

pub type Result<T, E = EngineError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_serialize_with_a_stable_code_and_fields() {
        let error = EngineError::UntrustedCertificate { fingerprint: "AB:CD".into(), reason: "unknown issuer".into() };
        let json = serde_json::to_value(&error).unwrap();
        assert_eq!(json["code"], "untrusted_certificate");
        assert_eq!(json["fingerprint"], "AB:CD");
        assert_eq!(error.code(), "untrusted_certificate");
        assert!(error.to_string().contains("AB:CD"));
    }

    #[test]
    fn wrong_password_is_fatal_but_network_errors_are_not() {
        assert!(EngineError::WrongPassword.is_fatal());
        assert!(!EngineError::network("reset").is_fatal());
        assert!(!EngineError::Timeout { stage: "connect".into() }.is_fatal());
    }
}
