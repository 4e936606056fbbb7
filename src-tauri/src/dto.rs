//! What crosses the bridge to the web view and is the app's own: the sign-in request, the app's
//! `Status`, and `AppError`. The engine's DTOs (`rapport_engine::types`, `Event`,
//! `ConnectionState`) cross as they are; their TypeScript comes from the engine's `ts` feature,
//! which this crate turns on for its tests only. `cargo test bindings` fails when the committed
//! TypeScript in `ui/src/lib/bindings/` is stale; `UPDATE_BINDINGS=1 cargo test bindings`
//! rewrites it.
//!
//! Errors carry `message`, the engine's text written for people, so the UI never has to invent
//! wording for an error it does not special-case: commands answer `AppError`, and the engine's
//! errors inside events and the connection state get it from [`with_messages`] (their
//! TypeScript says so: `ShownError`).

use rapport_engine::types::OwnPresence;
use rapport_engine::{ConnectionState, EngineError};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;
#[cfg(test)]
use ts_rs::TS;

/// What an error is: one of the engine's, or one of the app's own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(TS))]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum ErrorKind {
    /// A link was not opened: its scheme is not one of http, https, xmpp, mailto, or it is not
    /// a valid URL.
    LinkRefused { reason: String },
    /// The system could not open an allowed link (no handler, …).
    LinkFailed { detail: String },
    /// The engine's error, in its serde form (`code` plus the variant's fields).
    #[serde(untagged)]
    Engine(EngineError),
}

/// An error as the UI gets it: its serde form (`{code, ...fields}`) plus `message`, a sentence
/// that can be shown to a person as it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(TS))]
pub struct AppError {
    #[serde(flatten)]
    pub kind: ErrorKind,
    pub message: String,
}

impl From<EngineError> for AppError {
    fn from(error: EngineError) -> Self {
        Self { message: error.to_string(), kind: ErrorKind::Engine(error) }
    }
}

/// The serde form of `value` with `message` (the `Display` text) added to every engine error in
/// it, as the UI gets engine events and connection states.
pub fn with_messages<T: Serialize>(value: &T) -> Value {
    let mut json = serde_json::to_value(value).unwrap_or(Value::Null);
    add_messages(&mut json);
    json
}

fn add_messages(value: &mut Value) {
    if value.get("code").is_some() {
        if let Ok(error) = EngineError::deserialize(&*value) {
            value["message"] = Value::String(error.to_string());
        }
    }
    match value {
        Value::Object(map) => map.values_mut().for_each(add_messages),
        Value::Array(items) => items.iter_mut().for_each(add_messages),
        _ => {}
    }
}

fn shown<T: Serialize, S: Serializer>(value: &T, serializer: S) -> Result<S::Ok, S::Error> {
    with_messages(value).serialize(serializer)
}

// ---- the app's own types ----

/// What the sign-in form sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(TS))]
pub struct SignInRequest {
    pub jid: String,
    pub password: String,
    /// Keep the password in the OS keyring and sign in by itself next time.
    pub remember: bool,
    /// Advanced: manual server host (else DNS SRV of the domain).
    pub host: Option<String>,
    pub port: Option<u16>,
    /// Advanced: TLS from the first byte (XEP-0368) instead of STARTTLS.
    pub direct_tls: bool,
    /// Advanced: path of an extra CA certificate (PEM) to trust for this account.
    pub ca_file: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(TS))]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// No session; the sign-in form is shown.
    SignedOut,
    /// Signing in (from the form, or by itself at start with the keyring password).
    SigningIn,
    SignedIn,
}

/// Where the app is; `status` returns it and `session-changed` events carry it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(TS))]
pub struct Status {
    pub phase: Phase,
    /// The account signed in, signing in, or last used (to prefill the form).
    pub account: Option<String>,
    /// Advanced settings of that account, to prefill the form.
    pub host: Option<String>,
    pub port: Option<u16>,
    pub direct_tls: bool,
    pub ca_file: Option<String>,
    /// Whether a password for `account` is remembered in the keyring.
    pub remembered: bool,
    #[serde(serialize_with = "shown")]
    pub connection: Option<ConnectionState>,
    pub own_presence: OwnPresence,
    pub own_status: Option<String>,
    /// Why the last sign-in (e.g. the automatic one at start) failed.
    pub error: Option<AppError>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use rapport_engine::{events::Event, types};
    use serde_json::json;

    fn message() -> types::Message {
        types::Message {
            id: 7,
            conversation: "bob@example.org".into(),
            direction: types::Direction::Outgoing,
            sender: "alice@example.org/r".into(),
            body: "<b>hi</b>".into(),
            timestamp: 1_700_000_000_000,
            origin_id: Some("o1".into()),
            stanza_id: None,
            state: types::DeliveryState::Sent,
            read: true,
            mentions_me: false,
            retracted: false,
        }
    }

    #[test]
    fn engine_errors_in_events_get_their_message_and_nothing_else_changes() {
        let timeout = EngineError::Timeout { stage: "connect".into() };
        let event = Event::ConnectionChanged { state: ConnectionState::Reconnecting { attempt: 2, retry_in_ms: 2000, reason: Some(timeout.clone()) } };
        let json = with_messages(&event);
        assert_eq!(json["state"]["reason"], json!({ "code": "timeout", "stage": "connect", "message": timeout.to_string() }));
        assert_eq!(json["state"]["retry_in_ms"], 2000);

        let error = Event::Error { error: EngineError::WrongPassword };
        assert_eq!(with_messages(&error)["error"], serde_json::to_value(AppError::from(EngineError::WrongPassword)).unwrap());

        // No error inside: exactly the engine's serde form.
        let sent = Event::MessageSent { message: message() };
        assert_eq!(with_messages(&sent), serde_json::to_value(&sent).unwrap());
        let hit = types::SearchHit { message: message(), snippet: vec![types::SnippetPart { text: "hi".into(), matched: true }] };
        assert_eq!(with_messages(&hit), serde_json::to_value(&hit).unwrap());
    }

    #[test]
    fn the_status_shows_the_reason_of_the_connection_with_its_message() {
        let mut status = crate::state::signed_out_status();
        status.connection = Some(ConnectionState::Offline { reason: Some(EngineError::AuthDowngrade) });
        let json = serde_json::to_value(&status).unwrap();
        assert_eq!(json["connection"]["state"], "offline");
        assert_eq!(json["connection"]["reason"]["code"], "auth_downgrade");
        assert_eq!(json["connection"]["reason"]["message"], EngineError::AuthDowngrade.to_string());
    }

    #[test]
    fn errors_carry_code_fields_and_a_message() {
        let error = AppError::from(EngineError::UntrustedCertificate { fingerprint: "AB:CD".into(), reason: "self-signed".into() });
        let json = serde_json::to_value(&error).unwrap();
        assert_eq!(json["code"], "untrusted_certificate");
        assert_eq!(json["fingerprint"], "AB:CD");
        assert!(json["message"].as_str().unwrap().contains("AB:CD"));
        assert_eq!(serde_json::to_value(AppError::from(EngineError::WrongPassword)).unwrap()["code"], json!("wrong_password"));
        let back: AppError = serde_json::from_value(json).unwrap();
        assert_eq!(back, error);

        let link = AppError { kind: ErrorKind::LinkFailed { detail: "no handler".into() }, message: "no".into() };
        let json = serde_json::to_value(&link).unwrap();
        assert_eq!(json, json!({ "code": "link_failed", "detail": "no handler", "message": "no" }));
        assert_eq!(serde_json::from_value::<AppError>(json).unwrap(), link);
    }
}
