//! The session's actor: owns the stream, runs the inbound pipeline (parse → verify → dedupe →
//! store → emit) one batch at a time, and executes commands.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use futures::{FutureExt, StreamExt};
use tokio::sync::{mpsc, oneshot};
use tokio_xmpp::stanzastream::{Event as StreamEvent, StanzaStream, StreamEvent as Lifecycle};
use tokio_xmpp::Stanza;
use xmpp_parsers::iq::Iq;
use xmpp_parsers::jid::Jid;
use xmpp_parsers::message::{Message as XmppMessage, MessageType};
use xmpp_parsers::minidom::Element;
use xmpp_parsers::presence::Presence;
use xmpp_parsers::stream_features::StreamFeatures;

use super::iq::{IqReply, IqTracker};
use super::reconnect::LoginReport;
use super::{login_state, presence, Command, Shared};
use crate::connection::LoginInfo;
use crate::error::EngineError;
use crate::events::{Batch, ConnectionState, Event};
use crate::pipeline::{chat_states, mam};
use crate::store::InsertOutcome;
use crate::types::{ChatState, DeliveryState, Direction, MessageId, NewMessage};

use crate::pipeline::MAX_BATCH;

/// Acks this close before a server's shutdown are not trusted: unless a receipt confirms them, those
/// messages go out again after the next catch-up.
pub(super) const SHUTDOWN_SUSPECT_WINDOW: Duration = Duration::from_secs(15);

/// How long live messages wait for a catch-up at most (see `SyncState::hold_until`).
const MAX_HOLD: Duration = Duration::from_secs(3);

pub struct Actor {
    pub(super) shared: Arc<Shared>,
    pub(super) stream: Option<StanzaStream>,
    commands: mpsc::Receiver<Command>,
    reports: mpsc::UnboundedReceiver<LoginReport>,
    pub(super) iq: IqTracker,
    last_login: Option<LoginInfo>,
    next_iq_id: u64,
    /// Changes not yet announced, and when they may be (see `events::FLUSH_INTERVAL`).
    pub(super) pending: Batch,
    last_flush: tokio::time::Instant,
    flush_due: Option<tokio::time::Instant>,
    /// Kept (never fulfilled) after a fatal login error; see `LoginReport::Fatal`.
    parked_slot: Option<oneshot::Sender<tokio_xmpp::stanzastream::Connection>>,
    /// A session is bound (new or resumed) and not suspended.
    pub(super) live: bool,
    /// Our messages on the wire, waiting for the server's acknowledgement (see `outbox`).
    pub(super) in_flight: HashMap<MessageId, super::outbox::InFlight>,
    pub(super) transmissions: u64,
    /// The outbox is sent in id order; the next pump continues after this id.
    pub(super) outbox_cursor: MessageId,
    /// Messages up to this id may have been on the wire before (so they carry their time).
    pub(super) resent_up_to: MessageId,
    pub(super) delivery_reports: (mpsc::UnboundedSender<DeliveryReport>, mpsc::UnboundedReceiver<DeliveryReport>),
    /// Open archive queries and the results collected for each so far.
    pub(super) archive_queries: HashMap<String, Vec<NewMessage>>,
    /// Recently finished (or timed out) queries, whose late results are dropped quietly.
    pub(super) finished_queries: std::collections::VecDeque<String>,
    pub(super) sync: SyncState,
    /// The chat state we last sent to each contact.
    pub(super) chat_states: HashMap<xmpp_parsers::jid::BareJid, ChatState>,
    /// Our messages the server acknowledged lately, and when (see `suspects`).
    pub(super) recent_acks: std::collections::VecDeque<(MessageId, tokio::time::Instant)>,
    /// Acknowledged just before the server shut down: a server may ack what it then never
    /// routes or archives. Checked against our archive after the next catch-up.
    pub(super) suspects: std::collections::HashSet<MessageId>,
    pub(super) server_shutdown_at: Option<tokio::time::Instant>,
    /// When the current (not resumed) session started.
    pub(super) reset_at: Option<tokio::time::Instant>,
    last_send_time: i64,
    pub(super) rooms: super::room_actor::RoomsState,
}

/// How a message we put on the wire ended up.
pub(super) struct DeliveryReport {
    pub id: MessageId,
    /// Which transmission of the message this is about (see `InFlight`).
    pub transmission: u64,
    /// The server acknowledged it; else the stanza was lost with its stream.
    pub acknowledged: bool,
}

/// Catching up with the archive after a new session (see `sync`).
#[derive(Default)]
pub(super) struct SyncState {
    /// Counts new sessions; a catch-up reports which one it was for.
    pub generation: u64,
    pub catching_up: bool,
    /// Live messages held while catching up, stored after it so history stays in server order —
    /// but never longer than until this deadline: a catch-up that drags (or fails, on a link
    /// that keeps dropping) must not keep live messages from the user.
    pub held: Vec<Received>,
    pub hold_until: Option<tokio::time::Instant>,
    /// Live messages may move the archive checkpoint: everything before them is stored.
    pub checkpoint_follows_live: bool,
    /// The last catch-up gave up; the next resumption runs it again.
    pub incomplete: bool,
}

/// A live message accepted for storage, with what its sender asked us to answer.
pub(super) struct Received {
    pub message: NewMessage,
    pub from: Jid,
    pub wants_receipt: bool,
    /// Sent to us (else a carbon copy of what another device of ours got or sent).
    pub direct: bool,
    /// A room's message (its stanza-id is the room's, not our archive's).
    pub room: bool,
}

impl Actor {
    pub fn new(
        shared: Arc<Shared>,
        stream: StanzaStream,
        commands: mpsc::Receiver<Command>,
        reports: mpsc::UnboundedReceiver<LoginReport>,
    ) -> Self {
        let rooms = super::room_actor::RoomsState::load(&shared.store);
        Self { rooms, shared, stream: Some(stream), commands, reports, iq: IqTracker::default(), last_login: None, next_iq_id: 0, parked_slot: None,
            pending: Batch::default(),
            last_flush: tokio::time::Instant::now(),
            flush_due: None,
            live: false,
            in_flight: HashMap::new(),
            transmissions: 0,
            outbox_cursor: 0,
            resent_up_to: 0,
            delivery_reports: mpsc::unbounded_channel(),
            archive_queries: HashMap::new(),
            finished_queries: std::collections::VecDeque::new(),
            sync: SyncState::default(),
            chat_states: HashMap::new(),
            last_send_time: 0,
            recent_acks: std::collections::VecDeque::new(),
            suspects: std::collections::HashSet::new(),
            server_shutdown_at: None,
            reset_at: None,
        }
    }

    pub async fn run(mut self) {
        let mut expiry = tokio::time::interval(Duration::from_secs(2));
        loop {
            tokio::select! {
                biased;
                Some(report) = self.reports.recv() => self.on_login_report(report),
                command = self.commands.recv() => match command {
                    None => break,
                    Some(Command::Disconnect { done }) => {
                        self.shutdown().await;
                        let _ = done.send(());
                        break;
                    }
                    Some(command) => self.on_command(command).await,
                },
                event = next_event(&mut self.stream) => match event {
                    Some(first) => self.on_stream_events(first).await,
                    None => self.on_stream_closed(),
                },
                Some(report) = self.delivery_reports.1.recv() => self.on_delivery_report(report).await,
                _ = sleep_until(self.flush_due), if self.flush_due.is_some() => self.flush(),
                _ = sleep_until(self.sync.hold_until), if self.sync.hold_until.is_some() => self.release_held().await,
                _ = expiry.tick() => {
                    self.iq.expire(false);
                    self.ping_quiet_rooms(super::room_actor::SELF_PING_AFTER);
                }
            }
        }
        self.flush();
        self.iq.expire(true);
    }

    fn set_state(&self, state: ConnectionState) {
        if matches!(state, ConnectionState::Offline { .. }) {
            // Stopped: we no longer know who is online.
            self.forget_presence();
            self.rooms_offline();
        }
        self.shared.snapshot.lock().unwrap().connection = Some(state.clone());
        self.emit(Event::ConnectionChanged { state });
    }

    /// Everyone we saw online becomes offline (for the snapshot and for subscribers).
    fn forget_presence(&self) {
        let gone: Vec<String> = self.shared.snapshot.lock().unwrap().presence.drain().map(|(jid, _)| jid).collect();
        if !gone.is_empty() {
            let empty = BTreeMap::new();
            let contacts = gone.iter().map(|jid| presence::aggregate(jid, &empty)).collect();
            self.emit(Event::PresenceChanged { contacts });
        }
    }

    pub(super) fn emit(&self, event: Event) {
        // No subscriber is fine: state stays queryable.
        let _ = self.shared.events.send(event);
    }

    fn on_login_report(&mut self, report: LoginReport) {
        match report {
            LoginReport::Succeeded(info) => {
                tracing::info!(mechanism = info.sasl_mechanism, address = %info.address, "signed in");
                self.last_login = Some(info);
            }
            LoginReport::Retrying { attempt, delay, error } => {
                tracing::info!(%error, attempt, ?delay, "connection failed, retrying");
                self.set_state(ConnectionState::Reconnecting { attempt, retry_in_ms: delay.as_millis() as u64, reason: Some(error) });
            }
            LoginReport::Fatal(error, slot) => {
                tracing::warn!(%error, "giving up connecting");
                self.parked_slot = Some(slot);
                self.live = false;
                // Dropping the stream stops its worker; queued stanzas stay in the store.
                self.stream = None;
                self.iq.expire(true);
                self.set_state(ConnectionState::Offline { reason: Some(error) });
            }
        }
    }

    fn on_stream_closed(&mut self) {
        self.stream = None;
        self.live = false;
        self.iq.expire(true);
        let already_offline = matches!(self.shared.snapshot.lock().unwrap().connection, Some(ConnectionState::Offline { .. }));
        if !already_offline {
            self.set_state(ConnectionState::Offline { reason: Some(EngineError::NotConnected) });
        }
    }

    async fn shutdown(&mut self) {
        // Not connected: nothing to say goodbye to (closing would wait for a reconnection).
        if let Some(stream) = self.stream.take().filter(|_| self.live) {
            let _ = stream.send(Box::new(Presence::new(xmpp_parsers::presence::Type::Unavailable).into())).await;
            let _ = tokio::time::timeout(Duration::from_secs(3), stream.close()).await;
        }
        self.live = false;
        self.iq.expire(true);
        self.set_state(ConnectionState::Offline { reason: None });
    }

    pub(super) async fn send(&mut self, stanza: Stanza) -> Option<tokio_xmpp::stanzastream::StanzaToken> {
        match &self.stream {
            Some(stream) => Some(stream.send(Box::new(stanza)).await),
            None => None,
        }
    }

    // ---- commands ----

    async fn on_command(&mut self, command: Command) {
        match command {
            Command::Iq { to, set, payload, reply } => self.send_iq(to, set, payload, reply).await,
            Command::SendMessage { to, body, reply } => {
                let result = self.send_message(to, body).await;
                let _ = reply.send(result);
            }
            Command::SendPresence { stanza } => {
                if self.send(stanza.into()).await.is_none() {
                    tracing::debug!("presence not sent: stream closed");
                }
            }
            Command::SendOutbox => {
                self.rewind_outbox();
                self.pump_outbox().await;
            }
            Command::DeleteUnsent { id, reply } => {
                let _ = reply.send(self.delete_unsent(id));
            }
            Command::SetChatState { to, state } => self.send_chat_state(to, state).await,
            Command::SendNow { stanza } => {
                if self.live {
                    self.send(*stanza).await;
                }
            }
            Command::ArchivePage { request, reply } => self.query_archive(request, reply).await,
            Command::ArchiveAnswered { query_id, answer, reply } => {
                let messages = self.archive_queries.remove(&query_id).unwrap_or_default();
                self.rooms.queries.remove(&query_id);
                if self.finished_queries.len() >= 32 {
                    self.finished_queries.pop_front();
                }
                self.finished_queries.push_back(query_id);
                let page = answer.and_then(|element| {
                    let element = element.ok_or_else(|| EngineError::protocol("empty archive answer"))?;
                    let end = mam::page_end(element).map_err(EngineError::protocol)?;
                    Ok(super::ArchivePage { messages, end })
                });
                let _ = reply.send(page);
            }
            Command::CatchUpDone { generation, received, complete } => self.on_catch_up_done(generation, received, complete).await,
            Command::JoinRoom { room, nick, password, reply } => self.join_room(room, nick, password, reply).await,
            Command::LeaveRoom { room, reply } => {
                let result = self.leave_room(room).await;
                let _ = reply.send(result);
            }
            Command::ChangeNick { room, nick, reply } => self.change_nick(room, nick, reply).await,
            Command::SetSubject { room, subject, reply } => self.set_subject(room, subject, reply).await,
            Command::SendRoomMessage { room, body, reply } => {
                let result = self.send_room_message(room, body).await;
                let _ = reply.send(result);
            }
            Command::SendPrivate { to, body, reply } => {
                let result = self.send_private(to, body).await;
                let _ = reply.send(result);
            }
            Command::RejoinRooms => self.rejoin_rooms().await,
            Command::CheckRooms => self.ping_quiet_rooms(Duration::ZERO),
            Command::SelfPinged { room, verdict } => self.on_self_ping(room, verdict).await,
            Command::RoomNamed { room, name } => self.room_named(room, name),
            Command::RoomCaughtUp { room } => self.room_caught_up(room),
            Command::Disconnect { .. } => unreachable!("handled by the loop"),
        }
    }

    pub(super) async fn send_iq(&mut self, to: Option<Jid>, set: bool, payload: Element, reply: oneshot::Sender<IqReply>) {
        if self.stream.is_none() {
            let _ = reply.send(Err(EngineError::NotConnected));
            return;
        }
        self.next_iq_id += 1;
        let id = format!("rq{}-{}", self.next_iq_id, &uuid::Uuid::new_v4().simple().to_string()[..6]);
        let iq = if set {
            Iq::Set { from: None, to: to.clone(), id: id.clone(), payload }
        } else {
            Iq::Get { from: None, to: to.clone(), id: id.clone(), payload }
        };
        let answer = self.iq.register(id, to);
        self.send(iq.into()).await;
        tokio::spawn(async move {
            let result = answer.await.unwrap_or(Err(EngineError::NotConnected));
            let _ = reply.send(result);
        });
    }

    async fn send_message(&mut self, to: xmpp_parsers::jid::BareJid, body: String) -> crate::Result<crate::types::Message> {
        if self.rooms.kinds.contains(to.as_str()) {
            return Err(EngineError::invalid("recipient", format!("{to} is a room: use send_room_message")));
        }
        self.chat_states.insert(to.clone(), ChatState::Active);
        let sender = self.shared.account.to_string();
        self.queue_own_message(to.to_string(), sender, body, None).await
    }

    /// Unique, increasing send times: receivers order our messages by them (see
    /// `pipeline::time`), also when a burst sends several in one millisecond.
    pub(super) fn next_send_time(&mut self) -> i64 {
        let timestamp = now_millis().max(self.last_send_time + 1);
        self.last_send_time = timestamp;
        timestamp
    }

    pub(super) fn emit_conversation(&self, jid: &str) {
        if let Ok(Some(row)) = self.shared.store.conversation(jid) {
            self.emit(Event::ConversationsChanged { conversations: vec![row] });
        }
    }

    pub(super) async fn store_messages(&self, messages: Vec<NewMessage>) -> crate::Result<Vec<InsertOutcome>> {
        let store = self.shared.store.clone();
        let outcome = tokio::task::spawn_blocking(move || store.insert_messages(&messages)).await.expect("store task")?;
        Ok(outcome)
    }

    // ---- inbound ----

    async fn on_stream_events(&mut self, first: StreamEvent) {
        let mut stanzas = Vec::new();
        let mut next = Some(first);
        while let Some(event) = next.take() {
            match event {
                StreamEvent::Stanza(stanza) => stanzas.push(stanza),
                StreamEvent::Stream(lifecycle) => {
                    // Keep order: what came before the lifecycle change is announced first.
                    self.process_stanzas(std::mem::take(&mut stanzas)).await;
                    self.flush();
                    self.on_lifecycle(lifecycle).await;
                }
            }
            if stanzas.len() < MAX_BATCH {
                next = self.stream.as_mut().and_then(|s| s.next().now_or_never()).flatten();
            }
        }
        self.process_stanzas(stanzas).await;
    }

    async fn on_lifecycle(&mut self, event: Lifecycle) {
        let jid = self.shared.account.to_string();
        match event {
            Lifecycle::Reset { bound_jid, features } => {
                tracing::info!(%bound_jid, "stream bound (new session)");
                self.reset_at = Some(tokio::time::Instant::now());
                self.iq.expire(true);
                {
                    let mut snapshot = self.shared.snapshot.lock().unwrap();
                    snapshot.stream_management = features.stream_management.is_some();
                    snapshot.bound_jid = Some(bound_jid.to_string());
                    snapshot.session_generation = self.sync.generation + 1;
                }
                // Presence from before the new session is stale; the server sends it anew.
                self.forget_presence();
                let online = self.last_login.as_ref().map(|info| login_state(info, &jid, false));
                self.live = true;
                self.chat_states.clear();
                self.sync.generation += 1;
                // A first sync only fetches older history: nothing to hold.
                // Decided now, before anything this session stores (a message the user sends
                // right away must not turn a first sync into a catch-up).
                let start = super::sync::start(&self.shared.store);
                self.sync.catching_up = start != super::sync::Start::FirstSync;
                self.sync.hold_until = self.sync.catching_up.then(|| tokio::time::Instant::now() + MAX_HOLD);
                self.sync.checkpoint_follows_live = false;
                self.start_new_session(&features, online, self.sync.generation, start);
                self.resend_outbox().await;
            }
            Lifecycle::Resumed => {
                self.live = true;
                // The room may have dropped us while the stream was away.
                self.ping_quiet_rooms(Duration::ZERO);
                if std::mem::take(&mut self.sync.incomplete) {
                    self.catch_up_again();
                }
                self.shared.session_worked.store(true, std::sync::atomic::Ordering::Relaxed);
                if let Some(info) = &self.last_login {
                    self.set_state(login_state(info, &jid, true));
                }
                self.resend_outbox().await;
            }
            Lifecycle::Suspended => {
                self.live = false;
                let reason = self.last_login.as_ref().and_then(|info| info.stream_error.lock().unwrap().take());
                self.note_server_shutdown(reason.as_ref());
                match reason {
                    Some(error) if ends_the_session(&error) => {
                        // Reconnecting would fight the server (or another device of ours).
                        tracing::warn!(%error, "the server ended the session; not reconnecting");
                        self.stream = None;
                        self.iq.expire(true);
                        self.set_state(ConnectionState::Offline { reason: Some(error) });
                    }
                    reason => self.set_state(ConnectionState::Reconnecting { attempt: 0, retry_in_ms: 0, reason }),
                }
            }
        }
    }

    /// After a fresh (not resumed) session: roster (versioned), then presence; then the session
    /// counts as online (so sending and receiving work from that moment); then carbons and the
    /// catch-up with the archive; then server disco.
    fn start_new_session(&self, features: &StreamFeatures, online: Option<ConnectionState>, generation: u64, start: super::sync::Start) {
        let versioning = features.others.iter().any(|f| f.is("ver", "urn:xmpp:features:rosterver"));
        let session = super::Session { shared: self.shared.clone() };
        tokio::spawn(async move {
            match super::roster::fetch(&session, versioning).await {
                Ok(()) => session.shared.session_worked.store(true, std::sync::atomic::Ordering::Relaxed),
                Err(error) => tracing::warn!(%error, "roster fetch failed"),
            }
            let (own, status) = session.own_presence();
            let _ = session.set_presence(own, status.as_deref()).await;
            let _ = session.command(super::Command::RejoinRooms).await;
            let bookmarks = session.clone();
            tokio::spawn(async move { bookmarks.fetch_bookmarks().await });
            if let Some(state) = online {
                session.shared.snapshot.lock().unwrap().connection = Some(state.clone());
                let _ = session.shared.events.send(Event::ConnectionChanged { state });
            }
            if let Err(error) = session.iq(None, true, xmpp_parsers::carbons::Enable.into()).await {
                tracing::info!(%error, "carbons not enabled");
            }
            super::sync::catch_up(&session, generation, start).await;
            let domain = session.account().domain().to_string();
            if let Ok(info) = session.disco_info(&domain).await {
                session.shared.snapshot.lock().unwrap().server_features = info.features;
            }
        });
    }

    async fn process_stanzas(&mut self, stanzas: Vec<Stanza>) {
        if stanzas.is_empty() {
            return;
        }
        if self.sync.hold_until.is_some_and(|deadline| tokio::time::Instant::now() >= deadline) {
            // Checked here too: under a steady inbound stream the timer branch may not get a turn.
            self.release_held().await;
        }
        let mut batch = Batch::default();
        let mut received = Vec::new();
        let now = now_millis();
        for stanza in stanzas {
            match stanza {
                Stanza::Iq(iq) => self.on_iq(iq, &mut batch).await,
                Stanza::Message(message) if message.type_ == MessageType::Error => self.on_message_error(&message, &mut batch),
                Stanza::Message(message) => self.on_message(message, now, &mut received, &mut batch),
                Stanza::Presence(presence) => {
                    if !self.on_room_presence(&presence, &mut batch).await {
                        self.on_presence(&presence, &mut batch);
                    }
                }
            }
        }
        if self.sync.hold_until.is_some() {
            // Archived messages come again with the catch-up; storing them after it keeps the
            // server's order.
            let (held, now): (Vec<_>, Vec<_>) = received.into_iter().partition(|r: &Received| r.message.stanza_id.is_some());
            self.sync.held.extend(held);
            received = now;
        }
        self.store_received(received, &mut batch).await;
        self.announce(batch);
    }

    pub(super) fn announce(&mut self, batch: Batch) {
        if !batch.is_empty() {
            self.pending.merge(batch);
            self.schedule_flush();
        }
    }

    /// Stores live messages, then answers their receipt requests (only what is stored is
    /// acknowledged) and moves the archive checkpoint.
    pub(super) async fn store_received(&mut self, received: Vec<Received>, batch: &mut Batch) {
        if received.is_empty() {
            return;
        }
        let messages = received.iter().map(|r| r.message.clone()).collect();
        match self.store_messages(messages).await {
            Ok(outcomes) => {
                for outcome in outcomes {
                    if let InsertOutcome::Inserted(message) = outcome {
                        batch.conversations.insert(message.conversation.clone(), ());
                        batch.messages.push(message);
                    }
                }
                self.answer_deliveries(&received).await;
                self.follow_room_checkpoints(&received);
                if self.sync.checkpoint_follows_live {
                    if let Some(id) = received.iter().rev().filter(|r| !r.room).find_map(|r| r.message.stanza_id.as_deref()) {
                        super::sync::save_checkpoint(&self.shared.store, id);
                    }
                }
            }
            Err(error) => {
                tracing::error!(%error, "storing received messages failed");
                batch.other.push(Event::Error { error });
            }
        }
    }

    async fn send_chat_state(&mut self, to: xmpp_parsers::jid::BareJid, state: ChatState) {
        let allowed = super::roster::may_see_presence(&self.shared.snapshot.lock().unwrap().roster, &to);
        if !self.live || !allowed || self.chat_states.get(&to) == Some(&state) {
            return;
        }
        let notification = chat_states::notification(&to, state);
        self.chat_states.insert(to, state);
        self.send(notification.into()).await;
    }

    fn schedule_flush(&mut self) {
        let earliest = self.last_flush + crate::events::FLUSH_INTERVAL;
        if tokio::time::Instant::now() >= earliest {
            self.flush();
        } else if self.flush_due.is_none() {
            self.flush_due = Some(earliest);
        }
    }

    pub(super) fn flush(&mut self) {
        self.flush_due = None;
        self.last_flush = tokio::time::Instant::now();
        let batch = std::mem::take(&mut self.pending);
        if batch.is_empty() {
            return;
        }
        let store = self.shared.store.clone();
        for event in batch.into_events(|jid| store.conversation(jid).ok().flatten()) {
            self.emit(event);
        }
    }

    fn on_message_error(&mut self, message: &XmppMessage, batch: &mut Batch) {
        if self.on_subject_error(message) {
            return;
        }
        let (Some(id), Some(from)) = (&message.id, &message.from) else { return };
        let conversation = from.to_bare().to_string();
        let Ok(Some(original)) = self.shared.store.find_by_origin_id(&conversation, &id.0) else { return };
        if original.direction != Direction::Outgoing {
            return;
        }
        if let Ok(Some(_)) = self.shared.store.advance_state(original.id, DeliveryState::Failed) {
            // The server has handled that transmission; a retry is a new one.
            self.in_flight.remove(&original.id);
            batch.other.push(Event::MessageUpdated { id: original.id, conversation, state: DeliveryState::Failed });
        }
    }

}

/// Stream errors after which reconnecting would be wrong: another session replaced ours, or our
/// credentials were revoked. (A policy violation at sign-in is fatal there; in the middle of a
/// session it is usually about one stanza — "too big", or a stream the network garbled — and the
/// next session is fine.)
fn ends_the_session(error: &EngineError) -> bool {
    match error {
        EngineError::StreamError { condition, .. } => matches!(condition.as_str(), "conflict" | "not-authorized"),
        _ => false,
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

async fn next_event(stream: &mut Option<StanzaStream>) -> Option<StreamEvent> {
    match stream {
        Some(stream) => stream.next().await,
        None => std::future::pending().await,
    }
}

pub fn now_millis() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}
