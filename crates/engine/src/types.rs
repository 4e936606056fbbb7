//! Data transfer objects: everything the engine hands to a UI or a script.
//! They are plain serde types so the desktop app can generate TypeScript from them.

use serde::{Deserialize, Serialize};

/// Milliseconds since the Unix epoch, UTC.
pub type Millis = i64;

/// Local, stable id of a stored message (the SQLite row id).
pub type MessageId = i64;

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Incoming,
    Outgoing,
}

/// Where our own message is on its way to the peer.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Written locally, not yet acknowledged by the server.
    Pending,
    /// The server has it.
    Sent,
    /// The recipient's client has it (receipt / marker).
    Delivered,
    /// The recipient displayed it.
    Read,
    /// Sending failed for good.
    Failed,
    /// Not applicable (incoming messages).
    None,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sent => "sent",
            Self::Delivered => "delivered",
            Self::Read => "read",
            Self::Failed => "failed",
            Self::None => "none",
        }
    }

    pub fn parse(text: &str) -> Self {
        match text {
            "pending" => Self::Pending,
            "sent" => Self::Sent,
            "delivered" => Self::Delivered,
            "read" => Self::Read,
            "failed" => Self::Failed,
            _ => Self::None,
        }
    }
}

/// A message as stored and shown.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Local id of the stored message; pages of history are asked `before` an id.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub id: MessageId,
    /// Bare JID of the conversation (the contact).
    pub conversation: String,
    pub direction: Direction,
    /// Full JID (or bare JID) of the sender as received.
    pub sender: String,
    pub body: String,
    /// Milliseconds since the Unix epoch, UTC.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub timestamp: Millis,
    /// XEP-0359 origin-id chosen by the sender.
    pub origin_id: Option<String>,
    /// XEP-0359 stanza-id assigned by our own server (only stored when `by` is our account).
    pub stanza_id: Option<String>,
    pub state: DeliveryState,
    pub read: bool,
    /// Room messages: this message mentions us (an XEP-0372 reference to our occupant or
    /// account, or our nick as a word). Always false in 1:1 conversations and for our own.
    #[serde(default)]
    pub mentions_me: bool,
    /// A room moderator removed it (XEP-0425): `body` is empty, show a tombstone instead.
    #[serde(default)]
    pub retracted: bool,
}

/// A message about to be stored (no local id yet).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewMessage {
    pub conversation: String,
    pub direction: Direction,
    pub sender: String,
    pub body: String,
    pub timestamp: Millis,
    pub origin_id: Option<String>,
    pub stanza_id: Option<String>,
    pub state: DeliveryState,
    /// `timestamp` is the author's own clock (their delay, or a time-ordered origin-id), not a
    /// server stamp or our receive time; see `pipeline::time`.
    pub stamped_by_author: bool,
    /// The stanza's `id` attribute, which receipts and chat markers refer to (incoming only).
    pub remote_id: Option<String>,
    /// The sender asked for a displayed marker (XEP-0333 `<markable/>`).
    pub markable: bool,
    /// Room messages: the sender's XEP-0421 occupant id as the room's presence gave it to the
    /// sender's nick (never as the message claims); `None` when the nick was not in the room.
    pub occupant_id: Option<String>,
    /// See `Message::mentions_me`.
    #[serde(default)]
    pub mentions_me: bool,
}

/// XEP-0085 chat states: what the other side is doing in a conversation.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChatState {
    /// Paying attention to the conversation (also: stopped typing and sent).
    Active,
    /// Typing.
    Composing,
    /// Started typing, then stopped for a while.
    Paused,
    /// Not looking at the conversation.
    Inactive,
    /// Left the conversation.
    Gone,
}

impl ChatState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Composing => "composing",
            Self::Paused => "paused",
            Self::Inactive => "inactive",
            Self::Gone => "gone",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "active" => Self::Active,
            "composing" => Self::Composing,
            "paused" => Self::Paused,
            "inactive" => Self::Inactive,
            "gone" => Self::Gone,
            _ => return None,
        })
    }
}

/// One row of the conversation list.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conversation {
    pub jid: String,
    /// A 1:1 chat or a group chat (XEP-0045 room).
    pub kind: ConversationKind,
    pub last_message: Option<Message>,
    pub unread: u32,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub last_activity: Millis,
}

/// A full-text search hit.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchHit {
    pub message: Message,
    /// The body shortened around the match (`…` where text was left out), in pieces: plain
    /// text, never HTML; `matched` pieces are the words the query found.
    pub snippet: Vec<SnippetPart>,
}

/// A piece of a search snippet.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnippetPart {
    pub text: String,
    pub matched: bool,
}

impl SearchHit {
    /// The snippet as one line of text with the matches in `[` `]` (for terminals and logs).
    pub fn bracketed_snippet(&self) -> String {
        self.snippet
            .iter()
            .map(|part| if part.matched { format!("[{}]", part.text) } else { part.text.clone() })
            .collect()
    }
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Subscription {
    None,
    To,
    From,
    Both,
    Remove,
}

impl Subscription {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::To => "to",
            Self::From => "from",
            Self::Both => "both",
            Self::Remove => "remove",
        }
    }

    pub fn parse(text: &str) -> Self {
        match text {
            "to" => Self::To,
            "from" => Self::From,
            "both" => Self::Both,
            "remove" => Self::Remove,
            _ => Self::None,
        }
    }
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RosterItem {
    pub jid: String,
    pub name: Option<String>,
    pub groups: Vec<String>,
    pub subscription: Subscription,
    /// We asked to see their presence and they have not answered.
    pub pending_out: bool,
}

/// Presence "show" values, ordered from most to least available.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Availability {
    Chat,
    Available,
    Away,
    ExtendedAway,
    DoNotDisturb,
    Offline,
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourcePresence {
    pub resource: String,
    pub availability: Availability,
    pub status: Option<String>,
    pub priority: i8,
}

/// A contact's presence aggregated over its resources.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactPresence {
    pub jid: String,
    pub availability: Availability,
    pub status: Option<String>,
    pub resources: Vec<ResourcePresence>,
}

/// Our own presence as the user chose it. `Invisible` sends no available presence.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OwnPresence {
    Available,
    Chat,
    Away,
    ExtendedAway,
    DoNotDisturb,
    Invisible,
}

/// What a conversation is.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConversationKind {
    /// With one contact (bare JID).
    #[default]
    Chat,
    /// A group chat: the conversation is the room's bare JID, senders are `room@service/nick`.
    Room,
}

impl ConversationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Chat => "chat",
            Self::Room => "room",
        }
    }

    pub fn parse(text: &str) -> Self {
        if text == "room" { Self::Room } else { Self::Chat }
    }
}

/// XEP-0045 role: what an occupant may do in the room now.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Moderator,
    Participant,
    Visitor,
    #[default]
    None,
}

/// XEP-0045 affiliation: the occupant's standing with the room, across visits.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Affiliation {
    Owner,
    Admin,
    Member,
    Outcast,
    #[default]
    None,
}

/// Why we are no longer in a room.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum LeaveReason {
    /// We left.
    Left,
    /// A moderator kicked us (status 307); not rejoined.
    Kicked { actor: Option<String>, text: Option<String> },
    /// An admin banned us (status 301); not rejoined.
    Banned { actor: Option<String>, text: Option<String> },
    /// Our affiliation changed (321) or the room became members-only (322): rejoined if allowed.
    AffiliationChanged,
    MembersOnly,
    /// The room's service is shutting down (332): rejoined when it is back.
    ServiceShutdown,
    /// The room was destroyed.
    Destroyed { text: Option<String> },
    /// Joining (or rejoining) failed.
    JoinFailed {
        #[cfg_attr(feature = "ts", ts(as = "crate::error::ShownError"))]
        error: crate::error::EngineError,
    },
    /// The server dropped us from the room without saying why (an unavailable self-presence,
    /// or a self-ping that failed); rejoined.
    Dropped,
    /// Our session ended; rejoined with the next one.
    Offline,
}

/// Where we are with a room.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum RoomState {
    Joining,
    Joined,
    Left(LeaveReason),
}

/// A room we joined (or are joining, or were removed from).
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Room {
    /// The room's bare JID (also its conversation).
    pub jid: String,
    /// Our nickname in the room.
    pub nick: String,
    /// The room's name from its disco#info, when known.
    pub name: Option<String>,
    pub subject: Option<String>,
    pub state: RoomState,
    pub role: Role,
    pub affiliation: Affiliation,
    /// Our XEP-0421 occupant id, when the room gives one.
    pub occupant_id: Option<String>,
}

/// Someone in a room, as the room's presence tells (never as message payloads claim).
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Occupant {
    pub nick: String,
    pub role: Role,
    pub affiliation: Affiliation,
    pub availability: Availability,
    pub status: Option<String>,
    /// The occupant's real JID, when the room shows it to us (non-anonymous room, or we moderate).
    pub real_jid: Option<String>,
    /// XEP-0421 occupant id, stable across nick changes, when the room offers it.
    pub occupant_id: Option<String>,
}

/// A room found on a MUC service.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomListing {
    pub jid: String,
    pub name: Option<String>,
    /// How many are in it, when the room's disco#info says (asked for the first few rooms only).
    pub occupants: Option<u32>,
}
