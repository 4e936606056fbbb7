//! Room bookmarks on the session: fetched after every new session (XEP-0402, merged with XEP-0048
//! storage where the account has no native bookmarks), kept in memory and in the settings table,
//! followed through PEP events from our own account only, and acted on: a bookmark with autojoin
//! is joined (through `join_room`), and a room joined that way is left again when its bookmark
//! is retracted or loses autojoin. A room the user joined themselves is never left because of a
//! bookmark. The stanzas and the trust rules are in `pipeline/bookmarks.rs`.
//!
//! Storage: the list is small and always replaced whole by the server's, so it is one JSON value
//! in `settings` (no table, no migration), without passwords: room passwords never go to disk,
//! they come back from the server with every fetch.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use xmpp_parsers::jid::BareJid;
use xmpp_parsers::message::Message as XmppMessage;

use super::actor::Actor;
use super::rooms::parse_room_jid;
use super::Session;
use crate::error::{EngineError, Result};
use crate::events::Event;
use crate::pipeline::bookmarks::{self, Bookmark, BookmarkChange, BookmarkError, BookmarkSource, BookmarkUpdate};
use crate::pipeline::iq_request::condition_name;
use crate::store::Store;
use crate::types::RoomState;

const SETTING: &str = "bookmarks";

/// What the session knows about the account's bookmarks.
#[derive(Default)]
pub(super) struct BookmarkState {
    /// Serialises fetches, events and our own changes: each reads, changes and stores the list.
    turn: tokio::sync::Mutex<()>,
    saved: std::sync::Mutex<Saved>,
    /// Our account's disco#info features (where bookmarks live, publish-options), per session.
    features: std::sync::Mutex<Option<Vec<String>>>,
}

#[derive(Default, Clone, Serialize, Deserialize)]
struct Saved {
    bookmarks: Vec<Bookmark>,
    /// Rooms we joined because of their bookmark's autojoin (and so may leave because of it).
    autojoined: BTreeSet<String>,
}

impl BookmarkState {
    pub fn load(store: &Store) -> Self {
        let saved = store.get_setting(SETTING).ok().flatten().and_then(|json| serde_json::from_str(&json).ok()).unwrap_or_default();
        Self { saved: std::sync::Mutex::new(saved), ..Self::default() }
    }
}

impl Session {
    /// The account's room bookmarks as last fetched or changed.
    pub fn bookmarks(&self) -> Vec<Bookmark> {
        self.shared.bookmarks.saved.lock().unwrap().bookmarks.clone()
    }

    /// Adds or replaces the bookmark of `bookmark.room` on the server (private to the account;
    /// `PrivacyNotSupported` where the server cannot promise that, and then nothing is
    /// published). With autojoin, the room is joined here too (and on our other devices).
    pub async fn set_bookmark(&self, bookmark: Bookmark) -> Result<()> {
        let features = self.account_features().await?;
        let features: Vec<&str> = features.iter().map(String::as_str).collect();
        let request = bookmarks::publish(&bookmark, &features).map_err(bookmark_error)?;
        if let Err(error) = self.request(request).await {
            if matches!(error, EngineError::NotConnected | EngineError::Timeout { .. }) {
                return Err(error);
            }
            // A server may refuse an option it does not know: once more with only the options
            // privacy needs (never without them).
            tracing::info!(%error, "bookmark publish refused; again with the privacy options only");
            let request = bookmarks::publish_private_only(&bookmark, &features).map_err(bookmark_error)?;
            self.request(request).await.map_err(|error| match bookmarks::publish_error_from(&error) {
                BookmarkError::PrivacyNotSupported => EngineError::PrivacyNotSupported,
                _ => error,
            })?;
        }
        self.apply_update(BookmarkUpdate::Items { published: vec![bookmark], retracted: vec![] }).await;
        Ok(())
    }

    /// Removes the bookmark of `room` (a room it made us join is left).
    pub async fn remove_bookmark(&self, room: &str) -> Result<()> {
        let room = parse_room_jid(room)?;
        match self.request(bookmarks::retract(&room)).await {
            Err(EngineError::ServerError { condition, .. }) if condition_name(&condition) == "item-not-found" => {}
            other => {
                other?;
            }
        }
        self.apply_update(BookmarkUpdate::Items { published: vec![], retracted: vec![room.to_string()] }).await;
        Ok(())
    }

    async fn account_features(&self) -> Result<Vec<String>> {
        if let Some(features) = self.shared.bookmarks.features.lock().unwrap().clone() {
            return Ok(features);
        }
        let info = self.disco_info(self.account().as_str()).await?;
        let features: Vec<String> = info.features.into_iter().collect();
        *self.shared.bookmarks.features.lock().unwrap() = Some(features.clone());
        Ok(features)
    }

    /// After every new session: the server's list replaces ours, then every autojoin bookmark
    /// whose room we are not in is joined.
    pub(super) async fn fetch_bookmarks(&self) {
        let _turn = self.shared.bookmarks.turn.lock().await;
        *self.shared.bookmarks.features.lock().unwrap() = None;
        let list = match self.account_features().await {
            Ok(features) => self.fetch_list(&features).await,
            Err(error) => Err(error),
        };
        let list = match list {
            Ok(list) => list,
            Err(error) => return tracing::info!(%error, "bookmarks not fetched"),
        };
        let changes = bookmarks::diff(&self.bookmarks(), list.clone());
        self.save(|saved| saved.bookmarks = list.clone());
        if !changes.is_empty() {
            self.emit_bookmarks();
        }
        // Removed (or no longer autojoin) while we were away: leave what they made us join.
        for change in changes {
            match change {
                BookmarkChange::Retracted { room } => self.leave_autojoined(&room).await,
                BookmarkChange::Changed { bookmark } if !bookmark.autojoin => self.leave_autojoined(&bookmark.room).await,
                _ => {}
            }
        }
        for bookmark in list.iter().filter(|b| b.autojoin) {
            self.autojoin(bookmark);
        }
    }

    async fn fetch_list(&self, features: &[String]) -> Result<Vec<Bookmark>> {
        let features: Vec<&str> = features.iter().map(String::as_str).collect();
        let native = self.items(bookmarks::items_request()).await?;
        if bookmarks::source(&features) == BookmarkSource::Native {
            return Ok(native);
        }
        // No native bookmarks announced: XEP-0048 from private storage, else the legacy PEP node;
        // a native bookmark wins over an old one of the same room.
        let mut old = match self.request(bookmarks::private_storage_request()).await {
            Ok(Some(payload)) => bookmarks::parse_private_storage(payload).unwrap_or_default(),
            _ => Vec::new(),
        };
        if old.is_empty() {
            old = self.items(bookmarks::legacy_items_request()).await.unwrap_or_default();
        }
        old.retain(|b| !native.iter().any(|n| n.room == b.room));
        Ok(native.into_iter().chain(old).collect())
    }

    /// A PEP items answer; a node that does not exist is no bookmarks.
    async fn items(&self, request: crate::pipeline::iq_request::IqRequest) -> Result<Vec<Bookmark>> {
        match self.request(request).await {
            Ok(Some(payload)) => bookmarks::parse_items(payload).map_err(EngineError::protocol),
            Ok(None) => Ok(Vec::new()),
            Err(EngineError::ServerError { condition, .. }) if condition_name(&condition) == "item-not-found" => Ok(Vec::new()),
            Err(error) => Err(error),
        }
    }

    /// Applies a change (from a PEP event of our account, or our own publish) and acts on it.
    pub(super) async fn apply_update(&self, update: BookmarkUpdate) {
        let _turn = self.shared.bookmarks.turn.lock().await;
        let changes = bookmarks::changes(&self.bookmarks(), update);
        if changes.is_empty() {
            return;
        }
        for change in &changes {
            self.save(|saved| match change {
                BookmarkChange::Added { bookmark } | BookmarkChange::Changed { bookmark } => {
                    saved.bookmarks.retain(|b| b.room != bookmark.room);
                    saved.bookmarks.push(bookmark.clone());
                }
                BookmarkChange::Retracted { room } => saved.bookmarks.retain(|b| &b.room != room),
            });
        }
        self.emit_bookmarks();
        for change in changes {
            match change {
                BookmarkChange::Added { bookmark } | BookmarkChange::Changed { bookmark } if bookmark.autojoin => self.autojoin(&bookmark),
                BookmarkChange::Added { .. } => {}
                BookmarkChange::Changed { bookmark } => self.leave_autojoined(&bookmark.room).await,
                BookmarkChange::Retracted { room } => self.leave_autojoined(&room).await,
            }
        }
    }

    /// Joins the bookmark's room unless we are in it (or joining it) already.
    fn autojoin(&self, bookmark: &Bookmark) {
        // A room kept from before (rejoined by the room core after every new session) counts.
        let in_room = self.room(&bookmark.room).is_some_and(|r| match &r.state {
            RoomState::Left(reason) => crate::pipeline::muc::rejoins_after(reason),
            _ => true,
        });
        if in_room {
            return;
        }
        let room = bookmark.room.clone();
        self.save(|saved| {
            saved.autojoined.insert(room.clone());
        });
        let nick = bookmark.nick.clone().unwrap_or_else(|| self.account().node().map(|n| n.to_string()).unwrap_or_else(|| "me".into()));
        let (session, password) = (self.clone(), bookmark.password.clone());
        tokio::spawn(async move {
            if let Err(error) = session.join_room(&room, &nick, password.as_deref()).await {
                tracing::info!(%error, room, "bookmarked room not joined");
            }
        });
    }

    /// The user left `room`: its bookmark stops joining it, here and on our other devices
    /// (XEP-0402 §5.3: autojoin off), so it does not come back at the next session.
    pub(super) fn room_left(&self, room: &str) {
        self.save(|saved| {
            saved.autojoined.remove(room);
        });
        let Some(bookmark) = self.bookmarks().into_iter().find(|b| b.room == room && b.autojoin) else { return };
        let session = self.clone();
        // In a task of its own: the caller may hold the bookmarks' turn (a retraction leaving).
        tokio::spawn(async move {
            if let Err(error) = session.set_bookmark(Bookmark { autojoin: false, ..bookmark }).await {
                tracing::info!(%error, "autojoin of a room we left not turned off");
            }
        });
    }

    async fn leave_autojoined(&self, room: &str) {
        let mut ours = false;
        self.save(|saved| ours = saved.autojoined.remove(room));
        if ours && self.room(room).is_some() {
            if let Err(error) = self.leave_room(room).await {
                tracing::info!(%error, room, "room of a removed bookmark not left");
            }
        }
    }

    fn save(&self, change: impl FnOnce(&mut Saved)) {
        let json = {
            let mut saved = self.shared.bookmarks.saved.lock().unwrap();
            change(&mut saved);
            on_disk(&saved)
        };
        if let Err(error) = self.shared.store.set_setting(SETTING, &json) {
            tracing::warn!(%error, "bookmarks not stored");
        }
    }

    fn emit_bookmarks(&self) {
        let _ = self.shared.events.send(Event::BookmarksChanged { bookmarks: self.bookmarks() });
    }
}

/// What is stored: everything but room passwords, which never go to disk.
fn on_disk(saved: &Saved) -> String {
    let mut saved = saved.clone();
    for bookmark in &mut saved.bookmarks {
        bookmark.password = None;
    }
    serde_json::to_string(&saved).expect("bookmarks serialize")
}

fn bookmark_error(error: BookmarkError) -> EngineError {
    match error {
        BookmarkError::PrivacyNotSupported => EngineError::PrivacyNotSupported,
        BookmarkError::InvalidRoom { room } => EngineError::InvalidJid { input: room, reason: "a room address has a name before the @".into() },
        BookmarkError::InvalidNick { nick } => EngineError::invalid("nickname", format!("'{nick}' cannot be used as a nickname")),
        BookmarkError::Server { detail } => EngineError::ServerError { condition: "bookmark".into(), text: Some(detail) },
    }
}

impl Actor {
    /// A PEP bookmark event; `true` when the message was one. Only our own account may change
    /// our bookmarks: anything else is dropped here (a forged push must join nothing).
    pub(super) fn on_bookmark_event(&mut self, message: &XmppMessage) -> bool {
        let own: &BareJid = &self.shared.account;
        match bookmarks::event(message, own) {
            None => false,
            Some(Err(rejection)) => {
                tracing::warn!(%rejection, "bookmark event rejected");
                true
            }
            Some(Ok(update)) => {
                tracing::debug!(?update, "bookmark event");
                let session = Session { shared: self.shared.clone() };
                tokio::spawn(async move { session.apply_update(update).await });
                true
            }
        }
    }
}


#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_bookmarks_keep_everything_but_passwords_and_load_back() {
        let bookmark = Bookmark { room: "club@muc.example.org".into(), name: Some("Club".into()), nick: Some("me".into()), password: Some("s3cret".into()), autojoin: true, extensions: None };
        let saved = Saved { bookmarks: vec![bookmark.clone()], autojoined: ["club@muc.example.org".to_string()].into() };
        let json = on_disk(&saved);
        assert!(!json.contains("s3cret"), "{json}");
        let store = Store::open_in_memory().unwrap();
        store.set_setting(SETTING, &json).unwrap();
        let loaded = BookmarkState::load(&store).saved.into_inner().unwrap();
        assert_eq!(loaded.bookmarks, [Bookmark { password: None, ..bookmark }]);
        assert!(loaded.autojoined.contains("club@muc.example.org"));
    }

    #[test]
    fn a_refused_private_publish_is_privacy_not_supported_never_a_plain_error() {
        assert_eq!(bookmark_error(BookmarkError::PrivacyNotSupported), EngineError::PrivacyNotSupported);
        assert_eq!(bookmark_error(BookmarkError::InvalidRoom { room: "x".into() }).code(), "invalid_jid");
    }
}
