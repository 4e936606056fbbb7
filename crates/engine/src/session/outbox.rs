//! The outbox: our messages from the moment they are stored until the server acknowledged them
//! (XEP-0198). A message goes on the wire only while a session is live; whatever is pending when
//! a session starts or resumes (sent while offline, lost with a stream that could not be resumed,
//! or left by a crash) is sent then, oldest first, with its original origin-id and a XEP-0203
//! delay. Receivers dedupe by origin-id, so a message acknowledged just before a crash and sent
//! again is still stored once.

use futures::FutureExt;
use tokio_xmpp::stanzastream::{StanzaStage, StanzaState, StanzaToken};
use xmpp_parsers::date::DateTime;
use xmpp_parsers::delay::Delay;
use xmpp_parsers::jid::{BareJid, Jid};
use xmpp_parsers::message::{Id, Lang, Message as XmppMessage};
use xmpp_parsers::stanza_id::OriginId;

use super::actor::{Actor, DeliveryReport};
use crate::error::EngineError;
use crate::events::Event;
use crate::pipeline::{chat_states, receipts};
use crate::types::{ChatState, DeliveryState, Message, MessageId};

/// One transmission of a message, numbered so that a report about an earlier transmission
/// (whose stream is gone) is not mistaken for the current one.
pub struct InFlight {
    pub transmission: u64,
    pub token: StanzaToken,
}

/// The stanza for our stored message. `resend`: it was (or may have been) sent before, or waited
/// while offline, so it carries its original time.
pub fn stanza(message: &Message, own: &BareJid, resend: bool) -> Option<XmppMessage> {
    let to = BareJid::new(&message.conversation).ok()?;
    let origin_id = message.origin_id.clone()?;
    let mut stanza = XmppMessage::chat(Some(Jid::from(to))).with_body(Lang::default(), message.body.clone());
    stanza.id = Some(Id(origin_id.clone()));
    stanza.payloads.push(OriginId { id: origin_id }.into());
    stanza.payloads.extend(receipts::requests());
    stanza.payloads.push(chat_states::element(ChatState::Active));
    if resend {
        if let Some(stamp) = chrono::DateTime::from_timestamp_millis(message.timestamp) {
            let delay = Delay { from: Some(Jid::from(own.clone())), stamp: DateTime(stamp.fixed_offset()), data: None };
            stanza.payloads.push(delay.into());
        }
    }
    Some(stanza)
}

/// A closed token whose stanza never got acknowledged: it went down with its stream.
fn is_lost(token: &StanzaToken) -> bool {
    match token.clone().wait_for(StanzaStage::Acked).now_or_never() {
        None => false,
        Some(None) => true,
        Some(Some(state)) => !matches!(state, StanzaState::Acked { .. }),
    }
}

impl Actor {
    /// Puts our stored message on the wire, if a session is live (else it waits in the outbox).
    pub(super) async fn transmit(&mut self, message: &Message, resend: bool) {
        if !self.live || self.in_flight.contains_key(&message.id) {
            return;
        }
        let Some(stanza) = stanza(message, &self.shared.account, resend) else {
            tracing::error!(id = message.id, "stored message cannot be sent");
            return;
        };
        let Some(token) = self.send(stanza.into()).await else { return };
        self.transmissions += 1;
        let transmission = self.transmissions;
        self.in_flight.insert(message.id, InFlight { transmission, token: token.clone() });
        self.track_delivery(message.id, transmission, token);
    }

    /// Sends a stored message again if it is still pending.
    pub(super) async fn transmit_stored(&mut self, id: MessageId) {
        let store = self.shared.store.clone();
        let message = tokio::task::spawn_blocking(move || store.message(id)).await.expect("store task");
        if let Ok(Some(message)) = message {
            if message.state == DeliveryState::Pending {
                self.transmit(&message, true).await;
            }
        }
    }

    /// When a session starts or resumes: everything pending that is not on the wire, in order.
    pub(super) async fn resend_outbox(&mut self) {
        // A stream that could not be resumed took its unacknowledged stanzas with it.
        self.in_flight.retain(|_, in_flight| !is_lost(&in_flight.token));
        let store = self.shared.store.clone();
        let outbox = match tokio::task::spawn_blocking(move || store.outbox()).await.expect("store task") {
            Ok(outbox) => outbox,
            Err(error) => return tracing::error!(%error, "outbox not readable"),
        };
        if !outbox.is_empty() {
            tracing::info!(messages = outbox.len(), "sending the outbox");
        }
        for message in outbox {
            self.transmit(&message, true).await;
        }
    }

    /// Reports, once, whether the server acknowledged the transmission (XEP-0198; without
    /// stream management, once it is written to the socket).
    fn track_delivery(&self, id: MessageId, transmission: u64, mut token: StanzaToken) {
        let stream_management = self.shared.snapshot.lock().unwrap().stream_management;
        let reports = self.delivery_reports.0.clone();
        tokio::spawn(async move {
            let stage = if stream_management { StanzaStage::Acked } else { StanzaStage::Sent };
            let acknowledged = match token.wait_for(stage).await {
                Some(StanzaState::Acked { .. }) => true,
                Some(StanzaState::Sent { .. }) => !stream_management,
                _ => false,
            };
            let _ = reports.send(DeliveryReport { id, transmission, acknowledged });
        });
    }

    pub(super) async fn on_delivery_report(&mut self, report: DeliveryReport) {
        let current = self.in_flight.get(&report.id).map(|f| f.transmission);
        if current != Some(report.transmission) {
            return;
        }
        self.in_flight.remove(&report.id);
        if !report.acknowledged {
            // Lost with its stream; a live session sends it again now, otherwise the next one.
            return self.transmit_stored(report.id).await;
        }
        let store = self.shared.store.clone();
        let updated = tokio::task::spawn_blocking(move || store.advance_state(report.id, DeliveryState::Sent)).await.expect("store task");
        match updated {
            Ok(Some(message)) => self.emit(Event::MessageUpdated { id: message.id, conversation: message.conversation, state: message.state }),
            Ok(None) => {}
            Err(error) => tracing::error!(%error, "delivery state not stored"),
        }
    }

    /// Deletes a message that failed or still waits to be sent (not one on the wire).
    pub(super) fn delete_unsent(&mut self, id: MessageId) -> crate::Result<Message> {
        if self.in_flight.contains_key(&id) {
            return Err(EngineError::invalid("message", "the message is being sent"));
        }
        self.shared
            .store
            .delete_unsent(id)?
            .ok_or_else(|| EngineError::invalid("message", "only a message that was not sent can be deleted"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(timestamp: i64) -> Message {
        Message {
            id: 1,
            conversation: "bob@example.org".into(),
            direction: crate::types::Direction::Outgoing,
            sender: "me@example.org".into(),
            body: "hello".into(),
            timestamp,
            origin_id: Some("o-1".into()),
            stanza_id: None,
            state: DeliveryState::Pending,
            read: true,
        }
    }

    #[test]
    fn a_first_send_asks_for_receipts_and_a_resend_keeps_its_ids_and_time() {
        let own = BareJid::new("me@example.org").unwrap();
        let first = stanza(&message(1_767_225_600_000), &own, false).unwrap();
        assert_eq!(first.id.as_ref().unwrap().0, "o-1");
        assert!(receipts::is_markable(&first));
        assert!(first.payloads.iter().all(|p| p.name() != "delay"));
        let again = stanza(&message(1_767_225_600_000), &own, true).unwrap();
        assert_eq!(again.id.as_ref().unwrap().0, "o-1");
        let delay = again.payloads.iter().find(|p| p.name() == "delay").unwrap();
        assert_eq!(delay.attr("stamp"), Some("2026-01-01T00:00:00+00:00"));
        assert!(again.payloads.iter().any(|p| p.name() == "origin-id" && p.attr("id") == Some("o-1")));
    }
}
