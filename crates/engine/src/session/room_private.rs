//! Private messages through a room (XEP-0045 §7.5): `type='chat'` to or from `room/nick`. Each
//! is its own conversation, keyed by the occupant's full JID — never the room's, so a private
//! message is never shown as said in the room. No receipts or markers (the room would relay who
//! we are to whoever holds the nick).

use tokio::sync::oneshot;
use xmpp_parsers::jid::{FullJid, Jid};
use xmpp_parsers::message::Message as XmppMessage;

use super::actor::{Actor, Received};
use super::rooms::parse_room_jid;
use super::{Command, Session};
use crate::error::{EngineError, Result};
use crate::events::Event;
use crate::pipeline::{self, muc, Context, Rejection};
use crate::types::{Direction, Message, MessageId, NewMessage};

impl Session {
    /// Sends a private message to `nick` in `room` (stored, like any of ours, before it goes out).
    pub async fn send_private_message(&self, room: &str, nick: &str, body: &str) -> Result<Message> {
        let room = parse_room_jid(room)?;
        let to = muc::occupant_jid(&room, nick)?;
        if body.trim().is_empty() {
            return Err(EngineError::invalid("message", "the message is empty"));
        }
        if body.len() > pipeline::MAX_BODY_BYTES {
            return Err(EngineError::invalid("message", "the message is too long"));
        }
        if self.room(room.as_str()).is_none() {
            return Err(EngineError::NotInRoom { room: room.to_string() });
        }
        let (reply, answer) = oneshot::channel();
        self.command(Command::SendPrivate { to, body: body.to_owned(), reply }).await?;
        answer.await.map_err(|_| EngineError::NotConnected)?
    }

    /// `room@service/nick` of a room we know: a private conversation's key.
    pub(crate) fn private_conversation(&self, conversation: &str) -> Option<String> {
        let jid: FullJid = conversation.trim().parse().ok()?;
        let room = jid.to_bare().to_string();
        let known = self.shared.snapshot.lock().unwrap().rooms.contains_key(&room)
            || self.shared.store.room_conversations().ok()?.contains(&room);
        known.then(|| jid.to_string())
    }

    /// A page of a private conversation (local only: our archive files these under the room).
    pub(crate) async fn private_history(&self, key: String, before: Option<MessageId>, limit: u32) -> Result<Vec<Message>> {
        self.blocking(move |store| store.history(&key, before, limit)).await
    }

    pub(crate) async fn mark_private_read(&self, key: String) -> Result<u32> {
        let (changed, row) = self.blocking(move |store| Ok((store.mark_read(&key)?, store.conversation(&key)?))).await?;
        if let Some(row) = row.filter(|_| changed > 0) {
            let _ = self.shared.events.send(Event::ConversationsChanged { conversations: vec![row] });
        }
        Ok(changed)
    }
}

impl Actor {
    fn is_room(&self, jid: &Jid) -> bool {
        let bare = jid.to_bare().to_string();
        self.shared.snapshot.lock().unwrap().rooms.contains_key(&bare) || self.rooms.kinds.contains(&bare)
    }

    /// A chat message from `room/nick` of a room we know; `false` when it is not one.
    pub(super) fn on_private_message(&mut self, message: &XmppMessage, now: i64, received: &mut Vec<Received>) -> bool {
        let Some(from) = message.from.clone() else { return false };
        if !self.is_room(&from) {
            return false;
        }
        if from.resource().is_none() {
            // The room itself (a notice, an invitation): nobody's words to store.
            return true;
        }
        match pipeline::accept_chat_message(message, &Context { own: &self.shared.account, now }) {
            Ok(mut accepted) => {
                accepted.message.conversation = from.to_string();
                accepted.message.stanza_id = None;
                received.push(Received { message: accepted.message, from, wants_receipt: false, direct: false, room: true });
            }
            Err(Rejection::Empty) => {}
            Err(rejection) => tracing::warn!(%rejection, "private room message rejected"),
        }
        true
    }

    /// A carbon copy or archived copy of a private message is filed like the live one: under
    /// the occupant's full JID, not the room's.
    pub(super) fn file_private(&self, message: &mut NewMessage, inner: &XmppMessage) {
        let peer = if message.direction == Direction::Outgoing { inner.to.as_ref() } else { inner.from.as_ref() };
        if let Some(peer) = peer.filter(|p| p.resource().is_some() && self.is_room(p)) {
            message.conversation = peer.to_string();
        }
    }

    pub(super) async fn send_private(&mut self, to: FullJid, body: String) -> Result<Message> {
        let sender = self.shared.account.to_string();
        self.queue_own_message(to.to_string(), sender, body, None).await
    }
}
