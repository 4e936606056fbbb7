//! History sync with the server's archive (XEP-0313 + XEP-0059 paging).
//!
//! After every new (not resumed) session the session catches up from the newest archive id it
//! stored (the checkpoint), page by page, oldest first, so what arrived while we were offline, or
//! was exchanged by another device of ours, lands in the right conversations in server order.
//! Live messages that arrive meanwhile are held by the actor and stored after the catch-up.
//! Without a checkpoint (first sign-in on this machine) the newest part of the archive is
//! fetched as history instead. Scrolling past the local history fetches older pages.

use xmpp_parsers::jid::BareJid;

use std::time::Duration;

use tokio::sync::oneshot;

use super::actor::SHUTDOWN_SUSPECT_WINDOW;
use super::{ArchivePage, Command, Session};
use crate::events::Batch;
use crate::pipeline::mam;
use crate::error::{EngineError, Result};
use crate::events::Event;
use crate::pipeline::mam::PageRequest;
use crate::store::{InsertOutcome, Store};
use crate::types::{Direction, Message, MessageId, NewMessage};

/// Archive id of the newest message we stored with everything before it.
const CHECKPOINT: &str = "mam.last_id";
/// Per conversation: the archive has nothing older than what we stored.
const ARCHIVE_START: &str = "mam.start_reached:";
/// Messages per archive page (Prosody answers at most 250 by default).
const PAGE_SIZE: usize = 250;
/// How much history a first sign-in fetches.
const FIRST_SIGN_IN_MESSAGES: usize = 1000;

pub fn checkpoint(store: &Store) -> Option<String> {
    store.get_setting(CHECKPOINT).ok().flatten()
}

pub fn save_checkpoint(store: &Store, archive_id: &str) {
    if let Err(error) = store.set_setting(CHECKPOINT, archive_id) {
        tracing::warn!(%error, "archive checkpoint not saved");
    }
}

/// Where a new session's catch-up starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    /// After this archive id.
    Checkpoint(String),
    /// No checkpoint (the archive was empty, or the server did not send archive ids live), but
    /// a history: from a little before its newest message.
    Time(crate::types::Millis),
    /// Nothing stored yet: a first sign-in on this machine.
    FirstSync,
}

/// How far before the newest stored message a catch-up by time starts (clock differences).
const TIME_OVERLAP_MS: crate::types::Millis = 5 * 60 * 1000;
/// Attempts of one catch-up before the session goes on without it (it runs again when the
/// stream resumes or restarts).
const ATTEMPTS: u32 = 5;

pub fn start(store: &Store) -> Start {
    match checkpoint(store) {
        Some(id) => Start::Checkpoint(id),
        None => start_without_checkpoint(store),
    }
}

fn start_without_checkpoint(store: &Store) -> Start {
    match store.newest_activity() {
        Ok(Some(newest)) => Start::Time(newest - TIME_OVERLAP_MS),
        _ => Start::FirstSync,
    }
}

/// Catches up, retrying a few times, and tells the actor (which then stores the live messages it
/// held, and runs the catch-up again after the next resumption if this one did not finish).
pub async fn catch_up(session: &Session, generation: u64, start: Start) {
    session.shared.snapshot.lock().unwrap().syncing = true;
    let _ = session.shared.events.send(Event::SyncStarted);
    let mut received = 0;
    let mut complete = false;
    for attempt in 1..=ATTEMPTS {
        if session.shared.snapshot.lock().unwrap().session_generation != generation {
            // A newer session runs its own catch-up.
            return;
        }
        match catch_up_once(session, start.clone()).await {
            Ok(count) => {
                received += count;
                complete = true;
                break;
            }
            Err(error) => {
                tracing::warn!(%error, attempt, "catching up with the archive failed");
                if !session.is_online() {
                    break;
                }
                tokio::time::sleep(super::reconnect::backoff(attempt)).await;
            }
        }
    }
    let _ = session.shared.commands.send(Command::CatchUpDone { generation, received, complete }).await;
}

/// `initial`: where this session's catch-up started; a checkpoint saved since (by an earlier
/// attempt's pages) goes first.
async fn catch_up_once(session: &Session, initial: Start) -> Result<u32> {
    let start = checkpoint(&session.shared.store).map(Start::Checkpoint).unwrap_or(initial);
    let first_page = match start {
        Start::Checkpoint(after) => PageRequest { after: Some(after), ..page_request() },
        Start::Time(since) => PageRequest { start: Some(since), ..page_request() },
        Start::FirstSync => return first_sync(session).await,
    };
    match forward_from(session, first_page).await {
        // The checkpoint fell out of the archive (expired): go by time instead.
        Err(EngineError::ServerError { condition, .. }) if condition == "item-not-found" => {
            let _ = session.shared.store.delete_setting(CHECKPOINT);
            Box::pin(catch_up_once(session, start_without_checkpoint(&session.shared.store))).await
        }
        other => other,
    }
}

fn page_request() -> PageRequest {
    PageRequest { max: PAGE_SIZE, ..PageRequest::default() }
}

/// Pages forward to the end of the archive; returns the new incoming messages.
async fn forward_from(session: &Session, first: PageRequest) -> Result<u32> {
    let mut request = first;
    let mut received = 0;
    loop {
        let page = session.archive_page(request.clone()).await?;
        let complete = page.end.complete;
        let last = page.end.last.clone();
        received += store_new(session, page.messages).await?;
        let Some(last) = last else { return Ok(received) };
        save_checkpoint(&session.shared.store, &last);
        if complete || request.after.as_deref() == Some(last.as_str()) {
            return Ok(received);
        }
        request = PageRequest { after: Some(last), ..page_request() };
    }
}

/// The newest messages of the archive, stored as already-read history.
async fn first_sync(session: &Session) -> Result<u32> {
    let mut before = String::new();
    let mut fetched = 0;
    let mut newest = None;
    while fetched < FIRST_SIGN_IN_MESSAGES {
        let request = PageRequest { before: Some(before.clone()), max: PAGE_SIZE, ..PageRequest::default() };
        let page = session.archive_page(request).await?;
        newest = newest.or(page.end.last.clone());
        fetched += page.messages.len();
        store_history(session, page.messages).await?;
        match page.end.first {
            Some(first) if !page.end.complete => before = first,
            _ => break,
        }
    }
    if let Some(newest) = newest {
        save_checkpoint(&session.shared.store, &newest);
    }
    Ok(0)
}

/// Stores catch-up messages as new ones and announces them; returns how many incoming were new.
pub(crate) async fn store_new(session: &Session, messages: Vec<NewMessage>) -> Result<u32> {
    let inserted = insert(session, messages, false).await?;
    let incoming = inserted.iter().filter(|m| m.direction == Direction::Incoming).count() as u32;
    announce(session, inserted, true);
    Ok(incoming)
}

pub(crate) async fn store_history(session: &Session, messages: Vec<NewMessage>) -> Result<Vec<Message>> {
    let inserted = insert(session, messages, true).await?;
    announce(session, inserted.clone(), false);
    Ok(inserted)
}

async fn insert(session: &Session, messages: Vec<NewMessage>, history: bool) -> Result<Vec<Message>> {
    let store = session.shared.store.clone();
    let outcomes = tokio::task::spawn_blocking(move || if history { store.insert_history(&messages) } else { store.insert_messages(&messages) })
        .await
        .expect("store task")?;
    Ok(outcomes
        .into_iter()
        .filter_map(|outcome| match outcome {
            InsertOutcome::Inserted(message) => Some(message),
            InsertOutcome::Duplicate(_) => None,
        })
        .collect())
}

/// Catch-up messages are announced as such; history only changes the conversation list.
fn announce(session: &Session, messages: Vec<Message>, as_messages: bool) {
    if messages.is_empty() {
        return;
    }
    let mut conversations: Vec<String> = messages.iter().map(|m| m.conversation.clone()).collect();
    conversations.sort();
    conversations.dedup();
    if as_messages {
        let _ = session.shared.events.send(Event::MessagesReceived { messages, catch_up: true });
    }
    let rows: Vec<_> = conversations.iter().filter_map(|jid| session.shared.store.conversation(jid).ok().flatten()).collect();
    if !rows.is_empty() {
        let _ = session.shared.events.send(Event::ConversationsChanged { conversations: rows });
    }
}

/// Fetches the archive page just older than what the store holds of this conversation; returns
/// how many messages were new.
pub async fn fetch_older(session: &Session, contact: &BareJid, before: Option<MessageId>, local: &[Message], limit: u32) -> Result<usize> {
    let start_key = format!("{ARCHIVE_START}{contact}");
    if session.shared.store.get_setting(&start_key)?.is_some() {
        return Ok(0);
    }
    let oldest = match local.last() {
        Some(oldest) => Some(oldest.clone()),
        None => before.map(|id| session.shared.store.message(id)).transpose()?.flatten(),
    };
    let mut request = PageRequest { with: Some(contact.clone()), max: (limit as usize).clamp(20, PAGE_SIZE), ..PageRequest::default() };
    match oldest.as_ref().and_then(|m| m.stanza_id.clone()) {
        Some(archive_id) => request.before = Some(archive_id),
        None => {
            request.before = Some(String::new());
            request.end = oldest.as_ref().map(|m| m.timestamp);
        }
    }
    let page: ArchivePage = session.archive_page(request).await?;
    if page.end.complete {
        session.shared.store.set_setting(&start_key, "1")?;
    }
    Ok(store_history(session, page.messages).await?.len())
}

/// The actor's side of the catch-up: archive queries, holding live messages, and what a server
/// restart may have lost.
impl super::actor::Actor {
    pub(super) async fn query_archive(&mut self, request: mam::PageRequest, reply: oneshot::Sender<crate::Result<super::ArchivePage>>) {
        if self.stream.is_none() {
            let _ = reply.send(Err(EngineError::NotConnected));
            return;
        }
        let query_id = uuid::Uuid::new_v4().simple().to_string();
        self.archive_queries.insert(query_id.clone(), Vec::new());
        if let Some(room) = &request.archive {
            self.rooms.queries.insert(query_id.clone(), room.clone());
        }
        let (answered, answer) = oneshot::channel();
        let to = request.archive.clone().map(xmpp_parsers::jid::Jid::from);
        self.send_iq(to, true, mam::query(&query_id, &request), answered).await;
        let commands = self.shared.commands.clone();
        tokio::spawn(async move {
            let answer = answer.await.unwrap_or(Err(EngineError::NotConnected));
            let _ = commands.send(Command::ArchiveAnswered { query_id, answer, reply }).await;
        });
    }

    pub(super) async fn on_catch_up_done(&mut self, generation: u64, received: u32, complete: bool) {
        if generation != self.sync.generation {
            return;
        }
        self.sync.catching_up = false;
        self.sync.hold_until = None;
        // An unfinished catch-up leaves a gap: live ids must not move the checkpoint past it.
        self.sync.checkpoint_follows_live = complete;
        self.sync.incomplete = !complete;
        if complete {
            self.shutdown_suspects();
            self.requeue_unconfirmed_suspects().await;
        }
        let held = std::mem::take(&mut self.sync.held);
        let mut batch = Batch::default();
        self.store_received(held, &mut batch).await;
        self.announce(batch);
        self.flush();
        self.shared.snapshot.lock().unwrap().syncing = false;
        self.emit(Event::SyncFinished { received });
    }

    /// A server going down may acknowledge messages it never routes or archives — also on a
    /// session it still accepts while stopping. Remembered until the next complete catch-up.
    pub(super) fn note_server_shutdown(&mut self, reason: Option<&EngineError>) {
        if matches!(reason, Some(EngineError::StreamError { condition, .. }) if condition == "system-shutdown") {
            self.server_shutdown_at.get_or_insert(tokio::time::Instant::now());
        }
    }

    /// The acks from shortly before the server's shutdown until the session after its restart
    /// began (see `requeue_unconfirmed_suspects`).
    fn shutdown_suspects(&mut self) {
        let (Some(shutdown), Some(reset)) = (self.server_shutdown_at.take(), self.reset_at) else { return };
        let (since, until) = (shutdown - SHUTDOWN_SUSPECT_WINDOW, reset + Duration::from_secs(2));
        self.suspects.extend(self.recent_acks.iter().filter(|(_, at)| (since..=until).contains(at)).map(|(id, _)| *id));
    }

    /// The catch-up takes too long: what was held is stored now, and nothing more is held.
    pub(super) async fn release_held(&mut self) {
        self.sync.hold_until = None;
        let held = std::mem::take(&mut self.sync.held);
        let mut batch = Batch::default();
        self.store_received(held, &mut batch).await;
        self.announce(batch);
    }

    /// Runs the catch-up that did not finish (live messages are not held meanwhile: the stream
    /// was resumed, so nothing was missed since; only the older gap is filled).
    pub(super) fn catch_up_again(&self) {
        let session = super::Session { shared: self.shared.clone() };
        let generation = self.sync.generation;
        let start = super::sync::start(&self.shared.store);
        tokio::spawn(async move { super::sync::catch_up(&session, generation, start).await });
    }

}
