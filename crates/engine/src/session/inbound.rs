//! The inbound pipeline's message step: what a message is (direct, a carbon copy, an archive
//! result), who may say it, and the receipts it asks for. Parsing and verification are in
//! `pipeline/`; this is the part that needs the session's state.

use xmpp_parsers::message::Message as XmppMessage;

use super::actor::{Actor, Received};
use crate::events::{Batch, Event};
use crate::pipeline::{self, carbons, chat_states, mam, receipts, Context, Rejection};
use crate::types::{DeliveryState, Direction};

impl Actor {
    /// XEP-0184 receipts and XEP-0333 `received` markers for what reached us directly.
    pub(super) async fn answer_deliveries(&mut self, received: &[Received]) {
        if !self.live {
            return;
        }
        for r in received.iter().filter(|r| r.direct && r.message.direction == Direction::Incoming) {
            let Some(reference) = r.message.remote_id.as_deref() else { continue };
            let contact = r.from.to_bare();
            if !super::roster::may_see_presence(&self.shared.snapshot.lock().unwrap().roster, &contact) {
                continue;
            }
            if let Some(answer) = receipts::delivery_answer(r.from.clone(), reference, r.wants_receipt, r.message.markable) {
                self.send(answer.into()).await;
            }
        }
    }

    pub(super) fn on_message(&mut self, message: XmppMessage, now: i64, received: &mut Vec<Received>, batch: &mut Batch) {
        let own = self.shared.account.clone();
        let room_queries = &self.rooms.queries;
        if let Some(result) = mam::result(&message, &own, |query_id| room_queries.get(query_id).cloned()) {
            return self.on_archive_result(result, now, batch);
        }
        if message.type_ == xmpp_parsers::message::MessageType::Groupchat {
            if let Some(subject) = crate::pipeline::muc::subject(&message) {
                self.subject_applied(&message, &subject);
            }
            return self.on_room_message(&message, now, received, batch);
        }
        if self.on_bookmark_event(&message) || self.on_invitation(&message, batch) || self.on_private_message(&message, now, received) {
            return;
        }
        if let Some(copy) = carbons::unwrap(&message, &own) {
            return self.on_carbon(copy, now, received, batch);
        }
        let Some(from) = message.from.clone() else {
            return tracing::warn!(rejection = %Rejection::NoSender { kind: "message" }, "message rejected");
        };
        // A delayed message (stored offline by the server) carries a stale chat state.
        let delayed = message.payloads.iter().any(|p| p.is("delay", xmpp_parsers::ns::DELAY));
        if from.to_bare() != own {
            if let Some(state) = chat_states::parse(&message).filter(|_| !delayed) {
                batch.other.push(Event::ChatStateChanged { conversation: from.to_bare().to_string(), state });
            }
            if let Some(ack) = receipts::acknowledgement(&message) {
                self.acknowledge(&from.to_bare(), &ack, batch);
            }
        }
        match pipeline::accept_chat_message(&message, &Context { own: &own, now }) {
            Ok(accepted) => received.push(Received { message: accepted.message, from, wants_receipt: receipts::wants_receipt(&message), direct: true, room: false }),
            Err(Rejection::Empty) => {}
            Err(rejection) => tracing::warn!(%rejection, "message rejected"),
        }
    }

    /// A contact's receipt or marker for our message.
    fn acknowledge(&self, contact: &xmpp_parsers::jid::BareJid, ack: &receipts::Acknowledgement, batch: &mut Batch) {
        match self.shared.store.acknowledge(contact.as_str(), &ack.reference, ack.state) {
            Ok(changed) => {
                for message in changed {
                    batch.other.push(Event::MessageUpdated { id: message.id, conversation: message.conversation, state: message.state });
                }
            }
            Err(error) => tracing::warn!(%error, "acknowledgement not stored"),
        }
    }

    fn on_carbon(&mut self, copy: Result<carbons::CarbonCopy, Rejection>, now: i64, received: &mut Vec<Received>, batch: &mut Batch) {
        let copy = match copy {
            Ok(copy) => copy,
            Err(rejection) => return tracing::warn!(%rejection, "carbon copy rejected"),
        };
        let vouched = copy.stamp.map(|s| pipeline::clamp_timestamp(s.0.timestamp_millis(), now));
        let inner = &copy.message;
        if let (Some(ack), Some(from)) = (receipts::acknowledgement(inner), inner.from.as_ref()) {
            if copy.sent {
                // Our other device told the contact it read the conversation: so did we.
                if ack.state == DeliveryState::Read {
                    if let Some(to) = inner.to.as_ref() {
                        self.read_elsewhere(&to.to_bare().to_string(), batch);
                    }
                }
            } else if from.to_bare() != self.shared.account {
                self.acknowledge(&from.to_bare(), &ack, batch);
            }
        }
        match pipeline::accept_forwarded(inner, &self.shared.account, vouched, now, None) {
            Ok(accepted) => {
                let from = inner.from.clone().expect("accepted messages have a sender");
                let mut message = accepted.message;
                self.file_private(&mut message, inner);
                received.push(Received { message, from, wants_receipt: false, direct: false, room: false });
            }
            Err(Rejection::Empty) => {}
            Err(rejection) => tracing::warn!(%rejection, "carbon copy rejected"),
        }
    }

    fn read_elsewhere(&self, conversation: &str, batch: &mut Batch) {
        if let Ok(changed) = self.shared.store.mark_read(conversation) {
            if changed > 0 {
                batch.conversations.insert(conversation.to_owned(), ());
            }
        }
    }

    fn on_archive_result(&mut self, result: Result<mam::ArchivedMessage, Rejection>, now: i64, batch: &mut Batch) {
        let archived = match result {
            Ok(archived) => archived,
            Err(rejection) => return tracing::warn!(%rejection, "archive result rejected"),
        };
        if self.finished_queries.contains(&archived.query_id) {
            return tracing::debug!(query_id = archived.query_id, "late archive result of a finished query dropped");
        }
        if let Some(room) = self.rooms.queries.get(&archived.query_id).cloned() {
            if !self.archive_queries.contains_key(&archived.query_id) {
                let rejection = Rejection::UnsolicitedArchiveResult { query_id: archived.query_id };
                return tracing::warn!(%rejection, "archive result rejected");
            }
            match self.accept_room_archived(&room, &archived, now) {
                Ok(message) => self.archive_queries.entry(archived.query_id).or_default().push(message),
                Err(Rejection::Empty) => self.on_archived_tombstone(&room, &archived, batch),
                Err(rejection) => tracing::warn!(%rejection, "archived room message rejected"),
            }
            return;
        }
        if !self.archive_queries.contains_key(&archived.query_id) {
            let rejection = Rejection::UnsolicitedArchiveResult { query_id: archived.query_id };
            return tracing::warn!(%rejection, "archive result rejected");
        }
        let vouched = archived.stamp.map(|s| pipeline::clamp_timestamp(s.0.timestamp_millis(), now));
        match pipeline::accept_forwarded(&archived.message, &self.shared.account, vouched, now, Some(archived.archive_id.clone())) {
            Ok(accepted) => {
                let mut message = accepted.message;
                self.file_private(&mut message, &archived.message);
                self.archive_queries.entry(archived.query_id).or_default().push(message);
            }
            Err(Rejection::Empty) => {
                let from = archived.message.from.as_ref().map(|f| f.to_bare());
                if let (Some(ack), Some(from)) = (receipts::acknowledgement(&archived.message), from) {
                    if from != self.shared.account {
                        self.acknowledge(&from, &ack, batch);
                    }
                }
            }
            Err(rejection) => tracing::warn!(%rejection, "archived message rejected"),
        }
    }
}
