//! A room's history from its archive (XEP-0313 with `to` = the room): after every join, from
//! the room's checkpoint (the newest room archive id stored with everything before it) to the
//! end, page by page; a first join fetches the newest page as read history. Scrolling past the
//! local history asks the room's archive for the page before it.

use tokio::sync::oneshot;
use xmpp_parsers::jid::BareJid;

use super::rooms::Joined;
use super::{sync, Command, Session};
use crate::error::{EngineError, Result};
use crate::pipeline::mam::PageRequest;
use crate::types::{Message, MessageId};

/// Messages per page while catching up.
const PAGE_SIZE: usize = 250;
/// How much history a first join fetches.
const FIRST_JOIN_MESSAGES: usize = 50;

/// Runs after the room confirmed our join: accepts the default configuration of a room we just
/// created, tells the caller, then catches up with the room's archive.
pub(crate) async fn after_join(session: Session, room: BareJid, joined: Joined, waiters: Vec<oneshot::Sender<Result<Joined>>>) {
    if joined.created {
        if let Err(error) = session.accept_default_config(&room).await {
            tracing::warn!(%error, %room, "the new room's default configuration was not accepted");
        }
    }
    for waiter in waiters {
        let _ = waiter.send(Ok(joined.clone()));
    }
    name_room(&session, &room).await;
    match catch_up(&session, &room).await {
        Ok(()) => {
            let _ = session.shared.commands.send(Command::RoomCaughtUp { room }).await;
        }
        Err(error) => tracing::warn!(%error, %room, "the room's archive was not read"),
    }
}

/// The room's name from its disco#info, for `Room::name`.
async fn name_room(session: &Session, room: &BareJid) {
    let query = xmpp_parsers::disco::DiscoInfoQuery { node: None }.into();
    if let Ok(Some(info)) = session.iq(Some(xmpp_parsers::jid::Jid::from(room.clone())), false, query).await {
        if let (Some(name), _) = crate::pipeline::muc::room_info(&info) {
            let _ = session.shared.commands.send(Command::RoomNamed { room: room.clone(), name }).await;
        }
    }
}

async fn catch_up(session: &Session, room: &BareJid) -> Result<()> {
    let key = room.to_string();
    let store = session.shared.store.clone();
    let checkpoint = store.room_checkpoint(&key)?;
    match checkpoint {
        Some(after) => match forward_from(session, room, after).await {
            Err(EngineError::ServerError { condition, .. }) if condition.eq_ignore_ascii_case("itemnotfound") || condition == "item-not-found" => {
                // The checkpoint fell out of the archive: start over with the newest page.
                store.set_room_checkpoint(&key, None)?;
                first_join(session, room).await
            }
            other => other,
        },
        None => first_join(session, room).await,
    }
}

fn room_page(room: &BareJid, max: usize) -> PageRequest {
    PageRequest { archive: Some(room.clone()), max, ..PageRequest::default() }
}

/// Pages forward from `after` to the end of the room's archive, storing what is new.
async fn forward_from(session: &Session, room: &BareJid, after: String) -> Result<()> {
    let mut request = PageRequest { after: Some(after), ..room_page(room, PAGE_SIZE) };
    loop {
        let page = session.archive_page(request.clone()).await?;
        let (complete, last) = (page.end.complete, page.end.last.clone());
        sync::store_new(session, page.messages).await?;
        let Some(last) = last else { return Ok(()) };
        session.shared.store.set_room_checkpoint(room.as_str(), Some(&last))?;
        if complete || request.after.as_deref() == Some(last.as_str()) {
            return Ok(());
        }
        request = PageRequest { after: Some(last), ..room_page(room, PAGE_SIZE) };
    }
}

/// The newest page of the room's archive, stored as already-read history.
async fn first_join(session: &Session, room: &BareJid) -> Result<()> {
    let request = PageRequest { before: Some(String::new()), ..room_page(room, FIRST_JOIN_MESSAGES) };
    let page = session.archive_page(request).await?;
    if page.end.complete {
        session.shared.store.set_room_archive_start_reached(room.as_str())?;
    }
    let last = page.end.last.clone();
    sync::store_history(session, page.messages).await?;
    if let Some(last) = last {
        session.shared.store.set_room_checkpoint(room.as_str(), Some(&last))?;
    }
    Ok(())
}

/// The room archive's page just older than what the store holds; returns how many were new.
pub(crate) async fn fetch_older(session: &Session, room: &BareJid, before: Option<MessageId>, local: &[Message], limit: u32) -> Result<usize> {
    if session.shared.store.room_archive_start_reached(room.as_str())? {
        return Ok(0);
    }
    let oldest = match local.last() {
        Some(oldest) => Some(oldest.clone()),
        None => before.map(|id| session.shared.store.message(id)).transpose()?.flatten(),
    };
    let mut request = room_page(room, (limit as usize).clamp(20, PAGE_SIZE));
    match oldest.as_ref().and_then(|m| m.stanza_id.clone()) {
        Some(archive_id) => request.before = Some(archive_id),
        None => {
            request.before = Some(String::new());
            request.end = oldest.as_ref().map(|m| m.timestamp);
        }
    }
    let page = session.archive_page(request).await?;
    if page.end.complete {
        session.shared.store.set_room_archive_start_reached(room.as_str())?;
    }
    Ok(sync::store_history(session, page.messages).await?.len())
}
