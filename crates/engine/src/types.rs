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
