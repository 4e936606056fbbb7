//! What people do in rooms beyond talking, on top of the room core: XEP-0372 mentions
//! (references on our room messages, `mentions_me` on theirs, nick completion), the room
//! configuration form (XEP-0045 §10.2, through `pipeline::forms`), and XEP-0425 moderated
//! retraction (our request out, the room's notices and archived tombstones in).

use xmpp_parsers::jid::BareJid;
use xmpp_parsers::message::Message as XmppMessage;
use xmpp_parsers::minidom::Element;

use super::actor::Actor;
use super::rooms::{parse_room_jid, room_error};
use super::Session;
use crate::error::{EngineError, Result};
use crate::events::{Batch, Event};
use crate::pipeline::forms::{Answers, Form};
use crate::pipeline::iq_request::IqRequest;
use crate::pipeline::{mentions, moderation};
use crate::types::{Direction, Message, MessageId, NewMessage};

impl Session {
    /// Nicks of the room's occupants for @-completion of `prefix` (a leading `@` is fine), best
    /// first; our own nick is left out.
    pub fn complete_nick(&self, room: &str, prefix: &str) -> Vec<String> {
        let own = self.room(room).map(|r| r.nick);
        let others: Vec<String> = self.occupants(room).into_iter().map(|o| o.nick).filter(|n| Some(n) != own.as_ref()).collect();
        mentions::complete_nick(prefix, &others)
    }

    /// The room's configuration form (owners only; `RoomForbidden` otherwise), to show field by
    /// field and answer with `submit_room_config`.
    pub async fn room_config(&self, room: &str) -> Result<Form> {
        let room = parse_room_jid(room)?;
        let answer = self.request(moderation::config_request(&room)).await.map_err(|e| room_error(&room, e))?;
        let payload = answer.ok_or_else(|| EngineError::protocol("empty room configuration answer"))?;
        moderation::parse_config(&payload).map_err(EngineError::protocol)
    }

    /// Submits the room's configuration with `answers` (field var → values); fields not answered
    /// keep their current values. The form is fetched again, so the answers are checked against
    /// what the room asks now (`InvalidInput` with the reason when they do not fit).
    pub async fn submit_room_config(&self, room: &str, answers: &Answers) -> Result<()> {
        let form = self.room_config(room).await?;
        let room = parse_room_jid(room)?;
        let request = moderation::config_submit(&room, &form, answers).map_err(|e| EngineError::invalid("room configuration", e))?;
        self.request(request).await.map(|_| ()).map_err(|e| room_error(&room, e))
    }

    /// XEP-0425: asks the room to remove someone's message (moderators only: `RoomForbidden`
    /// otherwise). The room then tells everyone, us included, and the stored copy is tombstoned.
    pub async fn retract_room_message(&self, room: &str, message_id: MessageId, reason: Option<&str>) -> Result<()> {
        let room = parse_room_jid(room)?;
        let message = self.blocking(move |store| store.message(message_id)).await?;
        let message = message.filter(|m| m.conversation == room.as_str()).ok_or_else(|| EngineError::invalid("message", "no such message in this room"))?;
        let stanza_id = message.stanza_id.ok_or_else(|| EngineError::invalid("message", "the room has not given this message an id yet"))?;
        let info = self.disco_info(room.as_str()).await.map_err(|e| room_error(&room, e))?;
        let features: Vec<&str> = info.features.iter().map(String::as_str).collect();
        let version = moderation::moderation_version(&features)
            .ok_or_else(|| EngineError::ServerError { condition: "FeatureNotImplemented".into(), text: Some("this room cannot remove messages".into()) })?;
        let request = moderation::remove_message(&room, &stanza_id, reason, version);
        self.request(request).await.map(|_| ()).map_err(|e| room_error(&room, e))
    }

    /// Sends a request built by a pure protocol module.
    pub(crate) async fn request(&self, request: IqRequest) -> Result<Option<Element>> {
        let set = request.is_set();
        self.iq(request.to, set, request.payload).await
    }
}

impl Actor {
    /// Sets `mentions_me` on an incoming room message (never on ours).
    pub(super) fn mark_mention(&self, new: &mut NewMessage, stanza: &XmppMessage, own_nick: &str) {
        if new.direction == Direction::Incoming {
            let references = mentions::mentions(&stanza.payloads, &new.body);
            new.mentions_me = mentions::mentions_me(&new.body, &references, own_nick, &self.shared.account);
        }
    }

    /// XEP-0372 references for the `@nick`s of the room's current occupants in our message.
    pub(super) fn add_mentions(&self, mut stanza: XmppMessage, message: &Message) -> XmppMessage {
        let Ok(room) = BareJid::new(&message.conversation) else { return stanza };
        let nicks: Vec<String> = {
            let snapshot = self.shared.snapshot.lock().unwrap();
            let Some(view) = snapshot.rooms.get(&message.conversation) else { return stanza };
            view.occupants.keys().filter(|n| **n != view.room.nick).cloned().collect()
        };
        stanza.payloads.extend(mentions::references_for(&message.body, &room, &nicks));
        stanza
    }

    /// A room's XEP-0425 notice that a moderator removed a message; `true` when the message was
    /// one (applied, or refused because it did not come from the room itself).
    pub(super) fn on_moderation_notice(&mut self, message: &XmppMessage, room: &BareJid, batch: &mut Batch) -> bool {
        match moderation::moderation_notice(message, room) {
            None => false,
            Some(Err(rejection)) => {
                tracing::warn!(%rejection, "moderation notice rejected");
                true
            }
            Some(Ok(notice)) => {
                self.tombstone(room, &notice.stanza_id, notice.reason, batch);
                true
            }
        }
    }

    /// An archived room message without text may be a tombstone (trusted like any result of our
    /// query to that room's archive).
    pub(super) fn on_archived_tombstone(&mut self, room: &BareJid, archived: &crate::pipeline::mam::ArchivedMessage, batch: &mut Batch) {
        if let Some(tombstone) = moderation::tombstone(&archived.message) {
            self.tombstone(room, &archived.archive_id, tombstone.reason, batch);
        }
    }

    fn tombstone(&mut self, room: &BareJid, stanza_id: &str, reason: Option<String>, batch: &mut Batch) {
        match self.shared.store.retract_by_stanza_id(room.as_str(), stanza_id) {
            Ok(Some(message)) => {
                batch.conversations.insert(message.conversation.clone(), ());
                batch.other.push(Event::MessageRetracted { id: message.id, conversation: message.conversation, reason });
            }
            Ok(None) => tracing::debug!(room = %room, stanza_id, "moderated message not stored here"),
            Err(error) => tracing::warn!(%error, "moderated message not tombstoned"),
        }
    }
}

