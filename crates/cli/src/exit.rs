//! Exit codes and the errors that carry them.

use rapport_engine::EngineError;

#[allow(dead_code)] // success is `ExitCode::SUCCESS`; listed for completeness
pub const OK: u8 = 0;
pub const FAILURE: u8 = 1;
pub const USAGE: u8 = 2;
pub const AUTH: u8 = 3;
pub const NETWORK: u8 = 4;
pub const UNTRUSTED_CERTIFICATE: u8 = 5;
pub const NO_PASSWORD: u8 = 6;
pub const ACK_TIMEOUT: u8 = 7;
/// `send` could not reach the server: the message waits in the outbox for the next sign-in.
pub const QUEUED_OFFLINE: u8 = 8;

/// Exit code for an engine error, by its stable `code()`.
pub fn code_for(error: &EngineError) -> u8 {
    match error.code().as_str() {
        "invalid_jid" | "invalid_input" | "unknown_account" => USAGE,
        "wrong_password" | "account_disabled" | "auth_failed" | "no_auth_mechanism" | "auth_downgrade"
        | "policy_violation" => AUTH,
        "unknown_host" | "connection_refused" | "timeout" | "tls_unavailable" | "tls_failed" | "network"
        | "stream_error" | "not_connected" => NETWORK,
        "untrusted_certificate" => UNTRUSTED_CERTIFICATE,
        "keyring_unavailable" | "no_password" => NO_PASSWORD,
        _ => FAILURE,
    }
}

/// Why a command failed: the text for stderr (without the `rapport-cli: ` prefix) and the exit
/// code.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    pub fn new(code: u8, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(USAGE, message)
    }

    pub fn failed(message: impl Into<String>) -> Self {
        Self::new(FAILURE, message)
    }
}

impl From<EngineError> for Failure {
    fn from(error: EngineError) -> Self {
        let mut message = error.to_string();
        match &error {
            EngineError::KeyringUnavailable { .. } | EngineError::NoPassword { .. } => {
                message.push_str(PASSWORD_ALTERNATIVES);
            }
            _ => {}
        }
        Failure { code: code_for(&error), message }
    }
}

pub const PASSWORD_ALTERNATIVES: &str =
    " Give the password with --password-stdin (first line of standard input) or in the RAPPORT_PASSWORD environment variable instead.";

pub type CliResult<T = ()> = Result<T, Failure>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_errors_map_to_documented_exit_codes() {
        let cases = [
            (EngineError::WrongPassword, AUTH),
            (EngineError::AccountDisabled, AUTH),
            (EngineError::AuthFailed { condition: "x".into() }, AUTH),
            (EngineError::AuthDowngrade, AUTH),
            (EngineError::UnknownHost { host: "h".into() }, NETWORK),
            (EngineError::ConnectionRefused { address: "a".into() }, NETWORK),
            (EngineError::Timeout { stage: "s".into() }, NETWORK),
            (EngineError::TlsUnavailable, NETWORK),
            (EngineError::TlsFailed { detail: "d".into() }, NETWORK),
            (EngineError::Network { detail: "d".into() }, NETWORK),
            (EngineError::NotConnected, NETWORK),
            (EngineError::UntrustedCertificate { fingerprint: "AB".into(), reason: "r".into() }, UNTRUSTED_CERTIFICATE),
            (EngineError::KeyringUnavailable { detail: "d".into() }, NO_PASSWORD),
            (EngineError::NoPassword { jid: "a@b".into() }, NO_PASSWORD),
            (EngineError::InvalidJid { input: "x".into(), reason: "r".into() }, USAGE),
            (EngineError::InvalidInput { field: "f".into(), reason: "r".into() }, USAGE),
            (EngineError::UnknownAccount { jid: "a@b".into() }, USAGE),
            (EngineError::Storage { detail: "d".into() }, FAILURE),
            (EngineError::ServerError { condition: "c".into(), text: None }, FAILURE),
            (EngineError::Protocol { detail: "d".into() }, FAILURE),
        ];
        for (error, code) in cases {
            assert_eq!(code_for(&error), code, "{error:?}");
        }
    }

    #[test]
    fn keyring_problems_mention_the_other_password_sources() {
        let failure = Failure::from(EngineError::KeyringUnavailable { detail: "no D-Bus session".into() });
        assert_eq!(failure.code, NO_PASSWORD);
        assert!(failure.message.contains("No system keyring is reachable (no D-Bus session)"));
        assert!(failure.message.contains("--password-stdin") && failure.message.contains("RAPPORT_PASSWORD"));
        let failure = Failure::from(EngineError::WrongPassword);
        assert_eq!(failure.message, EngineError::WrongPassword.to_string());
    }

    #[test]
    fn exit_codes_are_distinct() {
        let mut codes = vec![OK, FAILURE, USAGE, AUTH, NETWORK, UNTRUSTED_CERTIFICATE, NO_PASSWORD, ACK_TIMEOUT, QUEUED_OFFLINE];
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), 9);
    }
}
