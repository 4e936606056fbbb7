//! Outgoing IQ requests and their answers. A response is accepted only when its id, its sender
//! (the address we asked) and its type match; anything else is logged and dropped.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;
use xmpp_parsers::iq::Iq;
use xmpp_parsers::jid::{BareJid, Jid};
use xmpp_parsers::minidom::Element;
use xmpp_parsers::stanza_error::StanzaError;

use crate::error::EngineError;
use crate::events::Batch;
use crate::pipeline;
use xmpp_parsers::ns;
use xmpp_parsers::stanza_error::{DefinedCondition, ErrorType};
use xmpp_parsers::version::VersionResult;
use super::presence;

pub const IQ_TIMEOUT: Duration = Duration::from_secs(30);

pub type IqReply = Result<Option<Element>, EngineError>;

struct Pending {
    to: Option<Jid>,
    deadline: Instant,
    reply: oneshot::Sender<IqReply>,
}

#[derive(Default)]
pub struct IqTracker {
    pending: HashMap<String, Pending>,
}

/// What became of an incoming IQ response.
#[derive(Debug, PartialEq, Eq)]
pub enum Matched {
    Answered,
    /// No request of ours has this id and sender.
    Unsolicited,
}

impl IqTracker {
    pub fn register(&mut self, id: String, to: Option<Jid>) -> oneshot::Receiver<IqReply> {
        let (reply, receiver) = oneshot::channel();
        self.pending.insert(id, Pending { to, deadline: Instant::now() + IQ_TIMEOUT, reply });
        receiver
    }

    /// Handles an IQ of type result or error.
    pub fn resolve(&mut self, iq: Iq, own: &BareJid) -> Matched {
        let (from, id) = (iq.from().cloned(), iq.id().to_owned());
        let Some(pending) = self.pending.get(&id) else { return Matched::Unsolicited };
        if !sender_matches(pending.to.as_ref(), from.as_ref(), own) {
            tracing::warn!(%id, from = ?from, expected = ?pending.to, "IQ response from the wrong address dropped");
            return Matched::Unsolicited;
        }
        let pending = self.pending.remove(&id).expect("checked above");
        let reply = match iq {
            Iq::Result { payload, .. } => Ok(payload),
            Iq::Error { error, .. } => Err(server_error(&error)),
            Iq::Get { .. } | Iq::Set { .. } => unreachable!("only responses are resolved"),
        };
        let _ = pending.reply.send(reply);
        Matched::Answered
    }

    /// Fails requests whose answer is overdue, and every request when the stream is gone.
    pub fn expire(&mut self, all: bool) {
        let now = Instant::now();
        let overdue: Vec<_> = self.pending.iter().filter(|(_, p)| all || p.deadline <= now).map(|(id, _)| id.clone()).collect();
        for id in overdue {
            if let Some(pending) = self.pending.remove(&id) {
                let error = if all { EngineError::NotConnected } else { EngineError::Timeout { stage: "waiting for the server's answer".into() } };
                let _ = pending.reply.send(Err(error));
            }
        }
    }
}

/// A request to no address is answered by our own account: no `from`, our bare or full JID.
fn sender_matches(to: Option<&Jid>, from: Option<&Jid>, own: &BareJid) -> bool {
    match (to, from) {
        (None, None) => true,
        (None, Some(from)) => from.to_bare() == *own,
        (Some(to), Some(from)) => to == from,
        // Servers answer queries to our own bare JID without a `from`.
        (Some(to), None) => to.to_bare() == *own && to.resource().is_none(),
    }
}

pub fn server_error(error: &StanzaError) -> EngineError {
    EngineError::ServerError {
        condition: format!("{:?}", error.defined_condition),
        text: error.texts.values().next().map(|t| crate::pipeline::clean_text(t, 500)),
    }
}

/// IQ requests to us, and answers to ours.
impl super::actor::Actor {
    pub(super) async fn on_iq(&mut self, iq: Iq, batch: &mut Batch) {
        match iq {
            Iq::Result { .. } | Iq::Error { .. } => {
                if self.iq.resolve(iq, &self.shared.account) == Matched::Unsolicited {
                    tracing::debug!("unsolicited IQ response dropped");
                }
            }
            Iq::Get { from, id, payload, .. } => {
                let response = match answer_get(&payload) {
                    Some(result) => Iq::Result { from: None, to: from, id, payload: result },
                    None => error_reply(from, id, DefinedCondition::ServiceUnavailable),
                };
                self.send(response.into()).await;
            }
            Iq::Set { from, id, payload, .. } => {
                let response = if payload.is("query", ns::ROSTER) {
                    match pipeline::verify_roster_push(from.as_ref(), payload, &self.shared.account) {
                        Ok(roster) => {
                            super::roster::apply_push(&self.shared, roster, batch);
                            Iq::Result { from: None, to: from, id, payload: None }
                        }
                        Err(rejection) => {
                            tracing::warn!(%rejection, "roster push rejected");
                            error_reply(from, id, DefinedCondition::ServiceUnavailable)
                        }
                    }
                } else {
                    error_reply(from, id, DefinedCondition::ServiceUnavailable)
                };
                self.send(response.into()).await;
            }
        }
    }
}

/// Answers to queries about ourselves: disco#info (also on our caps node), ping, version.
/// `None`: not something we answer; `Some(None)`: an empty result.
fn answer_get(payload: &Element) -> Option<Option<Element>> {
    if payload.is("query", ns::DISCO_INFO) {
        let node = payload.attr("node").map(str::to_owned);
        let ours = node.as_deref().is_none_or(|n| n == super::caps_node());
        return ours.then(|| Some(presence::disco_info(node).into()));
    }
    if payload.is("ping", ns::PING) {
        return Some(None);
    }
    if payload.is("query", ns::VERSION) {
        let version = VersionResult { name: "Rapport".into(), version: env!("CARGO_PKG_VERSION").into(), os: None };
        return Some(Some(version.into()));
    }
    None
}

fn error_reply(to: Option<Jid>, id: String, condition: DefinedCondition) -> Iq {
    Iq::Error {
        from: None,
        to,
        id,
        error: StanzaError::new(ErrorType::Cancel, condition, "en", ""),
        payload: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn own() -> BareJid {
        BareJid::new("me@example.org").unwrap()
    }

    fn result(id: &str, from: Option<&str>) -> Iq {
        let from = from.map(|f| format!(" from='{f}'")).unwrap_or_default();
        Iq::try_from(format!("<iq xmlns='jabber:client' type='result' id='{id}'{from}/>").parse::<Element>().unwrap()).unwrap()
    }

    #[test]
    fn a_response_must_come_from_the_address_we_asked() {
        let mut tracker = IqTracker::default();
        let mut reply = tracker.register("q1".into(), Some("example.org".parse().unwrap()));
        assert_eq!(tracker.resolve(result("q1", Some("evil.example")), &own()), Matched::Unsolicited);
        assert_eq!(tracker.resolve(result("q1", Some("bob@example.org/x")), &own()), Matched::Unsolicited);
        assert_eq!(tracker.resolve(result("q1", None), &own()), Matched::Unsolicited);
        assert!(reply.try_recv().is_err(), "no forged answer got through");
        assert_eq!(tracker.resolve(result("q1", Some("example.org")), &own()), Matched::Answered);
        assert!(reply.try_recv().unwrap().is_ok());
    }

    #[test]
    fn requests_to_our_account_accept_our_server_only() {
        let mut tracker = IqTracker::default();
        let _reply = tracker.register("r".into(), None);
        assert_eq!(tracker.resolve(result("r", Some("eve@example.org")), &own()), Matched::Unsolicited);
        assert_eq!(tracker.resolve(result("r", Some("me@example.org/phone")), &own()), Matched::Answered);
        let _reply = tracker.register("s".into(), None);
        assert_eq!(tracker.resolve(result("s", None), &own()), Matched::Answered);
    }

    #[test]
    fn unknown_ids_are_unsolicited_and_all_pending_fail_on_disconnect() {
        let mut tracker = IqTracker::default();
        assert_eq!(tracker.resolve(result("nope", None), &own()), Matched::Unsolicited);
        let mut reply = tracker.register("a".into(), None);
        tracker.expire(true);
        assert_eq!(reply.try_recv().unwrap().unwrap_err(), EngineError::NotConnected);
    }
}
