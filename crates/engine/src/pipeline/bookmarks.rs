//! Room bookmarks: XEP-0402 native PEP bookmarks (`urn:xmpp:bookmarks:1`, one item per room, the
//! item id is the room's JID), read from XEP-0048 storage (private XML storage, XEP-0049, or the
//! legacy `storage:bookmarks` PEP node) when the server has no native bookmarks.
//!
//! Bookmarks decide which rooms we join on our own, so a bookmark event is accepted only from our
//! own account: a forged push would force us into a room (Dino CVE-2023-28686). They are private,
//! so they are published only with publish-options the server honours (whitelist access); a
//! server that cannot is an error, never a reason to publish without them (Converse
//! CVE-2018-6591).

use serde::{Deserialize, Serialize};
use xmpp_parsers::bookmarks::Storage;
use xmpp_parsers::bookmarks2::{Conference, Extensions};
use xmpp_parsers::data_forms::{DataForm, DataFormType, Field, FieldType};
use xmpp_parsers::jid::{BareJid, ResourcePart};
use xmpp_parsers::message::Message as XmppMessage;
use xmpp_parsers::minidom::Element;
use xmpp_parsers::ns;
use xmpp_parsers::private::Query as PrivateQuery;
use xmpp_parsers::pubsub::event::Payload as EventPayload;
use xmpp_parsers::pubsub::pubsub::{Item, Items, Publish, PublishOptions, Retract};
use xmpp_parsers::pubsub::{Event, ItemId, NodeName, PubSub};
use xmpp_parsers::stanza_error::{DefinedCondition, StanzaError};

use super::iq_request::{condition_name, IqRequest};
use super::{clean_text, is_own_account, Rejection, MAX_TEXT_CHARS};
use crate::error::EngineError;

pub const NODE: &str = ns::BOOKMARKS2;
/// XEP-0048 bookmarks published through PEP (the node some clients used before XEP-0402).
pub const LEGACY_NODE: &str = ns::BOOKMARKS;
/// More bookmarks than this are not read (a list that large is an attack or an accident).
pub const MAX_BOOKMARKS: usize = 1000;
/// Other clients' extensions are kept (XEP-0402 §3: they MUST be preserved) up to this size.
const MAX_EXTENSIONS_CHARS: usize = 16 * 1024;
const MAX_PASSWORD_CHARS: usize = 1024;
const PUBLISH_OPTIONS: &str = "http://jabber.org/protocol/pubsub#publish-options";
const PUBSUB_ERRORS: &str = "http://jabber.org/protocol/pubsub#errors";

/// A room the user keeps, with how to join it.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bookmark {
    /// The room's bare JID.
    pub room: String,
    pub name: Option<String>,
    pub nick: Option<String>,
    pub password: Option<String>,
    pub autojoin: bool,
    /// Other clients' `<extensions/>` as XML, published again unchanged (never shown).
    #[serde(skip)]
    #[cfg_attr(feature = "ts", ts(skip))]
    pub extensions: Option<String>,
}

/// What a bookmark event or a fresh list means for the stored bookmarks.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum BookmarkChange {
    Added { bookmark: Bookmark },
    Changed { bookmark: Bookmark },
    Retracted { room: String },
}

/// What one PEP notification says, before it is compared with what we know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BookmarkUpdate {
    /// XEP-0402: these rooms were published (added or changed) or retracted.
    Items { published: Vec<Bookmark>, retracted: Vec<String> },
    /// The whole list is now this one (XEP-0048 via PEP publishes the complete list).
    Replaced(Vec<Bookmark>),
    /// The node was purged or deleted: no bookmarks.
    Cleared,
}

/// Why a bookmark could not be saved, in words for people.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum BookmarkError {
    #[error("The server cannot keep bookmarks private, so they were not saved.")]
    PrivacyNotSupported,
    #[error("'{room}' is not a room address.")]
    InvalidRoom { room: String },
    #[error("'{nick}' cannot be used as a nickname.")]
    InvalidNick { nick: String },
    #[error("The server could not save the bookmark: {detail}")]
    Server { detail: String },
}

/// Where the account's bookmarks live, from the features of our own account (disco#info to our
/// bare JID): servers announcing `urn:xmpp:bookmarks:1#compat` keep both forms in step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BookmarkSource {
    Native,
    PrivateStorage,
}

pub fn source(account_features: &[&str]) -> BookmarkSource {
    if account_features.iter().any(|f| *f == ns::BOOKMARKS2_COMPAT || *f == ns::BOOKMARKS2_COMPAT_PEP) {
        BookmarkSource::Native
    } else {
        BookmarkSource::PrivateStorage
    }
}

/// The request for all native bookmarks (to our own account).
pub fn items_request() -> IqRequest {
    IqRequest::get(None, PubSub::Items(Items::new(NODE)).into())
}

/// The request for XEP-0048 bookmarks some clients published through PEP instead.
pub fn legacy_items_request() -> IqRequest {
    IqRequest::get(None, PubSub::Items(Items::new(LEGACY_NODE)).into())
}

/// The request for XEP-0048 bookmarks in private XML storage.
pub fn private_storage_request() -> IqRequest {
    IqRequest::get(None, PrivateQuery { storage: Storage::new() }.into())
}

/// The answer to `items_request` or `legacy_items_request`: every well-formed bookmark (others
/// are skipped).
pub fn parse_items(payload: Element) -> Result<Vec<Bookmark>, Rejection> {
    match PubSub::try_from(payload).map_err(|e| malformed(e.to_string()))? {
        PubSub::Items(items) if items.node.0 == LEGACY_NODE => {
            let storage = items.items.into_iter().filter_map(|item| item.payload).find_map(|p| Storage::try_from(p).ok());
            Ok(storage.map(legacy_bookmarks).unwrap_or_default())
        }
        PubSub::Items(items) => Ok(items
            .items
            .into_iter()
            .take(MAX_BOOKMARKS)
            .filter_map(|item| native_bookmark(item.id.as_ref(), item.payload))
            .collect()),
        _ => Err(malformed("not an items answer".into())),
    }
}

/// The answer to `private_storage_request`.
pub fn parse_private_storage(payload: Element) -> Result<Vec<Bookmark>, Rejection> {
    let query = PrivateQuery::try_from(payload).map_err(|e| malformed(e.to_string()))?;
    Ok(legacy_bookmarks(query.storage))
}

/// A bookmark event in a message (`None`: the message carries none). Accepted only from our own
/// account (no `from`, or our bare JID).
pub fn event(message: &XmppMessage, own: &BareJid) -> Option<Result<BookmarkUpdate, Rejection>> {
    let event = message.payloads.iter().find(|p| p.is("event", ns::PUBSUB_EVENT))?;
    let node = event.children().next().and_then(|c| c.attr("node"))?;
    if node != NODE && node != LEGACY_NODE {
        return None;
    }
    if !is_own_account(message.from.as_ref(), own) {
        let from = message.from.as_ref().map(|j| j.to_string()).unwrap_or_default();
        return Some(Err(Rejection::ForeignPepEvent { from, node: node.to_owned() }));
    }
    Some(match Event::try_from(event.clone()) {
        Ok(event) => Ok(update(event.payload)),
        Err(error) => Err(malformed(error.to_string())),
    })
}

fn update(payload: EventPayload) -> BookmarkUpdate {
    match payload {
        EventPayload::Items { node, published, retracted } if node.0 == LEGACY_NODE => {
            // The legacy node holds one item, the complete list; retracting it empties the list.
            if published.is_empty() && !retracted.is_empty() {
                return BookmarkUpdate::Cleared;
            }
            match published.into_iter().filter_map(|item| item.payload).find_map(|p| Storage::try_from(p).ok()) {
                Some(storage) => BookmarkUpdate::Replaced(legacy_bookmarks(storage)),
                None => BookmarkUpdate::Items { published: vec![], retracted: vec![] },
            }
        }
        EventPayload::Items { published, retracted, .. } => BookmarkUpdate::Items {
            published: published.into_iter().take(MAX_BOOKMARKS).filter_map(|item| native_bookmark(item.id.as_ref(), item.payload)).collect(),
            retracted: retracted.iter().filter_map(|id| room_jid(&id.0)).map(|r| r.to_string()).take(MAX_BOOKMARKS).collect(),
        },
        EventPayload::Purge { .. } | EventPayload::Delete { .. } => BookmarkUpdate::Cleared,
        EventPayload::Configuration { .. } | EventPayload::Subscription { .. } => BookmarkUpdate::Items { published: vec![], retracted: vec![] },
    }
}

/// What an update changes, compared with the bookmarks we know.
pub fn changes(known: &[Bookmark], update: BookmarkUpdate) -> Vec<BookmarkChange> {
    match update {
        BookmarkUpdate::Items { published, retracted } => {
            let mut changes: Vec<_> = published.into_iter().filter_map(|b| change(known, b)).collect();
            changes.extend(retracted.into_iter().filter(|room| known.iter().any(|k| &k.room == room)).map(|room| BookmarkChange::Retracted { room }));
            changes
        }
        BookmarkUpdate::Replaced(list) => diff(known, list),
        BookmarkUpdate::Cleared => diff(known, Vec::new()),
    }
}

/// The changes from `known` to a complete new list (an items answer or a legacy list).
pub fn diff(known: &[Bookmark], list: Vec<Bookmark>) -> Vec<BookmarkChange> {
    let removed = known.iter().filter(|k| !list.iter().any(|b| b.room == k.room)).map(|k| BookmarkChange::Retracted { room: k.room.clone() });
    let removed: Vec<_> = removed.collect();
    list.into_iter().filter_map(|b| change(known, b)).chain(removed).collect()
}

fn change(known: &[Bookmark], bookmark: Bookmark) -> Option<BookmarkChange> {
    match known.iter().find(|k| k.room == bookmark.room) {
        None => Some(BookmarkChange::Added { bookmark }),
        Some(old) if *old != bookmark => Some(BookmarkChange::Changed { bookmark }),
        Some(_) => None,
    }
}

fn native_bookmark(id: Option<&ItemId>, payload: Option<Element>) -> Option<Bookmark> {
    let room = room_jid(&id?.0)?;
    let conference = Conference::try_from(payload?).ok()?;
    let extensions = conference.extensions.map(|e| String::from(&Element::from(e))).filter(|x| x.len() <= MAX_EXTENSIONS_CHARS);
    Some(bookmark(room, conference.name, conference.nick, conference.password, conference.autojoin, extensions))
}

fn legacy_bookmarks(storage: Storage) -> Vec<Bookmark> {
    storage
        .conferences
        .into_iter()
        .filter(|c| c.jid.node().is_some())
        .take(MAX_BOOKMARKS)
        .map(|c| bookmark(c.jid, c.name, c.nick, c.password, c.autojoin, None))
        .collect()
}

fn bookmark(room: BareJid, name: Option<String>, nick: Option<ResourcePart>, password: Option<String>, autojoin: bool, extensions: Option<String>) -> Bookmark {
    Bookmark {
        room: room.to_string(),
        name: name.map(|n| clean_text(&n, MAX_TEXT_CHARS)).filter(|n| !n.trim().is_empty()),
        nick: nick.map(|n| clean_text(n.as_str(), MAX_TEXT_CHARS)).filter(|n| !n.is_empty()),
        password: password.filter(|p| !p.is_empty() && p.chars().count() <= MAX_PASSWORD_CHARS),
        autojoin,
        extensions,
    }
}

/// A room is a bare JID with a local part (`room@service`).
fn room_jid(text: &str) -> Option<BareJid> {
    BareJid::new(text).ok().filter(|jid| jid.node().is_some())
}

fn malformed(detail: String) -> Rejection {
    Rejection::Malformed { what: "bookmarks", detail }
}

/// Publishes (adds or replaces) one bookmark on our own account, private to us. Refused unless
/// our account announces publish-options (XEP-0223 §2: without it, the options could be ignored
/// and the node left open).
pub fn publish(bookmark: &Bookmark, account_features: &[&str]) -> Result<IqRequest, BookmarkError> {
    publish_with(bookmark, account_features, false)
}

/// `publish` with only the options privacy needs (whitelist access, persistent items), for a
/// server that refuses the others (ejabberd 23.01 does not know `pubsub#max_items`).
pub fn publish_private_only(bookmark: &Bookmark, account_features: &[&str]) -> Result<IqRequest, BookmarkError> {
    publish_with(bookmark, account_features, true)
}

fn publish_with(bookmark: &Bookmark, account_features: &[&str], private_only: bool) -> Result<IqRequest, BookmarkError> {
    if !account_features.contains(&PUBLISH_OPTIONS) {
        return Err(BookmarkError::PrivacyNotSupported);
    }
    let room = room_jid(&bookmark.room).ok_or_else(|| BookmarkError::InvalidRoom { room: bookmark.room.clone() })?;
    let nick = match bookmark.nick.as_deref().filter(|n| !n.is_empty()) {
        Some(nick) => Some(ResourcePart::new(nick).map_err(|_| BookmarkError::InvalidNick { nick: nick.to_owned() })?.into_owned()),
        None => None,
    };
    let conference = Conference {
        autojoin: bookmark.autojoin,
        name: bookmark.name.clone().filter(|n| !n.is_empty()),
        nick,
        password: bookmark.password.clone().filter(|p| !p.is_empty()),
        extensions: bookmark.extensions.as_deref().and_then(|x| x.parse::<Element>().ok()).and_then(|e| Extensions::try_from(e).ok()),
    };
    let item = Item { id: Some(ItemId(room.to_string())), publisher: None, payload: Some(conference.into()) };
    let publish = Publish { node: NodeName(NODE.into()), items: vec![item] };
    let payload = PubSub::Publish { publish, publish_options: Some(PublishOptions { form: Some(private_node_options(private_only)) }) };
    Ok(IqRequest::set(None, payload.into()))
}

/// XEP-0402 §3: only we may read the node, every item is kept.
fn private_node_options(private_only: bool) -> DataForm {
    let option = |var: &str, value: &str| Field::new(var, FieldType::TextSingle).with_value(value);
    let mut options = vec![option("pubsub#persist_items", "true"), option("pubsub#access_model", "whitelist")];
    if !private_only {
        options.push(option("pubsub#max_items", "max"));
        options.push(option("pubsub#send_last_published_item", "never"));
    }
    DataForm::new(DataFormType::Submit, PUBLISH_OPTIONS, options)
}

/// Removes the bookmark of `room`.
pub fn retract(room: &BareJid) -> IqRequest {
    let item = Item { id: Some(ItemId(room.to_string())), publisher: None, payload: None };
    IqRequest::set(None, PubSub::Retract(Retract { node: NodeName(NODE.into()), notify: true, items: vec![item] }).into())
}

/// The error answer to `publish`. XEP-0060 §7.1.5: publish-options the server cannot honour come
/// back as `conflict` + `precondition-not-met`; the bookmark is then not saved at all.
pub fn publish_error(error: &StanzaError) -> BookmarkError {
    let precondition = error.other.as_ref().is_some_and(|o| o.is("precondition-not-met", PUBSUB_ERRORS));
    if precondition || error.defined_condition == DefinedCondition::Conflict {
        return BookmarkError::PrivacyNotSupported;
    }
    BookmarkError::Server { detail: condition_name(&format!("{:?}", error.defined_condition)) }
}

/// The same from the session's `EngineError::ServerError` (which keeps only the condition; a
/// `conflict` answer to a publish can only be the refused publish-options).
pub fn publish_error_from(error: &EngineError) -> BookmarkError {
    match error {
        EngineError::ServerError { condition, .. } if matches!(condition_name(condition).as_str(), "conflict" | "precondition-not-met") => {
            BookmarkError::PrivacyNotSupported
        }
        other => BookmarkError::Server { detail: other.to_string() },
    }
}

#[cfg(test)]
#[path = "bookmarks_tests.rs"]
mod tests;
