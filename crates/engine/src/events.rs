//! Typed events for a UI or a script. Bursts are coalesced: the session processes whatever
//! stanzas are ready as one batch and emits at most one event of each kind per batch.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::EngineError;

/// Shortest time between two flushes of coalesced events.
pub const FLUSH_INTERVAL: std::time::Duration = std::time::Duration::from_millis(50);
use crate::types::{ChatState, ContactPresence, Conversation, DeliveryState, Message, MessageId, Occupant, Room, RosterItem};

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ConnectionState {
    Connecting,
    Online { jid: String, sasl_mechanism: String, channel_binding: bool, resumed: bool },
    /// Lost the connection; the next attempt starts in `retry_in_ms`.
    Reconnecting {
        attempt: u32,
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        retry_in_ms: u64,
        #[cfg_attr(feature = "ts", ts(as = "Option<crate::error::ShownError>"))]
        reason: Option<EngineError>,
    },
    /// Stopped: by the user (`reason` empty) or by an error another attempt cannot fix.
    Offline {
        #[cfg_attr(feature = "ts", ts(as = "Option<crate::error::ShownError>"))]
        reason: Option<EngineError>,
    },
}

/// What happened in a session, for a UI or a script.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    ConnectionChanged { state: ConnectionState },
    /// The whole roster (after sign-in).
    RosterLoaded { items: Vec<RosterItem> },
    RosterUpdated { changed: Vec<RosterItem>, removed: Vec<String> },
    PresenceChanged { contacts: Vec<ContactPresence> },
    /// New messages, oldest first. `catch_up`: fetched from the server's archive after being
    /// offline (or sent by another device of ours meanwhile), so a UI should not notify for each
    /// one; `SyncFinished` tells how many arrived.
    MessagesReceived { messages: Vec<Message>, catch_up: bool },
    /// Our own message was stored (pending) and handed to the connection.
    MessageSent { message: Message },
    MessageUpdated {
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        id: MessageId,
        conversation: String,
        state: DeliveryState,
    },
    /// Our own message was deleted (a failed or pending one the user gave up on).
    MessageDeleted {
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        id: MessageId,
        conversation: String,
    },
    /// A contact's chat state (typing, paused…) in the 1:1 conversation with them.
    ChatStateChanged { conversation: String, state: ChatState },
    /// Catching up with the server's archive after a new session started.
    SyncStarted,
    /// Catch-up finished; `received` incoming messages were new (for one summary notification).
    SyncFinished { received: u32 },
    /// Only the conversations that changed.
    ConversationsChanged { conversations: Vec<Conversation> },
    SubscriptionRequest { from: String },
    /// A contact answered or withdrew a subscription (`subscribed`, `unsubscribed`, `unsubscribe`).
    SubscriptionChanged { jid: String, change: String },
    Error {
        #[cfg_attr(feature = "ts", ts(as = "crate::error::ShownError"))]
        error: EngineError,
    },
    /// A room's state, our nick/role/affiliation in it, or its subject changed (the whole room).
    RoomChanged { room: Room },
    /// Who is in a room changed: occupants that came or changed (latest state), and the nicks
    /// that left. Coalesced like presence: a room of thousands joining is a few events.
    OccupantsChanged { room: String, changed: Vec<Occupant>, left: Vec<String> },
    /// The account's room bookmarks (the whole list): fetched after a new session, or changed
    /// here or by another device of ours.
    BookmarksChanged { bookmarks: Vec<crate::pipeline::bookmarks::Bookmark> },
    /// Someone invites us to a room. Nothing is joined: the user decides (`join_room`, or
    /// `decline_invitation`).
    InvitationReceived { invitation: crate::pipeline::invitations::Invitation },
    /// `by` declined our invitation to `room` (relayed by the room).
    InvitationDeclined { room: String, by: String, reason: Option<String> },
    /// A room moderator removed a message (XEP-0425): it stays in history with an empty body and
    /// `retracted` set.
    MessageRetracted {
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        id: MessageId,
        conversation: String,
        reason: Option<String>,
    },
}

/// What one batch changed in one room's occupant list.
#[derive(Debug, Default)]
pub struct OccupantDelta {
    pub changed: BTreeMap<String, Occupant>,
    pub left: std::collections::BTreeSet<String>,
}

impl OccupantDelta {
    pub fn came(&mut self, occupant: Occupant) {
        self.left.remove(&occupant.nick);
        self.changed.insert(occupant.nick.clone(), occupant);
    }

    pub fn went(&mut self, nick: &str) {
        self.changed.remove(nick);
        self.left.insert(nick.to_owned());
    }
}

/// Collects what one batch changed, then turns it into a few events.
#[derive(Default)]
pub struct Batch {
    pub messages: Vec<Message>,
    pub presence: BTreeMap<String, ContactPresence>,
    pub roster_changed: BTreeMap<String, RosterItem>,
    pub roster_removed: Vec<String>,
    pub conversations: BTreeMap<String, ()>,
    pub rooms: BTreeMap<String, Room>,
    pub occupants: BTreeMap<String, OccupantDelta>,
    pub other: Vec<Event>,
}

impl Batch {
    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
            && self.presence.is_empty()
            && self.roster_changed.is_empty()
            && self.roster_removed.is_empty()
            && self.conversations.is_empty()
            && self.rooms.is_empty()
            && self.occupants.is_empty()
            && self.other.is_empty()
    }

    /// Adds what a later batch changed; later presence and roster items win.
    pub fn merge(&mut self, later: Batch) {
        self.messages.extend(later.messages);
        self.presence.extend(later.presence);
        for jid in &later.roster_removed {
            self.roster_changed.remove(jid);
        }
        for jid in later.roster_changed.keys() {
            self.roster_removed.retain(|removed| removed != jid);
        }
        self.roster_changed.extend(later.roster_changed);
        self.roster_removed.extend(later.roster_removed);
        self.conversations.extend(later.conversations);
        self.rooms.extend(later.rooms);
        for (room, delta) in later.occupants {
            let mine = self.occupants.entry(room).or_default();
            for nick in delta.left {
                mine.went(&nick);
            }
            for occupant in delta.changed.into_values() {
                mine.came(occupant);
            }
        }
        self.other.extend(later.other);
    }

    /// The events, with conversations resolved by `load` (the store's current rows).
    pub fn into_events(self, load: impl Fn(&str) -> Option<Conversation>) -> Vec<Event> {
        let mut events = self.other;
        // Occupants first: a room that is joined already lists who is in it.
        for (room, delta) in self.occupants {
            events.push(Event::OccupantsChanged { room, changed: delta.changed.into_values().collect(), left: delta.left.into_iter().collect() });
        }
        events.extend(self.rooms.into_values().map(|room| Event::RoomChanged { room }));
        if !self.roster_changed.is_empty() || !self.roster_removed.is_empty() {
            events.push(Event::RosterUpdated {
                changed: self.roster_changed.into_values().collect(),
                removed: self.roster_removed,
            });
        }
        if !self.presence.is_empty() {
            events.push(Event::PresenceChanged { contacts: self.presence.into_values().collect() });
        }
        if !self.messages.is_empty() {
            events.push(Event::MessagesReceived { messages: self.messages, catch_up: false });
        }
        let conversations: Vec<_> = self.conversations.keys().filter_map(|jid| load(jid)).collect();
        if !conversations.is_empty() {
            events.push(Event::ConversationsChanged { conversations });
        }
        events
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{Availability, ContactPresence};

    #[test]
    fn a_burst_of_presence_becomes_one_event_with_the_latest_state_per_contact() {
        let mut batch = Batch::default();
        for availability in [Availability::Available, Availability::Away, Availability::DoNotDisturb] {
            batch.presence.insert(
                "bob@x".into(),
                ContactPresence { jid: "bob@x".into(), availability, status: None, resources: vec![] },
            );
        }
        let events = batch.into_events(|_| None);
        assert_eq!(events.len(), 1);
        match &events[0] {
            Event::PresenceChanged { contacts } => {
                assert_eq!(contacts.len(), 1);
                assert_eq!(contacts[0].availability, Availability::DoNotDisturb);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn merging_keeps_the_latest_roster_state() {
        let item = |jid: &str| crate::types::RosterItem {
            jid: jid.into(),
            name: None,
            groups: vec![],
            subscription: crate::types::Subscription::Both,
            pending_out: false,
        };
        let mut first = Batch::default();
        first.roster_changed.insert("a@x".into(), item("a@x"));
        let mut second = Batch::default();
        second.roster_removed.push("a@x".into());
        second.roster_changed.insert("b@x".into(), item("b@x"));
        first.merge(second);
        assert_eq!(first.roster_changed.keys().collect::<Vec<_>>(), ["b@x"]);
        assert_eq!(first.roster_removed, ["a@x"]);
    }

    #[test]
    fn a_room_of_thousands_joining_is_one_occupant_event() {
        let mut batch = Batch::default();
        for i in 0..2000 {
            let occupant = Occupant {
                nick: format!("n{i}"),
                role: crate::types::Role::Participant,
                affiliation: crate::types::Affiliation::None,
                availability: Availability::Available,
                status: None,
                real_jid: None,
                occupant_id: None,
            };
            batch.occupants.entry("room@muc.x".into()).or_default().came(occupant);
        }
        batch.occupants.entry("room@muc.x".into()).or_default().went("n7");
        let events = batch.into_events(|_| None);
        assert_eq!(events.len(), 1);
        let Event::OccupantsChanged { changed, left, .. } = &events[0] else { panic!("{events:?}") };
        assert_eq!((changed.len(), left.as_slice()), (1999, ["n7".to_string()].as_slice()));
    }

    #[test]
    fn room_states_serialize_flat_with_their_reason() {
        use crate::types::{LeaveReason, RoomState};
        let kicked = RoomState::Left(LeaveReason::Kicked { actor: Some("mod".into()), text: None });
        let json = serde_json::to_value(&kicked).unwrap();
        assert_eq!((json["state"].as_str(), json["reason"].as_str(), json["actor"].as_str()), (Some("left"), Some("kicked"), Some("mod")));
        assert_eq!(serde_json::from_value::<RoomState>(json).unwrap(), kicked);
        let failed = RoomState::Left(LeaveReason::JoinFailed { error: EngineError::RoomFull { room: "r@m".into() } });
        let json = serde_json::to_value(&failed).unwrap();
        assert_eq!(json["error"]["code"], "room_full");
        assert_eq!(serde_json::to_value(RoomState::Joined).unwrap()["state"], "joined");
    }

    #[test]
    fn events_serialize_with_a_type_tag() {
        let json = serde_json::to_value(Event::SubscriptionRequest { from: "a@b".into() }).unwrap();
        assert_eq!(json["type"], "subscription_request");
        let state = serde_json::to_value(ConnectionState::Offline { reason: Some(EngineError::WrongPassword) }).unwrap();
        assert_eq!(state["state"], "offline");
        assert_eq!(state["reason"]["code"], "wrong_password");
    }
}
