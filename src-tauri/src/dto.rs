//! What crosses the bridge to the web view: mirrors of the engine's DTOs with the same serde
//! form, plus the app's own request/answer types.
//!
//! The engine's types carry no TypeScript derive (the engine stays UI-agnostic), so they are
//! mirrored here and converted with exhaustive destructuring: a field or variant added to the
//! engine fails to compile here until the mirror (and so the generated TypeScript in
//! `ui/src/lib/bindings/`) follows. `cargo test bindings` fails when the committed TypeScript is
//! stale; `UPDATE_BINDINGS=1 cargo test bindings` rewrites it.
//!
//! Errors additionally carry `message`, the engine's text written for people, so the UI never
//! has to invent wording for an error it does not special-case.

use rapport_engine::{events, types, EngineError};
use serde::{Deserialize, Serialize};
#[cfg(test)]
use ts_rs::TS;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(TS))]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Incoming,
    Outgoing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(TS))]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    Pending,
    Sent,
    Delivered,
    Read,
    Failed,
    None,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(TS))]
pub struct Message {
    /// Local id of the stored message; pages of history are asked `before` an id.
    #[cfg_attr(test, ts(type = "number"))]
    pub id: i64,
    /// Bare JID of the conversation (the contact).
    pub conversation: String,
    pub direction: Direction,
    pub sender: String,
    pub body: String,
    /// Milliseconds since the Unix epoch, UTC.
    #[cfg_attr(test, ts(type = "number"))]
    pub timestamp: i64,
    pub origin_id: Option<String>,
    pub stanza_id: Option<String>,
    pub state: DeliveryState,
    pub read: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(TS))]
pub struct Conversation {
    pub jid: String,
    pub last_message: Option<Message>,
    pub unread: u32,
    #[cfg_attr(test, ts(type = "number"))]
    pub last_activity: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(TS))]
pub struct SearchHit {
    pub message: Message,
    /// The body with matches wrapped in `[` `]` markers (plain text, not HTML).
    pub snippet: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(TS))]
#[serde(rename_all = "snake_case")]
pub enum Subscription {
    None,
    To,
    From,
    Both,
    Remove,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(TS))]
pub struct RosterItem {
    pub jid: String,
    pub name: Option<String>,
    pub groups: Vec<String>,
    pub subscription: Subscription,
    pub pending_out: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(TS))]
#[serde(rename_all = "snake_case")]
pub enum Availability {
    Chat,
    Available,
    Away,
    ExtendedAway,
    DoNotDisturb,
    Offline,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(TS))]
pub struct ResourcePresence {
    pub resource: String,
    pub availability: Availability,
    pub status: Option<String>,
    pub priority: i8,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(TS))]
pub struct ContactPresence {
    pub jid: String,
    pub availability: Availability,
    pub status: Option<String>,
    pub resources: Vec<ResourcePresence>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(TS))]
#[serde(rename_all = "snake_case")]
pub enum OwnPresence {
    Available,
    Chat,
    Away,
    ExtendedAway,
    DoNotDisturb,
    Invisible,
}

/// The engine's error: `code` plus the variant's fields (the engine's serde form).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(TS))]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum ErrorKind {
    WrongPassword,
    AccountDisabled,
    UnknownHost { host: String },
    ConnectionRefused { address: String },
    Timeout { stage: String },
    TlsUnavailable,
    TlsFailed { detail: String },
    UntrustedCertificate { fingerprint: String, reason: String },
    PolicyViolation { text: String },
    StreamError { condition: String, text: Option<String> },
    NoAuthMechanism { offered: String },
    AuthDowngrade,
    AuthFailed { condition: String },
    Network { detail: String },
    Protocol { detail: String },
    InvalidJid { input: String, reason: String },
    InvalidInput { field: String, reason: String },
    KeyringUnavailable { detail: String },
    NoPassword { jid: String },
    UnknownAccount { jid: String },
    Storage { detail: String },
    NotConnected,
    ServerError { condition: String, text: Option<String> },
    // The app's own (not the engine's):
    /// A link was not opened: its scheme is not one of http, https, xmpp, mailto, or it is not
    /// a valid URL.
    LinkRefused { reason: String },
    /// The system could not open an allowed link (no handler, …).
    LinkFailed { detail: String },
}

/// An error as the UI gets it: the engine's serde form (`{code, ...fields}`) plus `message`,
/// a sentence that can be shown to a person as it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(TS))]
pub struct AppError {
    #[serde(flatten)]
    pub kind: ErrorKind,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(TS))]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ConnectionState {
    Connecting,
    Online { jid: String, sasl_mechanism: String, channel_binding: bool, resumed: bool },
    Reconnecting {
        attempt: u32,
        #[cfg_attr(test, ts(type = "number"))]
        retry_in_ms: u64,
        reason: Option<AppError>,
    },
    Offline { reason: Option<AppError> },
}

/// The engine's events, forwarded to the web view on the `engine-event` channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(TS))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    ConnectionChanged { state: ConnectionState },
    RosterLoaded { items: Vec<RosterItem> },
    RosterUpdated { changed: Vec<RosterItem>, removed: Vec<String> },
    PresenceChanged { contacts: Vec<ContactPresence> },
    MessagesReceived { messages: Vec<Message> },
    MessageSent { message: Message },
    MessageUpdated {
        #[cfg_attr(test, ts(type = "number"))]
        id: i64,
        conversation: String,
        state: DeliveryState,
    },
    ConversationsChanged { conversations: Vec<Conversation> },
    SubscriptionRequest { from: String },
    SubscriptionChanged { jid: String, change: String },
    Error { error: AppError },
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
    pub connection: Option<ConnectionState>,
    pub own_presence: OwnPresence,
    pub own_status: Option<String>,
    /// Why the last sign-in (e.g. the automatic one at start) failed.
    pub error: Option<AppError>,
}

// ---- conversions from the engine (exhaustive on purpose) ----

impl From<types::Direction> for Direction {
    fn from(value: types::Direction) -> Self {
        match value {
            types::Direction::Incoming => Self::Incoming,
            types::Direction::Outgoing => Self::Outgoing,
        }
    }
}

impl From<types::DeliveryState> for DeliveryState {
    fn from(value: types::DeliveryState) -> Self {
        use types::DeliveryState as D;
        match value {
            D::Pending => Self::Pending,
            D::Sent => Self::Sent,
            D::Delivered => Self::Delivered,
            D::Read => Self::Read,
            D::Failed => Self::Failed,
            D::None => Self::None,
        }
    }
}

impl From<types::Message> for Message {
    fn from(value: types::Message) -> Self {
        let types::Message { id, conversation, direction, sender, body, timestamp, origin_id, stanza_id, state, read } = value;
        Self { id, conversation, direction: direction.into(), sender, body, timestamp, origin_id, stanza_id, state: state.into(), read }
    }
}

impl From<types::Conversation> for Conversation {
    fn from(value: types::Conversation) -> Self {
        let types::Conversation { jid, last_message, unread, last_activity } = value;
        Self { jid, last_message: last_message.map(Into::into), unread, last_activity }
    }
}

impl From<types::SearchHit> for SearchHit {
    fn from(value: types::SearchHit) -> Self {
        let types::SearchHit { message, snippet } = value;
        Self { message: message.into(), snippet }
    }
}

impl From<types::Subscription> for Subscription {
    fn from(value: types::Subscription) -> Self {
        use types::Subscription as S;
        match value {
            S::None => Self::None,
            S::To => Self::To,
            S::From => Self::From,
            S::Both => Self::Both,
            S::Remove => Self::Remove,
        }
    }
}

impl From<types::RosterItem> for RosterItem {
    fn from(value: types::RosterItem) -> Self {
        let types::RosterItem { jid, name, groups, subscription, pending_out } = value;
        Self { jid, name, groups, subscription: subscription.into(), pending_out }
    }
}

impl From<types::Availability> for Availability {
    fn from(value: types::Availability) -> Self {
        use types::Availability as A;
        match value {
            A::Chat => Self::Chat,
            A::Available => Self::Available,
            A::Away => Self::Away,
            A::ExtendedAway => Self::ExtendedAway,
            A::DoNotDisturb => Self::DoNotDisturb,
            A::Offline => Self::Offline,
        }
    }
}

impl From<types::ResourcePresence> for ResourcePresence {
    fn from(value: types::ResourcePresence) -> Self {
        let types::ResourcePresence { resource, availability, status, priority } = value;
        Self { resource, availability: availability.into(), status, priority }
    }
}

impl From<types::ContactPresence> for ContactPresence {
    fn from(value: types::ContactPresence) -> Self {
        let types::ContactPresence { jid, availability, status, resources } = value;
        Self { jid, availability: availability.into(), status, resources: resources.into_iter().map(Into::into).collect() }
    }
}

impl From<types::OwnPresence> for OwnPresence {
    fn from(value: types::OwnPresence) -> Self {
        use types::OwnPresence as P;
        match value {
            P::Available => Self::Available,
            P::Chat => Self::Chat,
            P::Away => Self::Away,
            P::ExtendedAway => Self::ExtendedAway,
            P::DoNotDisturb => Self::DoNotDisturb,
            P::Invisible => Self::Invisible,
        }
    }
}

impl From<OwnPresence> for types::OwnPresence {
    fn from(value: OwnPresence) -> Self {
        match value {
            OwnPresence::Available => Self::Available,
            OwnPresence::Chat => Self::Chat,
            OwnPresence::Away => Self::Away,
            OwnPresence::ExtendedAway => Self::ExtendedAway,
            OwnPresence::DoNotDisturb => Self::DoNotDisturb,
            OwnPresence::Invisible => Self::Invisible,
        }
    }
}

impl From<EngineError> for AppError {
    fn from(error: EngineError) -> Self {
        use EngineError as E;
        let message = error.to_string();
        let kind = match error {
            E::WrongPassword => ErrorKind::WrongPassword,
            E::AccountDisabled => ErrorKind::AccountDisabled,
            E::UnknownHost { host } => ErrorKind::UnknownHost { host },
            E::ConnectionRefused { address } => ErrorKind::ConnectionRefused { address },
            E::Timeout { stage } => ErrorKind::Timeout { stage },
            E::TlsUnavailable => ErrorKind::TlsUnavailable,
            E::TlsFailed { detail } => ErrorKind::TlsFailed { detail },
            E::UntrustedCertificate { fingerprint, reason } => ErrorKind::UntrustedCertificate { fingerprint, reason },
            E::PolicyViolation { text } => ErrorKind::PolicyViolation { text },
            E::StreamError { condition, text } => ErrorKind::StreamError { condition, text },
            E::NoAuthMechanism { offered } => ErrorKind::NoAuthMechanism { offered },
            E::AuthDowngrade => ErrorKind::AuthDowngrade,
            E::AuthFailed { condition } => ErrorKind::AuthFailed { condition },
            E::Network { detail } => ErrorKind::Network { detail },
            E::Protocol { detail } => ErrorKind::Protocol { detail },
            E::InvalidJid { input, reason } => ErrorKind::InvalidJid { input, reason },
            E::InvalidInput { field, reason } => ErrorKind::InvalidInput { field, reason },
            E::KeyringUnavailable { detail } => ErrorKind::KeyringUnavailable { detail },
            E::NoPassword { jid } => ErrorKind::NoPassword { jid },
            E::UnknownAccount { jid } => ErrorKind::UnknownAccount { jid },
            E::Storage { detail } => ErrorKind::Storage { detail },
            E::NotConnected => ErrorKind::NotConnected,
            E::ServerError { condition, text } => ErrorKind::ServerError { condition, text },
        };
        Self { kind, message }
    }
}

impl From<events::ConnectionState> for ConnectionState {
    fn from(value: events::ConnectionState) -> Self {
        use events::ConnectionState as C;
        match value {
            C::Connecting => Self::Connecting,
            C::Online { jid, sasl_mechanism, channel_binding, resumed } => Self::Online { jid, sasl_mechanism, channel_binding, resumed },
            C::Reconnecting { attempt, retry_in_ms, reason } => Self::Reconnecting { attempt, retry_in_ms, reason: reason.map(Into::into) },
            C::Offline { reason } => Self::Offline { reason: reason.map(Into::into) },
        }
    }
}

fn all<T, U: From<T>>(items: Vec<T>) -> Vec<U> {
    items.into_iter().map(Into::into).collect()
}

impl From<events::Event> for Event {
    fn from(value: events::Event) -> Self {
        use events::Event as V;
        match value {
            V::ConnectionChanged { state } => Self::ConnectionChanged { state: state.into() },
            V::RosterLoaded { items } => Self::RosterLoaded { items: all(items) },
            V::RosterUpdated { changed, removed } => Self::RosterUpdated { changed: all(changed), removed },
            V::PresenceChanged { contacts } => Self::PresenceChanged { contacts: all(contacts) },
            V::MessagesReceived { messages } => Self::MessagesReceived { messages: all(messages) },
            V::MessageSent { message } => Self::MessageSent { message: message.into() },
            V::MessageUpdated { id, conversation, state } => Self::MessageUpdated { id, conversation, state: state.into() },
            V::ConversationsChanged { conversations } => Self::ConversationsChanged { conversations: all(conversations) },
            V::SubscriptionRequest { from } => Self::SubscriptionRequest { from },
            V::SubscriptionChanged { jid, change } => Self::SubscriptionChanged { jid, change },
            V::Error { error } => Self::Error { error: error.into() },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    /// The mirror serialises exactly like the engine (plus `message` on errors).
    fn same_form<E: Serialize + Clone, M: Serialize + From<E>>(engine: E) {
        let expected = serde_json::to_value(&engine).unwrap();
        let mirrored = serde_json::to_value(M::from(engine)).unwrap();
        assert_eq!(strip_messages(mirrored), expected);
    }

    fn strip_messages(mut value: Value) -> Value {
        match &mut value {
            Value::Object(map) => {
                if map.contains_key("code") {
                    map.remove("message");
                }
                for v in map.values_mut() {
                    *v = strip_messages(v.take());
                }
            }
            Value::Array(items) => {
                for v in items.iter_mut() {
                    *v = strip_messages(v.take());
                }
            }
            _ => {}
        }
        value
    }

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
        }
    }

    #[test]
    fn mirrors_serialise_like_the_engine() {
        same_form::<_, Event>(events::Event::MessageSent { message: message() });
        same_form::<_, Event>(events::Event::ConversationsChanged {
            conversations: vec![types::Conversation { jid: "bob@example.org".into(), last_message: Some(message()), unread: 2, last_activity: 5 }],
        });
        same_form::<_, Event>(events::Event::ConnectionChanged {
            state: events::ConnectionState::Reconnecting { attempt: 2, retry_in_ms: 2000, reason: Some(EngineError::Timeout { stage: "connect".into() }) },
        });
        same_form::<_, Event>(events::Event::PresenceChanged {
            contacts: vec![types::ContactPresence {
                jid: "bob@example.org".into(),
                availability: types::Availability::ExtendedAway,
                status: Some("lunch".into()),
                resources: vec![types::ResourcePresence { resource: "r".into(), availability: types::Availability::ExtendedAway, status: None, priority: -1 }],
            }],
        });
        same_form::<_, Event>(events::Event::RosterUpdated {
            changed: vec![types::RosterItem { jid: "c@x".into(), name: None, groups: vec!["Work".into()], subscription: types::Subscription::Both, pending_out: false }],
            removed: vec!["d@x".into()],
        });
        same_form::<_, Event>(events::Event::Error { error: EngineError::StreamError { condition: "conflict".into(), text: None } });
        same_form::<_, AppError>(EngineError::UntrustedCertificate { fingerprint: "AB:CD".into(), reason: "unknown issuer".into() });
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
    }
}
