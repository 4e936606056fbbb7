//! The actor's side of group chat (XEP-0045): joining, the room's presence (occupants, our own
//! state in the room, removals), room messages and subjects, our messages to rooms.
//!
//! The room list lives in the snapshot (`Snapshot::rooms`), so the UI reads it without waiting;
//! only the actor writes it. Occupants come from the room's presence only.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use tokio::time::Instant;

use tokio::sync::oneshot;
use xmpp_parsers::jid::{BareJid, Jid};
use xmpp_parsers::message::Message as XmppMessage;
use xmpp_parsers::presence::Presence;

use super::actor::{now_millis, Actor, Received};
use super::rooms::{Joined, RoomView};
use crate::error::{EngineError, Result};
use crate::events::{Batch, Event};
use crate::pipeline::muc::{self, RoomContext, RoomPresence};
use crate::pipeline::{self, Rejection};
use crate::store::StoredRoom;
use crate::types::{DeliveryState, Direction, LeaveReason, Message, NewMessage, Room, RoomState};

/// A subject change we sent, waiting for the room to apply it.
struct PendingSubject {
    room: String,
    subject: String,
    reply: oneshot::Sender<Result<()>>,
}

/// What the actor keeps about rooms besides the snapshot.
#[derive(Default)]
pub(super) struct RoomsState {
    /// Room passwords given to `join_room`: in memory only, for rejoining.
    passwords: HashMap<String, String>,
    joins: HashMap<String, Vec<oneshot::Sender<Result<Joined>>>>,
    nick_changes: HashMap<String, (String, oneshot::Sender<Result<Room>>)>,
    /// Subject changes we sent, by stanza id: an error answer is for the caller.
    subjects: HashMap<String, PendingSubject>,
    /// Archive queries sent to a room, by query id.
    pub queries: HashMap<String, BareJid>,
    /// Conversations that are rooms' (their messages go out as group chat).
    pub kinds: HashSet<String>,
    /// Rooms whose archive catch-up finished since they were joined: live ids move the
    /// room's checkpoint.
    caught_up: HashSet<String>,
    /// When each room last sent us anything (see `ping_quiet_rooms`).
    last_heard: HashMap<String, Instant>,
    /// Rooms with a self-ping on its way.
    pinging: HashSet<String>,
}

/// A room silent this long gets a self-ping (XEP-0410).
pub(super) const SELF_PING_AFTER: Duration = Duration::from_secs(5 * 60);

impl RoomsState {
    pub fn load(store: &crate::store::Store) -> Self {
        let kinds = store.room_conversations().unwrap_or_default().into_iter().collect();
        Self { kinds, ..Self::default() }
    }
}

impl Actor {
    /// The room as the snapshot has it (without its occupants: a large room's list is not
    /// copied per stanza).
    fn room_view(&self, room: &str) -> Option<Room> {
        self.shared.snapshot.lock().unwrap().rooms.get(room).map(|view| view.room.clone())
    }

    /// `Some(occupant id)` when `nick` is in the room (by its presence).
    fn occupant_id_of(&self, room: &str, nick: &str) -> Option<Option<String>> {
        self.shared.snapshot.lock().unwrap().rooms.get(room)?.occupants.get(nick).map(|o| o.occupant_id.clone())
    }

    fn update_room(&self, room: &str, batch: &mut Batch, change: impl FnOnce(&mut RoomView)) {
        let mut snapshot = self.shared.snapshot.lock().unwrap();
        if let Some(view) = snapshot.rooms.get_mut(room) {
            change(view);
            batch.rooms.insert(room.to_owned(), view.room.clone());
        }
    }

    pub(super) fn room_joined(&self, room: &str) -> bool {
        self.room_view(room).is_some_and(|room| room.state == RoomState::Joined)
    }

    pub(super) async fn join_room(&mut self, room: BareJid, nick: String, password: Option<String>, reply: oneshot::Sender<Result<Joined>>) {
        if !self.live {
            let _ = reply.send(Err(EngineError::NotConnected));
            return;
        }
        let key = room.to_string();
        if let Some(joined) = self.room_view(&key).filter(|r| r.state == RoomState::Joined && r.nick == nick) {
            let _ = reply.send(Ok(Joined { room: joined, created: false }));
            return;
        }
        match password {
            Some(password) => self.rooms.passwords.insert(key.clone(), password),
            None => self.rooms.passwords.remove(&key),
        };
        self.rooms.joins.entry(key.clone()).or_default().push(reply);
        let mut batch = Batch::default();
        {
            let mut snapshot = self.shared.snapshot.lock().unwrap();
            let view = snapshot.rooms.entry(key.clone()).or_insert_with(|| RoomView::new(&key, &nick));
            view.room.nick = nick;
            view.room.state = RoomState::Joining;
        }
        self.update_room(&key, &mut batch, |_| {});
        self.announce(batch);
        self.send_join(&room).await;
    }

    async fn send_join(&mut self, room: &BareJid) {
        let Some(view) = self.room_view(room.as_str()) else { return };
        let Ok(occupant) = muc::occupant_jid(room, &view.nick) else { return };
        let password = self.rooms.passwords.get(room.as_str()).cloned();
        self.rooms.caught_up.remove(room.as_str());
        self.send(muc::join_presence(&occupant, password.as_deref()).into()).await;
    }

    /// After a new session: every room we were in (or were dropped from) is joined again.
    pub(super) async fn rejoin_rooms(&mut self) {
        let rooms: Vec<String> = {
            let mut snapshot = self.shared.snapshot.lock().unwrap();
            snapshot
                .rooms
                .iter_mut()
                .filter(|(_, view)| match &view.room.state {
                    RoomState::Left(reason) => muc::rejoins_after(reason),
                    _ => true,
                })
                .filter(|(jid, _)| self.shared.rejoin_only.as_ref().is_none_or(|only| only.contains(jid)))
                .map(|(jid, view)| {
                    view.room.state = RoomState::Joining;
                    view.occupants.clear();
                    jid.clone()
                })
                .collect()
        };
        let mut batch = Batch::default();
        for jid in &rooms {
            self.update_room(jid, &mut batch, |_| {});
        }
        self.announce(batch);
        for jid in rooms {
            if let Ok(room) = BareJid::new(&jid) {
                self.send_join(&room).await;
            }
        }
    }

    /// Our session ended: we are in no room until the next one rejoins them.
    pub(super) fn rooms_offline(&self) {
        let mut batch = Batch::default();
        let rooms: Vec<String> = self.shared.snapshot.lock().unwrap().rooms.keys().cloned().collect();
        for jid in rooms {
            let mut gone = Vec::new();
            self.update_room(&jid, &mut batch, |view| {
                if !matches!(view.room.state, RoomState::Left(_)) {
                    view.room.state = RoomState::Left(LeaveReason::Offline);
                }
                gone.extend(std::mem::take(&mut view.occupants).into_keys());
            });
            let delta = batch.occupants.entry(jid).or_default();
            for nick in gone {
                delta.went(&nick);
            }
        }
        for event in batch.into_events(|_| None) {
            self.emit(event);
        }
    }

    pub(super) async fn leave_room(&mut self, room: BareJid) -> Result<()> {
        let key = room.to_string();
        let view = self.room_view(&key).ok_or_else(|| EngineError::NotInRoom { room: key.clone() })?;
        self.rooms.passwords.remove(&key);
        self.shared.store.remove_room(&key)?;
        let mut batch = Batch::default();
        let mut gone = Vec::new();
        self.update_room(&key, &mut batch, |view| {
            view.room.state = RoomState::Left(LeaveReason::Left);
            gone.extend(std::mem::take(&mut view.occupants).into_keys());
        });
        let delta = batch.occupants.entry(key.clone()).or_default();
        for nick in gone {
            delta.went(&nick);
        }
        self.shared.snapshot.lock().unwrap().rooms.remove(&key);
        for waiter in self.rooms.joins.remove(&key).unwrap_or_default() {
            let _ = waiter.send(Err(EngineError::NotInRoom { room: key.clone() }));
        }
        self.announce(batch);
        if let Ok(occupant) = muc::occupant_jid(&room, &view.nick) {
            self.send(muc::leave_presence(&occupant).into()).await;
        }
        Ok(())
    }

    pub(super) async fn change_nick(&mut self, room: BareJid, nick: String, reply: oneshot::Sender<Result<Room>>) {
        let key = room.to_string();
        if !self.room_joined(&key) {
            let _ = reply.send(Err(EngineError::NotInRoom { room: key }));
            return;
        }
        let occupant = match muc::occupant_jid(&room, &nick) {
            Ok(occupant) => occupant,
            Err(error) => {
                let _ = reply.send(Err(error));
                return;
            }
        };
        self.rooms.nick_changes.insert(key, (nick, reply));
        self.send(muc::occupant_presence(&occupant).into()).await;
    }

    pub(super) async fn set_subject(&mut self, room: BareJid, subject: String, reply: oneshot::Sender<Result<()>>) {
        let key = room.to_string();
        if !self.room_joined(&key) {
            let _ = reply.send(Err(EngineError::NotInRoom { room: key }));
            return;
        }
        let id = format!("subject-{}", uuid::Uuid::new_v4().simple());
        self.rooms.subjects.insert(id.clone(), PendingSubject { room: key, subject: subject.clone(), reply });
        self.send(muc::subject_message(&room, &subject, &id).into()).await;
    }

    /// Stores our message (pending) and hands it to the outbox, like a 1:1 message.
    pub(super) async fn send_room_message(&mut self, room: BareJid, body: String) -> Result<Message> {
        let key = room.to_string();
        // While (re)joining, or away from a room we will rejoin, the message waits in the outbox.
        let may_send = |state: &RoomState| match state {
            RoomState::Joined | RoomState::Joining => true,
            RoomState::Left(reason) => muc::rejoins_after(reason),
        };
        let view = self.room_view(&key).filter(|r| may_send(&r.state)).ok_or_else(|| EngineError::NotInRoom { room: key.clone() })?;
        let (sender, occupant_id) = (format!("{key}/{}", view.nick), view.occupant_id.clone());
        self.queue_own_message(key, sender, body, occupant_id).await
    }

    // ---- inbound ----

    /// A presence from a room we know; `false` when it is not a room's.
    pub(super) async fn on_room_presence(&mut self, presence: &Presence, batch: &mut Batch) -> bool {
        let Some(from) = presence.from.as_ref() else { return false };
        let room = from.to_bare();
        let key = room.to_string();
        if self.room_view(&key).is_none() {
            // A room we left (its goodbye) or never joined: not a contact's presence either.
            let from_a_room = presence.payloads.iter().any(|p| p.is("x", muc::NS_MUC_USER));
            if from_a_room {
                tracing::debug!(room = %key, "presence of a room we are not in ignored");
            }
            return from_a_room;
        }
        self.rooms.last_heard.insert(key.clone(), Instant::now());
        // Status 110 marks our own presence; without it (ejabberd's room destruction), our nick
        // is still ours: nobody else can hold it.
        let own_nick = self.room_view(&key).map(|r| r.nick).unwrap_or_default();
        let ours = |update: &muc::OccupantUpdate| update.is_self() || update.occupant.nick == own_nick;
        match muc::parse_presence(presence) {
            Ok(RoomPresence::Error { condition, text }) => self.on_room_error(&room, &condition, text, batch),
            Ok(RoomPresence::Available(update)) if ours(&update) => self.on_self_available(&room, update, batch).await,
            Ok(RoomPresence::Available(update)) => {
                let occupant = update.occupant;
                self.update_room(&key, &mut Batch::default(), |view| {
                    view.occupants.insert(occupant.nick.clone(), occupant.clone());
                });
                batch.occupants.entry(key).or_default().came(occupant);
            }
            Ok(RoomPresence::Unavailable(update)) if ours(&update) => self.on_self_unavailable(&room, update, batch).await,
            Ok(RoomPresence::Unavailable(update)) => {
                let nick = update.occupant.nick;
                self.update_room(&key, &mut Batch::default(), |view| {
                    view.occupants.remove(&nick);
                });
                batch.occupants.entry(key).or_default().went(&nick);
            }
            Err(rejection) => tracing::warn!(%rejection, "room presence rejected"),
        }
        true
    }

    fn on_room_error(&mut self, room: &BareJid, condition: &xmpp_parsers::stanza_error::DefinedCondition, text: Option<String>, batch: &mut Batch) {
        let key = room.to_string();
        if let Some((nick, reply)) = self.rooms.nick_changes.remove(&key) {
            let _ = reply.send(Err(muc::join_error(room, &nick, condition, text)));
            return;
        }
        let Some(view) = self.room_view(&key) else { return };
        if view.state != RoomState::Joining {
            return tracing::info!(room = %key, ?condition, "room error ignored");
        }
        let error = muc::join_error(room, &view.nick, condition, text);
        tracing::info!(room = %key, %error, "joining the room failed");
        self.update_room(&key, batch, |view| view.room.state = RoomState::Left(LeaveReason::JoinFailed { error: error.clone() }));
        for waiter in self.rooms.joins.remove(&key).unwrap_or_default() {
            let _ = waiter.send(Err(error.clone()));
        }
    }

    async fn on_self_available(&mut self, room: &BareJid, update: muc::OccupantUpdate, batch: &mut Batch) {
        let key = room.to_string();
        let was_joining = self.room_view(&key).is_some_and(|r| r.state == RoomState::Joining);
        if self.room_view(&key).is_some_and(|r| matches!(r.state, RoomState::Left(_))) {
            // After a removal a room may still say something about us (ejabberd, after a ban):
            // we are only in again by joining again.
            return tracing::debug!(room = %key, "self-presence of a room we are not in ignored");
        }
        let occupant = update.occupant.clone();
        self.update_room(&key, batch, |view| {
            view.room.nick = occupant.nick.clone();
            view.room.role = occupant.role;
            view.room.affiliation = occupant.affiliation;
            view.room.occupant_id = occupant.occupant_id.clone();
            view.room.state = RoomState::Joined;
            view.occupants.insert(occupant.nick.clone(), occupant.clone());
        });
        batch.occupants.entry(key.clone()).or_default().came(occupant.clone());
        let Some(view) = self.room_view(&key) else { return };
        if let Some((nick, reply)) = self.rooms.nick_changes.remove(&key) {
            if nick == occupant.nick || update.has(muc::status::NICK_ASSIGNED) {
                self.save_room(&view);
                let _ = reply.send(Ok(view.clone()));
            } else {
                self.rooms.nick_changes.insert(key.clone(), (nick, reply));
            }
        }
        if !was_joining {
            return;
        }
        self.save_room(&view);
        self.rooms.kinds.insert(key.clone());
        let joined = Joined { room: view.clone(), created: update.has(muc::status::CREATED) };
        let waiters = self.rooms.joins.remove(&key).unwrap_or_default();
        let session = super::Session { shared: self.shared.clone() };
        tokio::spawn(super::room_sync::after_join(session, room.clone(), joined, waiters));
        // Our messages that waited for the room go out now.
        self.rewind_outbox();
        self.pump_outbox().await;
    }

    fn save_room(&self, room: &Room) {
        let stored = StoredRoom { jid: room.jid.clone(), nick: room.nick.clone(), name: room.name.clone(), subject: room.subject.clone() };
        if let Err(error) = self.shared.store.save_room(&stored, now_millis()) {
            tracing::error!(%error, "room not stored");
        }
    }

    async fn on_self_unavailable(&mut self, room: &BareJid, update: muc::OccupantUpdate, batch: &mut Batch) {
        let key = room.to_string();
        let old_nick = update.occupant.nick.clone();
        if update.has(muc::status::NICK_CHANGED) {
            // Our new nick's presence follows.
            self.update_room(&key, batch, |view| {
                view.occupants.remove(&old_nick);
                if let Some(new) = &update.new_nick {
                    view.room.nick = new.clone();
                }
            });
            batch.occupants.entry(key).or_default().went(&old_nick);
            return;
        }
        let reason = muc::removal_reason(&update);
        tracing::info!(room = %key, ?reason, "the room removed us");
        let rejoin = muc::rejoins_after(&reason);
        let mut gone = Vec::new();
        self.update_room(&key, batch, |view| {
            view.room.state = RoomState::Left(reason);
            gone.extend(std::mem::take(&mut view.occupants).into_keys());
        });
        let delta = batch.occupants.entry(key.clone()).or_default();
        for nick in gone {
            delta.went(&nick);
        }
        if rejoin {
            self.update_room(&key, batch, |view| view.room.state = RoomState::Joining);
            self.send_join(room).await;
        } else if let Err(error) = self.shared.store.remove_room(&key) {
            tracing::warn!(%error, "room not forgotten");
        }
    }

    /// A group chat message; `received` collects what to store.
    pub(super) fn on_room_message(&mut self, message: &XmppMessage, now: i64, received: &mut Vec<Received>, batch: &mut Batch) {
        let Some(from) = message.from.clone() else { return };
        let room = from.to_bare();
        let key = room.to_string();
        let Some(view) = self.room_view(&key).filter(|r| matches!(r.state, RoomState::Joined | RoomState::Joining)) else {
            let rejection = Rejection::ForeignRoomMessage { from: from.to_string() };
            return tracing::warn!(%rejection, "room message rejected");
        };
        self.rooms.last_heard.insert(key.clone(), Instant::now());
        if let Some(subject) = muc::subject(message) {
            let subject = Some(subject).filter(|s| !s.is_empty());
            if let Err(error) = self.shared.store.set_room_subject(&key, subject.as_deref()) {
                tracing::warn!(%error, "room subject not stored");
            }
            return self.update_room(&key, batch, |view| view.room.subject = subject);
        }
        if self.on_moderation_notice(message, &room, batch) {
            return;
        }
        let ctx = RoomContext { room: &room, own_nick: &view.nick, own_occupant_id: view.occupant_id.as_deref() };
        let sender_occupant = from.resource().and_then(|nick| self.occupant_id_of(&key, nick.as_str()));
        if sender_occupant.is_none() {
            tracing::debug!(from = %from, "room message from a nick not in the room: stored, not attributed");
        }
        match muc::accept_room_message(message, &ctx, sender_occupant.flatten(), None, now, None) {
            Ok(mut accepted) => {
                self.mark_mention(&mut accepted.message, message, &view.nick);
                if accepted.message.direction == Direction::Outgoing {
                    self.reflected(&accepted.message, batch);
                }
                received.push(Received { message: accepted.message, from: Jid::from(from), wants_receipt: false, direct: false, room: true });
            }
            Err(Rejection::Empty) => {}
            Err(rejection) => tracing::warn!(%rejection, "room message rejected"),
        }
    }

    /// The room sent our own message back to us: the room has it.
    fn reflected(&mut self, message: &NewMessage, batch: &mut Batch) {
        let Some(origin_id) = message.origin_id.as_deref() else { return };
        let Ok(Some(original)) = self.shared.store.find_by_origin_id(&message.conversation, origin_id) else { return };
        if original.direction != Direction::Outgoing || original.sender != message.sender {
            return;
        }
        if let Ok(Some(updated)) = self.shared.store.advance_state(original.id, DeliveryState::Sent) {
            batch.other.push(Event::MessageUpdated { id: updated.id, conversation: updated.conversation, state: updated.state });
        }
    }

    /// An error answer to our subject change; `true` when it was one.
    pub(super) fn on_subject_error(&mut self, message: &XmppMessage) -> bool {
        let Some(id) = message.id.as_ref() else { return false };
        let Some(PendingSubject { room, reply, .. }) = self.rooms.subjects.remove(&id.0) else { return false };
        let error = message.payloads.iter().find(|p| p.is("error", xmpp_parsers::ns::DEFAULT_NS)).and_then(|e| xmpp_parsers::stanza_error::StanzaError::try_from(e.clone()).ok());
        let text = error.as_ref().and_then(|e| e.texts.values().next().map(|t| pipeline::clean_text(t, pipeline::MAX_TEXT_CHARS)));
        let _ = reply.send(Err(EngineError::RoomForbidden { room, text }));
        true
    }

    /// Our subject change came back from the room: done. (Prosody sends the new subject in a
    /// message of its own, without our id: then the room and the text tell.)
    pub(super) fn subject_applied(&mut self, message: &XmppMessage, subject: &str) {
        let room = message.from.as_ref().map(|f| f.to_bare().to_string()).unwrap_or_default();
        let by_id = message.id.as_ref().map(|id| id.0.clone()).filter(|id| self.rooms.subjects.contains_key(id));
        let by_text = || self.rooms.subjects.iter().find(|(_, p)| p.room == room && p.subject == subject).map(|(id, _)| id.clone());
        if let Some(id) = by_id.or_else(by_text) {
            if let Some(pending) = self.rooms.subjects.remove(&id) {
                let _ = pending.reply.send(Ok(()));
            }
        }
    }

    /// XEP-0410: pings our own occupant JID in every joined room silent for `quiet` (zero: all,
    /// e.g. right after a resumption, when the room may have dropped us meanwhile).
    pub(super) fn ping_quiet_rooms(&mut self, quiet: Duration) {
        if !self.live {
            return;
        }
        let now = Instant::now();
        let joined: Vec<Room> = self.shared.snapshot.lock().unwrap().rooms.values().filter(|v| v.room.state == RoomState::Joined).map(|v| v.room.clone()).collect();
        for room in joined {
            let heard = self.rooms.last_heard.entry(room.jid.clone()).or_insert(now);
            if now.duration_since(*heard) < quiet || !self.rooms.pinging.insert(room.jid.clone()) {
                continue;
            }
            let Ok(jid) = BareJid::new(&room.jid) else { continue };
            let Ok(occupant) = muc::occupant_jid(&jid, &room.nick) else { continue };
            let session = super::Session { shared: self.shared.clone() };
            tokio::spawn(async move {
                let answer = session.iq(Some(Jid::from(occupant)), false, xmpp_parsers::ping::Ping.into()).await.map(|_| ());
                let verdict = muc::self_ping_verdict(&answer);
                let _ = session.shared.commands.send(super::Command::SelfPinged { room: jid, verdict }).await;
            });
        }
    }

    pub(super) async fn on_self_ping(&mut self, room: BareJid, verdict: muc::SelfPing) {
        let key = room.to_string();
        self.rooms.pinging.remove(&key);
        match verdict {
            // Not sure: ask again after the next quiet spell, not at once.
            muc::SelfPing::Joined | muc::SelfPing::Unknown => {
                self.rooms.last_heard.insert(key, Instant::now());
            }
            muc::SelfPing::NotJoined if self.room_joined(&key) => {
                tracing::info!(room = %key, "the room no longer knows us; joining again");
                let mut batch = Batch::default();
                let mut gone = Vec::new();
                self.update_room(&key, &mut batch, |view| {
                    view.room.state = RoomState::Joining;
                    gone.extend(std::mem::take(&mut view.occupants).into_keys());
                });
                let delta = batch.occupants.entry(key).or_default();
                for nick in gone {
                    delta.went(&nick);
                }
                self.announce(batch);
                self.send_join(&room).await;
            }
            muc::SelfPing::NotJoined => {}
        }
    }

    pub(super) fn room_named(&mut self, room: BareJid, name: String) {
        let key = room.to_string();
        let mut batch = Batch::default();
        self.update_room(&key, &mut batch, |view| view.room.name = Some(name));
        if let Some(joined) = self.room_view(&key).filter(|r| r.state == RoomState::Joined) {
            self.save_room(&joined);
        }
        self.announce(batch);
    }

    pub(super) fn room_caught_up(&mut self, room: BareJid) {
        self.rooms.caught_up.insert(room.to_string());
    }

    /// After storing live room messages: a room that is caught up moves its checkpoint.
    pub(super) fn follow_room_checkpoints(&self, received: &[Received]) {
        let mut newest: HashMap<&str, &str> = HashMap::new();
        for r in received.iter().filter(|r| r.room) {
            if let Some(id) = r.message.stanza_id.as_deref() {
                newest.insert(r.message.conversation.as_str(), id);
            }
        }
        for (room, id) in newest {
            if self.rooms.caught_up.contains(room) {
                if let Err(error) = self.shared.store.set_room_checkpoint(room, Some(id)) {
                    tracing::warn!(%error, "room checkpoint not saved");
                }
            }
        }
    }

    /// An archive result of a query we sent to a room.
    pub(super) fn accept_room_archived(&self, room: &BareJid, archived: &crate::pipeline::mam::ArchivedMessage, now: i64) -> std::result::Result<NewMessage, Rejection> {
        let view = self.room_view(room.as_str()).ok_or_else(|| Rejection::ForeignRoomMessage { from: room.to_string() })?;
        let ctx = RoomContext { room, own_nick: &view.nick, own_occupant_id: view.occupant_id.as_deref() };
        let vouched = archived.stamp.as_ref().map(|s| pipeline::clamp_timestamp(s.0.timestamp_millis(), now));
        // Who was in the room back then is not known: history is never attributed.
        let mut accepted = muc::accept_room_message(&archived.message, &ctx, None, vouched, now, Some(archived.archive_id.clone()))?;
        self.mark_mention(&mut accepted.message, &archived.message, &view.nick);
        Ok(accepted.message)
    }
}
