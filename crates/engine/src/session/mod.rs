//! One account's live session: the public handle (commands in, events out, state queries) and
//! the actor task that owns the XMPP stream.

mod actor;
mod bookmarks;
mod inbound;
mod invitations;
mod iq;
mod muc_service;
mod outbox;
mod presence;
mod reconnect;
mod room_actor;
mod room_admin;
mod room_private;
mod room_social;
mod room_sync;
mod rooms;
mod roster;
mod sync;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{broadcast, mpsc, oneshot};
use xmpp_parsers::disco::{DiscoInfoQuery, DiscoInfoResult};
use xmpp_parsers::jid::{BareJid, FullJid, Jid};
use xmpp_parsers::minidom::Element;
use xmpp_parsers::ping::Ping;
use xmpp_parsers::roster::{Group, Item, Roster};
use xmpp_parsers::version::{VersionQuery, VersionResult};

use crate::config::{parse_contact_jid, AccountConfig, Profile};
use crate::connection::{self, LoginInfo};
use crate::error::{EngineError, Result};
use crate::events::{ConnectionState, Event};
use crate::store::Store;
use crate::pipeline::mam::PageRequest;
use crate::types::{
    ChatState, ContactPresence, Conversation, Message, MessageId, NewMessage, OwnPresence, ResourcePresence, RosterItem,
    SearchHit, Subscription,
};

pub use iq::IQ_TIMEOUT;
pub use presence::caps_node;

/// Events kept for slow subscribers before they start missing some (they are told how many).
const EVENT_BUFFER: usize = 4096;

#[derive(Debug, Clone, Default)]
pub struct SessionOptions {
    /// When the first connection fails for a reason a retry may fix (network down, server
    /// restarting), keep retrying in the background instead of failing `start`.
    pub keep_trying: bool,
    /// The presence to announce when signing in (default: available).
    pub initial_presence: Option<(OwnPresence, Option<String>)>,
    /// Of the rooms joined before (and not left), join only these at sign-in; `None`: all of
    /// them (the app). A script's one-off session joins none, so rooms do not see it come and go.
    pub rejoin_only: Option<Vec<String>>,
}

type FirstLogin = Option<(tokio_xmpp::stanzastream::Connection, LoginInfo)>;

/// What the UI can read at any time without waiting for the network.
#[derive(Debug, Default)]
struct Snapshot {
    connection: Option<ConnectionState>,
    roster: BTreeMap<String, RosterItem>,
    presence: HashMap<String, BTreeMap<String, ResourcePresence>>,
    subscription_requests: BTreeSet<String>,
    own_presence: (Option<OwnPresence>, Option<String>),
    server_features: BTreeSet<String>,
    stream_management: bool,
    bound_jid: Option<String>,
    syncing: bool,
    /// Counts new (not resumed) sessions; see `sync::catch_up`.
    session_generation: u64,
    /// Rooms by bare JID (see `rooms.rs`).
    rooms: BTreeMap<String, rooms::RoomView>,
}

struct Shared {
    account: BareJid,
    store: Arc<Store>,
    commands: mpsc::Sender<Command>,
    events: broadcast::Sender<Event>,
    snapshot: Mutex<Snapshot>,
    /// Wakes a reconnect attempt that is waiting out its backoff.
    retry_now: Arc<tokio::sync::Notify>,
    /// Set when a session got to work (resumed, or fetched its roster); see `reconnect`.
    session_worked: Arc<std::sync::atomic::AtomicBool>,
    /// Privacy: whether `mark_read` tells the contact (XEP-0333 displayed marker).
    send_read_markers: std::sync::atomic::AtomicBool,
    /// See `SessionOptions::rejoin_only`.
    rejoin_only: Option<Vec<String>>,
    bookmarks: bookmarks::BookmarkState,
}

/// One page of the server's archive (XEP-0313), verified and ready to store.
pub(crate) struct ArchivePage {
    pub messages: Vec<NewMessage>,
    pub end: crate::pipeline::mam::PageEnd,
}

enum Command {
    Iq { to: Option<Jid>, set: bool, payload: Element, reply: oneshot::Sender<iq::IqReply> },
    SendMessage { to: BareJid, body: String, reply: oneshot::Sender<Result<Message>> },
    /// Sends what is pending in the outbox (after a retry).
    SendOutbox,
    DeleteUnsent { id: MessageId, reply: oneshot::Sender<Result<Message>> },
    SetChatState { to: BareJid, state: ChatState },
    /// A stanza that is only worth sending while connected (markers, receipts).
    SendNow { stanza: Box<tokio_xmpp::Stanza> },
    SendPresence { stanza: xmpp_parsers::presence::Presence },
    ArchivePage { request: PageRequest, reply: oneshot::Sender<Result<ArchivePage>> },
    ArchiveAnswered { query_id: String, answer: iq::IqReply, reply: oneshot::Sender<Result<ArchivePage>> },
    CatchUpDone { generation: u64, received: u32, complete: bool },
    JoinRoom { room: BareJid, nick: String, password: Option<String>, reply: oneshot::Sender<Result<rooms::Joined>> },
    LeaveRoom { room: BareJid, reply: oneshot::Sender<Result<()>> },
    ChangeNick { room: BareJid, nick: String, reply: oneshot::Sender<Result<crate::types::Room>> },
    SetSubject { room: BareJid, subject: String, reply: oneshot::Sender<Result<()>> },
    SendRoomMessage { room: BareJid, body: String, reply: oneshot::Sender<Result<Message>> },
    SendPrivate { to: FullJid, body: String, reply: oneshot::Sender<Result<Message>> },
    /// After a new session's presence: join every room again.
    RejoinRooms,
    /// Self-ping every joined room now (XEP-0410).
    CheckRooms,
    SelfPinged { room: BareJid, verdict: crate::pipeline::muc::SelfPing },
    RoomNamed { room: BareJid, name: String },
    /// The room's archive catch-up finished: live archive ids move its checkpoint from now on.
    RoomCaughtUp { room: BareJid },
    Disconnect { done: oneshot::Sender<()> },
}

/// A signed-in account. Cheap to clone; every clone drives the same session.
#[derive(Clone)]
pub struct Session {
    shared: Arc<Shared>,
}

impl Session {
    /// Signs in, then opens the account's history. Errors that a retry cannot fix (wrong
    /// password, untrusted certificate, no TLS…) are returned, never retried. A sign-in that used
    /// channel binding is remembered in the profile, so a later downgrade is refused.
    pub async fn start(profile: &Profile, mut account: AccountConfig, password: String, options: SessionOptions) -> Result<Session> {
        let jid = account.bare_jid()?;
        let identity = new_identity(&jid);
        let first = first_login(&account, &password, &identity, &options).await?;
        if first.as_ref().is_some_and(|(_, info)| info.channel_binding) && !account.channel_binding_seen {
            account.channel_binding_seen = true;
            profile.save_account(&account)?;
        }
        let store_path = profile.history_path(&jid);
        let store = tokio::task::spawn_blocking(move || Store::open(&store_path)).await.expect("store open task")?;
        Self::launch(account, password, identity, first, Arc::new(store), options)
    }

    /// Like `start`, with a store the caller opened (tests, benchmarks, in-memory use).
    pub async fn start_with_store(account: AccountConfig, password: String, store: Arc<Store>, options: SessionOptions) -> Result<Session> {
        let identity = new_identity(&account.bare_jid()?);
        let first = first_login(&account, &password, &identity, &options).await?;
        Self::launch(account, password, identity, first, store, options)
    }

    fn launch(account: AccountConfig, password: String, identity: FullJid, first: FirstLogin, store: Arc<Store>, options: SessionOptions) -> Result<Session> {
        let jid = account.bare_jid()?;
        let (commands_tx, commands_rx) = mpsc::channel(256);
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        let (_, cached_roster) = store.roster()?;
        let (presence, status) = options.initial_presence.unwrap_or((OwnPresence::Available, None));
        let rejoin_only = options.rejoin_only.map(|rooms| rooms.iter().filter_map(|room| rooms::parse_room_jid(room).ok()).map(|jid| jid.to_string()).collect());
        let rooms = store
            .rooms()?
            .into_iter()
            .map(|stored| {
                let mut view = rooms::RoomView::new(&stored.jid, &stored.nick);
                view.room.name = stored.name;
                view.room.subject = stored.subject;
                view.room.state = crate::types::RoomState::Left(crate::types::LeaveReason::Offline);
                (stored.jid, view)
            })
            .collect();
        let snapshot = Snapshot {
            rooms,
            roster: cached_roster.into_iter().map(|item| (item.jid.clone(), item)).collect(),
            own_presence: (Some(presence), status),
            connection: Some(ConnectionState::Connecting),
            ..Snapshot::default()
        };
        let retry_now = Arc::new(tokio::sync::Notify::new());
        let session_worked = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let bookmarks = bookmarks::BookmarkState::load(&store);
        let shared = Arc::new(Shared {
            bookmarks,
            account: jid,
            store,
            commands: commands_tx,
            events,
            snapshot: Mutex::new(snapshot),
            retry_now: retry_now.clone(),
            session_worked: session_worked.clone(),
            send_read_markers: std::sync::atomic::AtomicBool::new(true),
            rejoin_only,
        });
        let (reports_tx, reports_rx) = mpsc::unbounded_channel();
        let stream = reconnect::stanza_stream(account, password, identity, first, reports_tx, retry_now, session_worked);
        tokio::spawn(actor::Actor::new(shared.clone(), stream, commands_rx, reports_rx).run());
        Ok(Session { shared })
    }

    pub fn account(&self) -> &BareJid {
        &self.shared.account
    }

    pub fn store(&self) -> &Arc<Store> {
        &self.shared.store
    }

    /// Events from now on. A subscriber that falls more than a few thousand events behind gets
    /// `RecvError::Lagged` and should re-read state.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.shared.events.subscribe()
    }

    pub fn connection_state(&self) -> ConnectionState {
        self.shared.snapshot.lock().unwrap().connection.clone().unwrap_or(ConnectionState::Connecting)
    }

    /// Waits until the session is online (or has stopped for good).
    pub async fn wait_online(&self, timeout: Duration) -> Result<()> {
        let mut events = self.subscribe();
        let deadline = Instant::now() + timeout;
        loop {
            match self.connection_state() {
                ConnectionState::Online { .. } => return Ok(()),
                ConnectionState::Offline { reason: Some(error) } => return Err(error),
                ConnectionState::Offline { reason: None } => return Err(EngineError::NotConnected),
                _ => {}
            }
            let remaining = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(remaining, events.recv()).await {
                Err(_) => return Err(EngineError::Timeout { stage: "waiting to be online".into() }),
                Ok(Err(broadcast::error::RecvError::Closed)) => return Err(EngineError::NotConnected),
                Ok(_) => {}
            }
        }
    }

    pub fn roster(&self) -> Vec<RosterItem> {
        self.shared.snapshot.lock().unwrap().roster.values().cloned().collect()
    }

    pub fn presence(&self, jid: &str) -> ContactPresence {
        let snapshot = self.shared.snapshot.lock().unwrap();
        let empty = BTreeMap::new();
        presence::aggregate(jid, snapshot.presence.get(jid).unwrap_or(&empty))
    }

    /// Presence of every contact that has at least one resource online.
    pub fn presences(&self) -> Vec<ContactPresence> {
        let snapshot = self.shared.snapshot.lock().unwrap();
        snapshot.presence.iter().map(|(jid, resources)| presence::aggregate(jid, resources)).collect()
    }

    pub fn subscription_requests(&self) -> Vec<String> {
        self.shared.snapshot.lock().unwrap().subscription_requests.iter().cloned().collect()
    }

    pub fn own_presence(&self) -> (OwnPresence, Option<String>) {
        let snapshot = self.shared.snapshot.lock().unwrap();
        (snapshot.own_presence.0.unwrap_or(OwnPresence::Available), snapshot.own_presence.1.clone())
    }

    /// Our full JID on the current stream, once bound.
    pub fn bound_jid(&self) -> Option<String> {
        self.shared.snapshot.lock().unwrap().bound_jid.clone()
    }

    pub fn server_features(&self) -> Vec<String> {
        self.shared.snapshot.lock().unwrap().server_features.iter().cloned().collect()
    }

    // ---- history (read from the store off the async threads) ----

    /// A page of history, newest first (see `Store::history`). When the local store runs out,
    /// older messages are fetched from the server's archive first (while online).
    pub async fn history(&self, conversation: &str, before: Option<MessageId>, limit: u32) -> Result<Vec<Message>> {
        if let Some(private) = self.private_conversation(conversation) {
            return self.private_history(private, before, limit).await;
        }
        let jid = parse_contact_jid(conversation)?;
        let key = jid.to_string();
        let local = self.blocking(move |store| store.history(&key, before, limit)).await?;
        if local.len() as u32 >= limit.min(crate::store::MAX_PAGE) || !self.is_online() {
            return Ok(local);
        }
        let is_room = self.blocking({
            let key = jid.to_string();
            move |store| Ok(store.room_conversations()?.contains(&key))
        });
        let fetched = if is_room.await? {
            room_sync::fetch_older(self, &jid, before, &local, limit).await
        } else {
            sync::fetch_older(self, &jid, before, &local, limit).await
        };
        match fetched {
            Ok(0) => Ok(local),
            Ok(_) => {
                let key = jid.to_string();
                self.blocking(move |store| store.history(&key, before, limit)).await
            }
            Err(error) => {
                tracing::info!(%error, "older history not fetched from the archive");
                Ok(local)
            }
        }
    }

    pub(crate) fn is_online(&self) -> bool {
        matches!(self.connection_state(), ConnectionState::Online { .. })
    }

    /// Whether the session is catching up with the server's archive.
    pub fn is_syncing(&self) -> bool {
        self.shared.snapshot.lock().unwrap().syncing
    }

    pub async fn search(&self, query: &str, conversation: Option<&str>, limit: u32) -> Result<Vec<SearchHit>> {
        let conversation = conversation.map(parse_contact_jid).transpose()?.map(|j| j.to_string());
        let query = query.to_owned();
        self.blocking(move |store| store.search(&query, conversation.as_deref(), limit)).await
    }

    pub async fn conversations(&self) -> Result<Vec<Conversation>> {
        self.blocking(|store| store.conversations()).await
    }

    /// Marks a conversation read and tells subscribers its new unread count.
    pub async fn mark_read(&self, conversation: &str) -> Result<u32> {
        if let Some(private) = self.private_conversation(conversation) {
            return self.mark_private_read(private).await;
        }
        let contact = parse_contact_jid(conversation)?;
        let jid = contact.to_string();
        let (changed, row) = self
            .blocking(move |store| Ok((store.mark_read(&jid)?, store.conversation(&jid)?)))
            .await?;
        if let Some(row) = row.filter(|_| changed > 0) {
            let _ = self.shared.events.send(Event::ConversationsChanged { conversations: vec![row] });
        }
        if changed > 0 {
            self.send_displayed_marker(&contact).await;
        }
        Ok(changed)
    }

    /// XEP-0333: tells the contact we read up to their newest message, if they asked to know
    /// and the user allows it.
    async fn send_displayed_marker(&self, contact: &BareJid) {
        if !self.send_read_markers() || !self.may_see_our_activity(contact) {
            return;
        }
        let key = contact.to_string();
        let Ok(Some(reference)) = self.blocking(move |store| store.newest_markable(&key)).await else { return };
        let marker = crate::pipeline::receipts::displayed(Jid::from(contact.clone()), &reference);
        let _ = self.command(Command::SendNow { stanza: Box::new(marker.into()) }).await;
    }

    /// Receipts and markers reveal that we are online: only contacts who may see our presence
    /// anyway get them.
    fn may_see_our_activity(&self, contact: &BareJid) -> bool {
        roster::may_see_presence(&self.shared.snapshot.lock().unwrap().roster, contact)
    }

    /// Privacy setting: send XEP-0333 displayed markers when we read a conversation (default on).
    pub fn set_send_read_markers(&self, on: bool) {
        self.shared.send_read_markers.store(on, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn send_read_markers(&self) -> bool {
        self.shared.send_read_markers.load(std::sync::atomic::Ordering::Relaxed)
    }

    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Store) -> std::result::Result<T, crate::store::StoreError> + Send + 'static,
    ) -> Result<T> {
        let store = self.shared.store.clone();
        tokio::task::spawn_blocking(move || work(&store)).await.expect("store task").map_err(Into::into)
    }

    // ---- commands ----

    async fn command(&self, command: Command) -> Result<()> {
        self.shared.commands.send(command).await.map_err(|_| EngineError::NotConnected)
    }

    /// Stores the message (pending, in the outbox) and sends it, now or once connected. A
    /// `MessageUpdated` event reports when the server has it (`sent`) or when it failed.
    pub async fn send_message(&self, to: &str, body: &str) -> Result<Message> {
        let to = parse_contact_jid(to)?;
        if body.trim().is_empty() {
            return Err(EngineError::invalid("message", "the message is empty"));
        }
        if body.len() > crate::pipeline::MAX_BODY_BYTES {
            return Err(EngineError::invalid("message", "the message is too long"));
        }
        let (reply, answer) = oneshot::channel();
        self.command(Command::SendMessage { to, body: body.to_owned(), reply }).await?;
        answer.await.map_err(|_| EngineError::NotConnected)?
    }

    /// Sends a failed message again.
    pub async fn retry_message(&self, id: MessageId) -> Result<Message> {
        let message = self
            .blocking(move |store| store.advance_state(id, crate::types::DeliveryState::Pending))
            .await?
            .ok_or_else(|| EngineError::invalid("message", "only a message that failed to send can be retried"))?;
        let _ = self.shared.events.send(Event::MessageUpdated { id, conversation: message.conversation.clone(), state: message.state });
        self.command(Command::SendOutbox).await?;
        Ok(message)
    }

    /// Deletes our own message that failed (or is still waiting and not yet on the wire).
    pub async fn delete_message(&self, id: MessageId) -> Result<()> {
        let (reply, answer) = oneshot::channel();
        self.command(Command::DeleteUnsent { id, reply }).await?;
        let message = answer.await.map_err(|_| EngineError::NotConnected)??;
        let _ = self.shared.events.send(Event::MessageDeleted { id, conversation: message.conversation.clone() });
        if let Ok(Some(row)) = self.shared.store.conversation(&message.conversation) {
            let _ = self.shared.events.send(Event::ConversationsChanged { conversations: vec![row] });
        }
        Ok(())
    }

    /// XEP-0085: tells the contact what we are doing in the conversation. Only changes are
    /// sent, and nothing while offline, so calling this on every keystroke is fine.
    pub async fn set_chat_state(&self, to: &str, state: ChatState) -> Result<()> {
        let to = parse_contact_jid(to)?;
        self.command(Command::SetChatState { to, state }).await
    }

    /// Skips the rest of the backoff wait of a reconnecting session.
    pub fn reconnect_now(&self) {
        self.shared.retry_now.notify_waiters();
    }

    /// One page of our archive (XEP-0313).
    pub(crate) async fn archive_page(&self, request: PageRequest) -> Result<ArchivePage> {
        let (reply, answer) = oneshot::channel();
        self.command(Command::ArchivePage { request, reply }).await?;
        match tokio::time::timeout(IQ_TIMEOUT + Duration::from_secs(1), answer).await {
            Err(_) => Err(EngineError::Timeout { stage: "waiting for the archive".into() }),
            Ok(Err(_)) => Err(EngineError::NotConnected),
            Ok(Ok(page)) => page,
        }
    }

    /// Sends an IQ and waits for the matching answer (or times out).
    pub async fn iq(&self, to: Option<Jid>, set: bool, payload: Element) -> Result<Option<Element>> {
        let (reply, answer) = oneshot::channel();
        self.command(Command::Iq { to, set, payload, reply }).await?;
        match tokio::time::timeout(IQ_TIMEOUT + Duration::from_secs(1), answer).await {
            Err(_) => Err(EngineError::Timeout { stage: "waiting for the server's answer".into() }),
            Ok(Err(_)) => Err(EngineError::NotConnected),
            Ok(Ok(reply)) => reply,
        }
    }

    pub async fn set_presence(&self, presence: OwnPresence, status: Option<&str>) -> Result<()> {
        let status = status.map(|s| crate::pipeline::clean_text(s, crate::pipeline::MAX_TEXT_CHARS));
        {
            let mut snapshot = self.shared.snapshot.lock().unwrap();
            snapshot.own_presence = (Some(presence), status.clone());
        }
        self.command(Command::SendPresence { stanza: presence::own_presence_stanza(presence, status.as_deref()) }).await
    }

    async fn send_subscription(&self, to: &BareJid, type_: xmpp_parsers::presence::Type) -> Result<()> {
        let mut stanza = xmpp_parsers::presence::Presence::new(type_);
        stanza.to = Some(Jid::from(to.clone()));
        self.command(Command::SendPresence { stanza }).await
    }

    /// Adds (or updates) a roster entry and asks to see the contact's presence.
    pub async fn add_contact(&self, jid: &str, name: Option<&str>, groups: &[String]) -> Result<()> {
        let jid = parse_contact_jid(jid)?;
        if jid == self.shared.account {
            return Err(EngineError::invalid("contact", "you cannot add yourself"));
        }
        self.roster_set(&jid, name, groups, false).await?;
        self.send_subscription(&jid, xmpp_parsers::presence::Type::Subscribe).await
    }

    pub async fn rename_contact(&self, jid: &str, name: Option<&str>) -> Result<()> {
        let jid = parse_contact_jid(jid)?;
        let groups = self.roster_entry(&jid)?.groups;
        self.roster_set(&jid, name, &groups, false).await
    }

    pub async fn set_contact_groups(&self, jid: &str, groups: &[String]) -> Result<()> {
        let jid = parse_contact_jid(jid)?;
        let name = self.roster_entry(&jid)?.name;
        self.roster_set(&jid, name.as_deref(), groups, false).await
    }

    /// Removes the contact; the server also cancels subscriptions both ways.
    pub async fn remove_contact(&self, jid: &str) -> Result<()> {
        let jid = parse_contact_jid(jid)?;
        self.roster_set(&jid, None, &[], true).await
    }

    fn roster_entry(&self, jid: &BareJid) -> Result<RosterItem> {
        self.shared
            .snapshot
            .lock()
            .unwrap()
            .roster
            .get(jid.as_str())
            .cloned()
            .ok_or_else(|| EngineError::invalid("contact", format!("{jid} is not in your contacts")))
    }

    async fn roster_set(&self, jid: &BareJid, name: Option<&str>, groups: &[String], remove: bool) -> Result<()> {
        let clean = |s: &str| crate::pipeline::clean_text(s.trim(), crate::pipeline::MAX_TEXT_CHARS);
        let item = Item {
            jid: jid.clone(),
            name: name.map(clean).filter(|n| !n.is_empty()),
            subscription: if remove { xmpp_parsers::roster::Subscription::Remove } else { xmpp_parsers::roster::Subscription::None },
            ask: xmpp_parsers::roster::Ask::None,
            groups: groups.iter().map(|g| clean(g)).filter(|g| !g.is_empty()).collect::<BTreeSet<_>>().into_iter().map(Group).collect(),
            approved: None,
        };
        let roster = Roster { ver: None, items: vec![item] };
        self.iq(None, true, roster.into()).await.map(|_| ())
    }

    /// Asks to see the contact's presence.
    pub async fn request_subscription(&self, jid: &str) -> Result<()> {
        self.send_subscription(&parse_contact_jid(jid)?, xmpp_parsers::presence::Type::Subscribe).await
    }

    /// Lets the contact see our presence; asks for theirs too when we do not have it yet.
    pub async fn approve_subscription(&self, jid: &str) -> Result<()> {
        let jid = parse_contact_jid(jid)?;
        self.send_subscription(&jid, xmpp_parsers::presence::Type::Subscribed).await?;
        self.shared.snapshot.lock().unwrap().subscription_requests.remove(jid.as_str());
        let ours = self.shared.snapshot.lock().unwrap().roster.get(jid.as_str()).cloned();
        let wants_theirs = ours.map_or(true, |item| matches!(item.subscription, Subscription::None | Subscription::From) && !item.pending_out);
        if wants_theirs {
            self.send_subscription(&jid, xmpp_parsers::presence::Type::Subscribe).await?;
        }
        Ok(())
    }

    /// Refuses a request, or stops the contact from seeing our presence.
    pub async fn deny_subscription(&self, jid: &str) -> Result<()> {
        let jid = parse_contact_jid(jid)?;
        self.shared.snapshot.lock().unwrap().subscription_requests.remove(jid.as_str());
        self.send_subscription(&jid, xmpp_parsers::presence::Type::Unsubscribed).await
    }

    /// Withdraws our request, or stops seeing the contact's presence.
    pub async fn cancel_subscription(&self, jid: &str) -> Result<()> {
        self.send_subscription(&parse_contact_jid(jid)?, xmpp_parsers::presence::Type::Unsubscribe).await
    }

    /// XEP-0199: round-trip time to a JID (our server when `None`).
    pub async fn ping(&self, to: Option<&str>) -> Result<Duration> {
        let to = to.map(|t| t.parse::<Jid>().map_err(|e| EngineError::InvalidJid { input: t.into(), reason: e.to_string() })).transpose()?;
        let to = Some(to.unwrap_or_else(|| Jid::from(BareJid::from_parts(None, self.shared.account.domain()))));
        let started = Instant::now();
        self.iq(to, false, Ping.into()).await?;
        Ok(started.elapsed())
    }

    /// XEP-0030 disco#info of any entity.
    pub async fn disco_info(&self, to: &str) -> Result<DiscoInfoResult> {
        let to: Jid = to.parse().map_err(|e: xmpp_parsers::jid::Error| EngineError::InvalidJid { input: to.into(), reason: e.to_string() })?;
        let answer = self.iq(Some(to), false, DiscoInfoQuery { node: None }.into()).await?;
        let element = answer.ok_or_else(|| EngineError::protocol("empty disco#info answer"))?;
        DiscoInfoResult::try_from(element).map_err(EngineError::protocol)
    }

    /// XEP-0092 software version of any entity.
    pub async fn software_version(&self, to: &str) -> Result<VersionResult> {
        let to: Jid = to.parse().map_err(|e: xmpp_parsers::jid::Error| EngineError::InvalidJid { input: to.into(), reason: e.to_string() })?;
        let answer = self.iq(Some(to), false, VersionQuery.into()).await?;
        let element = answer.ok_or_else(|| EngineError::protocol("empty version answer"))?;
        VersionResult::try_from(element).map_err(EngineError::protocol)
    }

    /// Sends unavailable presence, closes the stream and stops reconnecting.
    pub async fn disconnect(&self) {
        let (done, finished) = oneshot::channel();
        if self.command(Command::Disconnect { done }).await.is_ok() {
            let _ = tokio::time::timeout(Duration::from_secs(5), finished).await;
        }
    }
}

/// Our full JID with a fresh resource, kept across reconnects of this session.
fn new_identity(jid: &BareJid) -> FullJid {
    let resource = format!("rapport-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    jid.with_resource_str(&resource).expect("generated resources are valid")
}

async fn first_login(account: &AccountConfig, password: &str, identity: &FullJid, options: &SessionOptions) -> Result<FirstLogin> {
    match connection::login(account, password, identity).await {
        Ok(connected) => Ok(Some(connected)),
        Err(error) if error.is_fatal() || !options.keep_trying => Err(error),
        Err(error) => {
            tracing::info!(%error, "first connection failed; retrying in the background");
            Ok(None)
        }
    }
}

pub(crate) fn login_state(info: &LoginInfo, jid: &str, resumed: bool) -> ConnectionState {
    ConnectionState::Online {
        jid: jid.to_owned(),
        sasl_mechanism: info.sasl_mechanism.to_owned(),
        channel_binding: info.channel_binding,
        resumed,
    }
}
