//! The outbox: our messages from the moment they are stored until the server acknowledged them
//! (XEP-0198). Messages go on the wire only while a session is live, oldest first, at most
//! `WINDOW` unacknowledged at a time: each acknowledgement lets the next one go. So a large
//! outbox (sent while offline, lost with a stream that could not be resumed, or left by a crash)
//! drains at the pace the server confirms, instead of flooding a link that may drop again. A
//! message that waited (or is sent again) carries a XEP-0203 delay with its original time and
//! keeps its origin-id, by which receivers dedupe: a message acknowledged just before a crash
//! and sent again is still stored once.

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
/// `groupchat`: the conversation is a room (no receipts or chat states there).
pub fn stanza(message: &Message, own: &BareJid, resend: bool, groupchat: bool) -> Option<XmppMessage> {
    // A full JID: a private message to a room's occupant (see `room_private.rs`).
    let to: Jid = message.conversation.parse().ok()?;
    let private = to.resource().is_some();
    let origin_id = message.origin_id.clone()?;
    let stanza = if groupchat { XmppMessage::groupchat(Some(to)) } else { XmppMessage::chat(Some(to)) };
    let mut stanza = stanza.with_body(Lang::default(), message.body.clone());
    stanza.id = Some(Id(origin_id.clone()));
    stanza.payloads.push(OriginId { id: origin_id }.into());
    if private {
        stanza.payloads.push(xmpp_parsers::minidom::Element::builder("x", crate::pipeline::muc::NS_MUC_USER).build());
    } else if !groupchat {
        stanza.payloads.extend(receipts::requests());
        stanza.payloads.push(chat_states::element(ChatState::Active));
    }
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

/// Unacknowledged messages on the wire at most.
const WINDOW: usize = 200;
/// How long acknowledgements are remembered (see `Actor::suspects`).
const RECENT_ACKS: std::time::Duration = std::time::Duration::from_secs(120);
/// How long a stanza on the wire may wait for the server's acknowledgement.
const ACK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);
/// A message older than this when it goes out says when it was written.
const WAITED_MS: i64 = 10_000;

impl Actor {
    /// Stores our new message `pending` (from here on the outbox owns it: it is sent while a
    /// session is live, and again until the server acknowledges it), announces it, and lets the
    /// outbox send it. `sender` is our account, or our occupant JID in a room.
    pub(super) async fn queue_own_message(&mut self, conversation: String, sender: String, body: String, occupant_id: Option<String>) -> crate::Result<Message> {
        let timestamp = self.next_send_time();
        let new = crate::types::NewMessage {
            conversation,
            direction: crate::types::Direction::Outgoing,
            sender,
            body,
            timestamp,
            stamped_by_author: true,
            origin_id: Some(crate::pipeline::time::time_ordered_id(timestamp)),
            stanza_id: None,
            state: DeliveryState::Pending,
            remote_id: None,
            markable: false,
            occupant_id,
            mentions_me: false,
        };
        let stored = self.store_messages(vec![new]).await?;
        let Some(crate::store::InsertOutcome::Inserted(message)) = stored.into_iter().next() else {
            return Err(EngineError::Storage { detail: "the message was not stored".into() });
        };
        self.emit(Event::MessageSent { message: message.clone() });
        self.emit_conversation(&message.conversation);
        self.pump_outbox().await;
        Ok(message)
    }

    /// Sends pending messages, oldest first, while the window has room and a session is live.
    pub(super) async fn pump_outbox(&mut self) {
        while self.live && self.in_flight.len() < WINDOW {
            let room = WINDOW - self.in_flight.len();
            let store = self.shared.store.clone();
            let after = self.outbox_cursor;
            let next = match tokio::task::spawn_blocking(move || store.outbox_after(after, room)).await.expect("store task") {
                Ok(next) => next,
                Err(error) => return tracing::error!(%error, "outbox not readable"),
            };
            let Some(last) = next.last() else { return };
            self.outbox_cursor = last.id;
            for message in next {
                let waited = super::actor::now_millis() - message.timestamp > WAITED_MS;
                self.transmit(&message, waited || message.id <= self.resent_up_to).await;
            }
        }
    }

    /// Starts the next pump from the oldest pending message again.
    pub(super) fn rewind_outbox(&mut self) {
        self.resent_up_to = self.resent_up_to.max(self.outbox_cursor);
        self.outbox_cursor = 0;
    }

    /// Puts our stored message on the wire.
    async fn transmit(&mut self, message: &Message, resend: bool) {
        if self.in_flight.contains_key(&message.id) {
            return;
        }
        let groupchat = self.rooms.kinds.contains(&message.conversation);
        if groupchat && !self.room_joined(&message.conversation) {
            // Waits for the room's (re)join, which pumps the outbox again.
            return;
        }
        let Some(stanza) = stanza(message, &self.shared.account, resend, groupchat) else {
            tracing::error!(id = message.id, "stored message cannot be sent");
            return;
        };
        let stanza = if groupchat { self.add_mentions(stanza, message) } else { stanza };
        let Some(token) = self.send(stanza.into()).await else { return };
        self.transmissions += 1;
        let transmission = self.transmissions;
        self.in_flight.insert(message.id, InFlight { transmission, token: token.clone() });
        self.track_delivery(message.id, transmission, token);
    }

    /// When a session starts or resumes: whatever a stream that could not be resumed took with
    /// it, and everything else pending, goes out again.
    pub(super) async fn resend_outbox(&mut self) {
        self.in_flight.retain(|_, in_flight| !is_lost(&in_flight.token));
        self.rewind_outbox();
        self.pump_outbox().await;
    }

    /// Reports, once, whether the server acknowledged the transmission (XEP-0198; without
    /// stream management, once it is written to the socket). A stanza on the wire that gets no
    /// acknowledgement in `ACK_TIMEOUT` counts as lost and is sent again (receivers dedupe): a
    /// stream whose stream management silently failed to enable must not hold the window.
    fn track_delivery(&self, id: MessageId, transmission: u64, mut token: StanzaToken) {
        let stream_management = self.shared.snapshot.lock().unwrap().stream_management;
        let reports = self.delivery_reports.0.clone();
        tokio::spawn(async move {
            let stage = if stream_management { StanzaStage::Acked } else { StanzaStage::Sent };
            let acknowledged = loop {
                match tokio::time::timeout(ACK_TIMEOUT, token.wait_for(stage)).await {
                    Ok(Some(StanzaState::Acked { .. })) => break true,
                    Ok(Some(StanzaState::Sent { .. })) => break !stream_management,
                    Ok(_) => break false,
                    // Still queued (offline): it has not been on the wire yet; keep waiting.
                    Err(_) if matches!(token.state(), StanzaState::Queued) => continue,
                    Err(_) => {
                        tracing::info!(id, "no acknowledgement from the server; sending the message again");
                        break false;
                    }
                }
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
            self.rewind_outbox();
            return self.pump_outbox().await;
        }
        let store = self.shared.store.clone();
        let updated = tokio::task::spawn_blocking(move || store.advance_state(report.id, DeliveryState::Sent)).await.expect("store task");
        self.remember_ack(report.id);
        match updated {
            Ok(Some(message)) => self.emit(Event::MessageUpdated { id: message.id, conversation: message.conversation, state: message.state }),
            Ok(None) => {}
            Err(error) => tracing::error!(%error, "delivery state not stored"),
        }
        self.pump_outbox().await;
    }

    fn remember_ack(&mut self, id: MessageId) {
        let now = tokio::time::Instant::now();
        self.recent_acks.push_back((id, now));
        while self.recent_acks.front().is_some_and(|(_, at)| now.duration_since(*at) > RECENT_ACKS) {
            self.recent_acks.pop_front();
        }
    }

    /// After a server restart: what it acknowledged around going down and no receipt confirmed
    /// since (the catch-up just read the receipts that waited) goes out again. Our own archive
    /// proves nothing: ejabberd archives the sender's copy and then drops the message on the way
    /// to the recipient. Receivers dedupe by origin-id, so a resend is never a duplicate.
    pub(super) async fn requeue_unconfirmed_suspects(&mut self) {
        let suspects: Vec<MessageId> = self.suspects.drain().collect();
        if suspects.is_empty() {
            return;
        }
        let store = self.shared.store.clone();
        let requeued = tokio::task::spawn_blocking(move || {
            suspects.into_iter().filter_map(|id| store.requeue_unconfirmed(id).ok().flatten()).collect::<Vec<_>>()
        })
        .await
        .expect("store task");
        if requeued.is_empty() {
            return;
        }
        tracing::warn!(messages = requeued.len(), "the server acknowledged messages around its restart that no receipt confirmed; sending them again");
        for message in requeued {
            self.emit(Event::MessageUpdated { id: message.id, conversation: message.conversation, state: message.state });
        }
        self.rewind_outbox();
        self.pump_outbox().await;
    }

    /// Deletes a message that failed or still waits to be sent (not one on the wire).
    pub(super) fn delete_unsent(&mut self, id: MessageId) -> crate::Result<Message> {
        if self.in_flight.contains_key(&id) {
            return Err(EngineError::invalid("message", "the message is being sent"));
        }
        let deleted = self
            .shared
            .store
            .delete_unsent(id)?
            .ok_or_else(|| EngineError::invalid("message", "only a message that was not sent can be deleted"))?;
        // SQLite may give the next message the deleted (highest) id again.
        self.rewind_outbox();
        Ok(deleted)
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
            mentions_me: false,
            retracted: false,
        }
    }

    #[test]
    fn a_first_send_asks_for_receipts_and_a_resend_keeps_its_ids_and_time() {
        let own = BareJid::new("me@example.org").unwrap();
        let first = stanza(&message(1_767_225_600_000), &own, false, false).unwrap();
        assert_eq!(first.id.as_ref().unwrap().0, "o-1");
        assert!(receipts::is_markable(&first));
        assert!(first.payloads.iter().all(|p| p.name() != "delay"));
        let again = stanza(&message(1_767_225_600_000), &own, true, false).unwrap();
        assert_eq!(again.id.as_ref().unwrap().0, "o-1");
        let delay = again.payloads.iter().find(|p| p.name() == "delay").unwrap();
        assert_eq!(delay.attr("stamp"), Some("2026-01-01T00:00:00+00:00"));
        assert!(again.payloads.iter().any(|p| p.name() == "origin-id" && p.attr("id") == Some("o-1")));
    }
}
