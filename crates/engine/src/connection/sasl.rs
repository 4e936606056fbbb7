//! SASL mechanism choice and exchange (RFC 6120 §6).
//!
//! Order: SCRAM-SHA-256-PLUS, SCRAM-SHA-1-PLUS (when the server announces the channel-binding
//! type we can produce, XEP-0440), SCRAM-SHA-256, SCRAM-SHA-1, and PLAIN last (always inside TLS).
//! We pick the binding per server because the stock connector offers tls-exporter to servers
//! that cannot verify it (ejabberd 23.01 then rejects the login, Prosody 0.12 falls to PLAIN).

use std::collections::BTreeSet;

use futures::{SinkExt, StreamExt};
use sasl::client::mechanisms::{Plain, Scram};
use sasl::client::Mechanism;
use sasl::common::scram::{Sha1, Sha256};
use sasl::common::{ChannelBinding, Credentials};
use tokio::io::{AsyncBufRead, AsyncWrite};
use tokio_xmpp::xmlstream::{InitiatingStream, ReadError, XmppStream, XmppStreamElement};
use xmpp_parsers::sasl::{Auth, DefinedCondition, Mechanism as MechanismName, Nonza, Response};
use xmpp_parsers::sasl_cb::Type as BindingType;

use crate::error::{EngineError, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    ScramSha256Plus,
    ScramSha1Plus,
    ScramSha256,
    ScramSha1,
    Plain,
}

impl Choice {
    pub fn name(self) -> &'static str {
        match self {
            Self::ScramSha256Plus => "SCRAM-SHA-256-PLUS",
            Self::ScramSha1Plus => "SCRAM-SHA-1-PLUS",
            Self::ScramSha256 => "SCRAM-SHA-256",
            Self::ScramSha1 => "SCRAM-SHA-1",
            Self::Plain => "PLAIN",
        }
    }

    pub fn uses_channel_binding(self) -> bool {
        matches!(self, Self::ScramSha256Plus | Self::ScramSha1Plus)
    }
}

/// What the server offered and what this TLS session can bind to.
pub struct Offer<'a> {
    pub mechanisms: &'a BTreeSet<String>,
    /// Channel-binding types the server announced (XEP-0440), if it announced any.
    pub binding_types: Option<&'a [BindingType]>,
    /// tls-exporter data, available on TLS 1.3.
    pub exporter_available: bool,
    /// The server authenticated us with channel binding before.
    pub binding_seen_before: bool,
}

pub fn choose(offer: &Offer) -> Result<Choice> {
    let offers = |name: &str| offer.mechanisms.contains(name);
    let can_bind = offer.exporter_available
        && offer.binding_types.is_some_and(|types| types.contains(&BindingType::TlsExporter));
    if can_bind {
        for choice in [Choice::ScramSha256Plus, Choice::ScramSha1Plus] {
            if offers(choice.name()) {
                return Ok(choice);
            }
        }
    }
    if offer.binding_seen_before {
        return Err(EngineError::AuthDowngrade);
    }
    for choice in [Choice::ScramSha256, Choice::ScramSha1, Choice::Plain] {
        if offers(choice.name()) {
            return Ok(choice);
        }
    }
    Err(EngineError::NoAuthMechanism { offered: offer.mechanisms.iter().cloned().collect::<Vec<_>>().join(", ") })
}

/// The gs2 flag for plain SCRAM: "n" when the server offers -PLUS we cannot use (we do not
/// support its binding), "y" when it offers none (so a server that did offer it detects stripping).
fn binding_without_plus(mechanisms: &BTreeSet<String>) -> ChannelBinding {
    if mechanisms.iter().any(|m| m.ends_with("-PLUS")) {
        ChannelBinding::None
    } else {
        ChannelBinding::Unsupported
    }
}

fn mechanism(choice: Choice, username: &str, password: &str, exporter: Option<Vec<u8>>, offered: &BTreeSet<String>) -> Result<Box<dyn Mechanism + Send>> {
    let binding = match (choice.uses_channel_binding(), exporter) {
        (true, Some(data)) => ChannelBinding::TlsExporter(data),
        _ => binding_without_plus(offered),
    };
    let credentials = Credentials::default().with_username(username).with_password(password).with_channel_binding(binding);
    let local = |e: &dyn std::fmt::Debug| EngineError::AuthFailed { condition: format!("{e:?}") };
    Ok(match choice {
        Choice::ScramSha256Plus | Choice::ScramSha256 => {
            Box::new(Scram::<Sha256>::from_credentials(credentials).map_err(|e| local(&e))?)
        }
        Choice::ScramSha1Plus | Choice::ScramSha1 => {
            Box::new(Scram::<Sha1>::from_credentials(credentials).map_err(|e| local(&e))?)
        }
        Choice::Plain => Box::new(Plain::from_credentials(credentials).map_err(|e| local(&e))?),
    })
}

fn mechanism_name(choice: Choice) -> MechanismName {
    match choice {
        Choice::ScramSha256Plus => MechanismName::ScramSha256Plus,
        Choice::ScramSha1Plus => MechanismName::ScramSha1Plus,
        Choice::ScramSha256 => MechanismName::ScramSha256,
        Choice::ScramSha1 => MechanismName::ScramSha1,
        Choice::Plain => MechanismName::Plain,
    }
}

pub fn failure_error(condition: &DefinedCondition) -> EngineError {
    match condition {
        DefinedCondition::NotAuthorized => EngineError::WrongPassword,
        DefinedCondition::AccountDisabled => EngineError::AccountDisabled,
        DefinedCondition::TemporaryAuthFailure => EngineError::network("the server could not check the password right now"),
        other => EngineError::AuthFailed { condition: format!("{other:?}") },
    }
}

/// Runs the SASL exchange; on success the stream must be restarted.
pub async fn authenticate<S: AsyncBufRead + AsyncWrite + Unpin>(
    mut stream: XmppStream<S>,
    choice: Choice,
    username: &str,
    password: &str,
    exporter: Option<Vec<u8>>,
    offered: &BTreeSet<String>,
) -> Result<InitiatingStream<S>> {
    let mut mechanism = mechanism(choice, username, password, exporter, offered)?;
    let auth = Auth { mechanism: mechanism_name(choice), data: mechanism.initial() };
    stream.send(&XmppStreamElement::Sasl(Nonza::Auth(auth))).await.map_err(EngineError::network)?;
    loop {
        let element = stream.next().await.map(|item| item.map(|e| e.into_read_error()).and_then(|e| e));
        match element {
            Some(Ok(XmppStreamElement::Sasl(Nonza::Challenge(challenge)))) => {
                let data = mechanism
                    .response(&challenge.data)
                    .map_err(|e| EngineError::AuthFailed { condition: format!("{e:?}") })?;
                stream.send(&XmppStreamElement::Sasl(Nonza::Response(Response { data }))).await.map_err(EngineError::network)?;
            }
            Some(Ok(XmppStreamElement::Sasl(Nonza::Success(success)))) => {
                // SCRAM: the server proves it knows the password too.
                if choice != Choice::Plain {
                    mechanism
                        .success(&success.data)
                        .map_err(|e| EngineError::AuthFailed { condition: format!("the server's proof is wrong: {e:?}") })?;
                }
                return Ok(stream.initiate_reset());
            }
            Some(Ok(XmppStreamElement::Sasl(Nonza::Failure(failure)))) => {
                return Err(failure_error(&failure.defined_condition))
            }
            Some(Ok(XmppStreamElement::StreamError(error))) => return Err(super::stream_error(&error.0)),
            Some(Ok(other)) => return Err(EngineError::protocol(format!("unexpected element during sign-in: {other:?}"))),
            Some(Err(ReadError::SoftTimeout)) => {}
            Some(Err(ReadError::HardError(e))) => return Err(EngineError::network(e)),
            Some(Err(ReadError::ParseError(e))) => return Err(EngineError::protocol(e)),
            Some(Err(ReadError::StreamFooterReceived)) | None => {
                return Err(EngineError::network("the server closed the connection during sign-in"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offered(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    fn offer<'a>(mechanisms: &'a BTreeSet<String>, types: Option<&'a [BindingType]>, exporter: bool, seen: bool) -> Offer<'a> {
        Offer { mechanisms, binding_types: types, exporter_available: exporter, binding_seen_before: seen }
    }

    #[test]
    fn prosody_0_12_gets_scram_sha1_not_plain() {
        let m = offered(&["PLAIN", "SCRAM-SHA-1"]);
        assert_eq!(choose(&offer(&m, None, true, false)).unwrap(), Choice::ScramSha1);
    }

    #[test]
    fn plus_is_used_only_when_the_server_announces_tls_exporter() {
        let m = offered(&["PLAIN", "SCRAM-SHA-1", "SCRAM-SHA-256", "SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS"]);
        // ejabberd 23.01: offers -PLUS but no XEP-0440 list → plain SCRAM-SHA-256.
        assert_eq!(choose(&offer(&m, None, true, false)).unwrap(), Choice::ScramSha256);
        let unique = [BindingType::TlsUnique];
        assert_eq!(choose(&offer(&m, Some(&unique), true, false)).unwrap(), Choice::ScramSha256);
        let exporter = [BindingType::TlsExporter];
        assert_eq!(choose(&offer(&m, Some(&exporter), true, false)).unwrap(), Choice::ScramSha256Plus);
        // TLS 1.2: no exporter data.
        assert_eq!(choose(&offer(&m, Some(&exporter), false, false)).unwrap(), Choice::ScramSha256);
    }

    #[test]
    fn losing_channel_binding_after_having_it_is_a_downgrade() {
        let m = offered(&["PLAIN", "SCRAM-SHA-256"]);
        assert_eq!(choose(&offer(&m, None, true, true)).unwrap_err(), EngineError::AuthDowngrade);
    }

    #[test]
    fn no_known_mechanism_is_a_typed_error() {
        let m = offered(&["X-OAUTH2", "DIGEST-MD5"]);
        let error = choose(&offer(&m, None, true, false)).unwrap_err();
        assert_eq!(error.code(), "no_auth_mechanism");
        assert!(error.to_string().contains("DIGEST-MD5"));
    }

    #[test]
    fn the_gs2_flag_tells_the_server_whether_we_saw_plus() {
        assert_eq!(binding_without_plus(&offered(&["SCRAM-SHA-1"])), ChannelBinding::Unsupported);
        assert_eq!(binding_without_plus(&offered(&["SCRAM-SHA-1", "SCRAM-SHA-1-PLUS"])), ChannelBinding::None);
    }
}
