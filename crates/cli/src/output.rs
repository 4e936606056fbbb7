//! What the commands print: the JSON shapes (documented in docs/cli.md) and the human text.

use std::io::Write;

use chrono::{Local, TimeZone};
use rapport_engine::types::{
    Affiliation, Availability, ChatState, ContactPresence, Conversation, DeliveryState, Direction, LeaveReason, Message, Occupant,
    Role, Room, RoomState, RosterItem, SearchHit,
};
use rapport_engine::{ConnectionState, EngineError, Event};
use serde_json::{json, Map, Value};

// ---- JSON ----

/// An engine error as JSON: its serde form (`code` and fields) plus the text for people.
pub fn error_json(error: &EngineError) -> Value {
    let mut value = serde_json::to_value(error).unwrap_or_else(|_| json!({ "code": error.code() }));
    if let Value::Object(map) = &mut value {
        map.insert("message".into(), Value::String(error.to_string()));
    }
    value
}

/// `{"type": kind, ...fields of value}`; `value` must serialize to an object.
fn tagged(kind: &str, value: impl serde::Serialize) -> Value {
    let mut map = Map::new();
    map.insert("type".into(), Value::String(kind.into()));
    if let Ok(Value::Object(fields)) = serde_json::to_value(value) {
        map.extend(fields);
    }
    Value::Object(map)
}

pub fn connection_json(state: &ConnectionState) -> Value {
    let mut value = tagged("connection", state);
    if let (Value::Object(map), Some(reason)) = (&mut value, state_reason(state)) {
        map.insert("reason".into(), error_json(reason));
    }
    value
}

fn state_reason(state: &ConnectionState) -> Option<&EngineError> {
    match state {
        ConnectionState::Reconnecting { reason, .. } | ConnectionState::Offline { reason } => reason.as_ref(),
        _ => None,
    }
}

/// The flat lines `listen --json` prints for one engine event: one line per message and per
/// contact whose presence changed. Events a listener has no use for give no line.
pub fn event_lines(event: &Event) -> Vec<Value> {
    match event {
        Event::ConnectionChanged { state } => vec![connection_json(state)],
        Event::MessagesReceived { messages, catch_up } => messages.iter().map(|m| message_json(m, *catch_up)).collect(),
        Event::PresenceChanged { contacts } => contacts.iter().map(|c| tagged("presence", c)).collect(),
        Event::SubscriptionRequest { from } => vec![json!({ "type": "subscription_request", "from": from })],
        Event::SubscriptionChanged { jid, change } => {
            vec![json!({ "type": "subscription_changed", "jid": jid, "change": change })]
        }
        Event::RosterLoaded { items } => vec![json!({ "type": "roster", "items": items })],
        Event::RosterUpdated { changed, removed } => {
            vec![json!({ "type": "roster_updated", "changed": changed, "removed": removed })]
        }
        Event::MessageUpdated { id, conversation, state } => {
            vec![json!({ "type": "message_state", "id": id, "conversation": conversation, "state": state })]
        }
        Event::MessageDeleted { id, conversation } => {
            vec![json!({ "type": "message_deleted", "id": id, "conversation": conversation })]
        }
        Event::ChatStateChanged { conversation, state } => {
            vec![json!({ "type": "chat_state", "conversation": conversation, "state": state })]
        }
        Event::RoomChanged { room } => vec![tagged("room", room)],
        Event::OccupantsChanged { room, changed, left } => {
            vec![json!({ "type": "occupants", "room": room, "changed": changed, "left": left })]
        }
        Event::BookmarksChanged { bookmarks } => vec![json!({ "type": "bookmarks", "bookmarks": bookmarks })],
        Event::InvitationReceived { invitation } => vec![tagged("invitation", invitation)],
        Event::InvitationDeclined { room, by, reason } => {
            vec![json!({ "type": "invitation_declined", "room": room, "by": by, "reason": reason })]
        }
        Event::MessageRetracted { id, conversation, reason } => {
            vec![json!({ "type": "message_retracted", "id": id, "conversation": conversation, "reason": reason })]
        }
        Event::SyncStarted => vec![json!({ "type": "sync_started" })],
        Event::SyncFinished { received } => vec![json!({ "type": "sync_finished", "received": received })],
        Event::Error { error } => {
            let mut value = error_json(error);
            if let Value::Object(map) = &mut value {
                map.insert("type".into(), Value::String("error".into()));
            }
            vec![value]
        }
        Event::MessageSent { .. } | Event::ConversationsChanged { .. } => vec![],
        // Group chat is not shown by the CLI yet.
    }
}

/// A received message as `listen --json` prints it: the stored message, `type` and `catch_up`.
fn message_json(message: &Message, catch_up: bool) -> Value {
    let mut value = tagged("message", message);
    if let Value::Object(map) = &mut value {
        map.insert("catch_up".into(), Value::Bool(catch_up));
    }
    value
}

/// The human lines `listen` prints for one engine event (`program` is how to call us, for hints;
/// `is_room` tells a room's conversation from a contact's).
pub fn event_text(event: &Event, program: &str, is_room: impl Fn(&str) -> bool) -> Vec<String> {
    match event {
        Event::ConnectionChanged { state } => vec![connection_line(state)],
        Event::MessagesReceived { messages, .. } => messages
            .iter()
            .map(|m| if is_room(&m.conversation) { room_message_line(m) } else { received_line(m) })
            .collect(),
        Event::RoomChanged { room } => vec![room_line(room)],
        Event::OccupantsChanged { room, changed, left } => occupant_lines(room, changed, left),
        Event::BookmarksChanged { bookmarks } => vec![format!("* {} bookmarked room{}", bookmarks.len(), if bookmarks.len() == 1 { "" } else { "s" })],
        Event::InvitationReceived { invitation } => vec![format!(
            "* {} invites you to {}{}. Join with `{program} join {}`.",
            invitation.from,
            invitation.room,
            invitation.reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default(),
            invitation.room
        )],
        Event::InvitationDeclined { room, by, reason } => {
            vec![format!("* {by} declined your invitation to {room}{}", reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default())]
        }
        Event::MessageRetracted { id, conversation, .. } => vec![format!("* Message #{id} in {conversation} was removed by a moderator")],
        Event::PresenceChanged { contacts } => contacts.iter().map(presence_line).collect(),
        Event::SubscriptionRequest { from } => vec![format!(
            "* {from} asks to see your presence. Answer with `{program} subscription approve {from}` or `… deny {from}`."
        )],
        Event::SubscriptionChanged { jid, change } => vec![subscription_line(jid, change)],
        Event::RosterLoaded { items } => {
            vec![format!("* {} contact{}", items.len(), if items.len() == 1 { "" } else { "s" })]
        }
        Event::RosterUpdated { changed, removed } => changed
            .iter()
            .map(|item| format!("* Contact {} updated (subscription {})", item.jid, item.subscription.as_str()))
            .chain(removed.iter().map(|jid| format!("* Contact {jid} removed")))
            .collect(),
        Event::MessageUpdated { id, conversation, state } => vec![format!("* Message #{id} to {conversation}: {}", state.as_str())],
        Event::MessageDeleted { id, conversation } => vec![format!("* Message #{id} to {conversation} deleted")],
        Event::ChatStateChanged { conversation, state } => vec![chat_state_line(conversation, *state)],
        Event::SyncStarted => vec!["* Catching up with the server's archive…".into()],
        Event::SyncFinished { received } => {
            vec![format!("* Caught up: {received} new message{}", if *received == 1 { "" } else { "s" })]
        }
        Event::Error { error } => vec![format!("* Error: {error}")],
        Event::MessageSent { .. } | Event::ConversationsChanged { .. } => vec![],
        // Group chat is not shown by the CLI yet.
    }
}

/// `* team@conference.example.org: joined as alice (moderator)`
pub fn room_line(room: &Room) -> String {
    let what = match &room.state {
        RoomState::Joining => format!("joining as {}…", room.nick),
        RoomState::Joined => format!("joined as {} ({})", room.nick, role_text(room.role)),
        RoomState::Left(reason) => leave_text(reason),
    };
    format!("* {}: {what}", room.jid)
}

fn leave_text(reason: &LeaveReason) -> String {
    let by = |actor: &Option<String>, text: &Option<String>| {
        let actor = actor.as_deref().map(|a| format!(" by {a}")).unwrap_or_default();
        let text = text.as_deref().map(|t| format!(": {t}")).unwrap_or_default();
        format!("{actor}{text}")
    };
    match reason {
        LeaveReason::Left => "left".into(),
        LeaveReason::Kicked { actor, text } => format!("you were kicked{}", by(actor, text)),
        LeaveReason::Banned { actor, text } => format!("you were banned{}", by(actor, text)),
        LeaveReason::AffiliationChanged => "removed: your affiliation changed (joining again if allowed)".into(),
        LeaveReason::MembersOnly => "removed: the room is now for members only".into(),
        LeaveReason::ServiceShutdown => "the group chat service is shutting down (joining again when it is back)".into(),
        LeaveReason::Destroyed { text } => format!("the room was destroyed{}", text.as_deref().map(|t| format!(": {t}")).unwrap_or_default()),
        LeaveReason::JoinFailed { error } => format!("could not join: {error}"),
        LeaveReason::Dropped => "the room dropped us (joining again)".into(),
        LeaveReason::Offline => "offline (joined again with the next session)".into(),
    }
}

/// Who came, changed or left; a crowd (a join of a big room) is one line.
fn occupant_lines(room: &str, changed: &[Occupant], left: &[String]) -> Vec<String> {
    if changed.len() + left.len() > 10 {
        return vec![format!("* {room}: {} occupants here or changed, {} left", changed.len(), left.len())];
    }
    changed
        .iter()
        .map(|o| format!("* {room}: {} is here ({}, {})", o.nick, role_text(o.role), availability_text(o.availability)))
        .chain(left.iter().map(|nick| format!("* {room}: {nick} left")))
        .collect()
}

/// `[14:03:12] team@conference.example.org <bob>: hello`
pub fn room_message_line(message: &Message) -> String {
    let nick = message.sender.split_once('/').map_or("", |(_, nick)| nick);
    format!("[{}] {} <{nick}>: {}", short_time(message.timestamp), message.conversation, indent_body(&message.body))
}

pub fn role_text(role: Role) -> &'static str {
    match role {
        Role::Moderator => "moderator",
        Role::Participant => "participant",
        Role::Visitor => "visitor",
        Role::None => "no role",
    }
}

pub fn affiliation_text(affiliation: Affiliation) -> &'static str {
    match affiliation {
        Affiliation::Owner => "owner",
        Affiliation::Admin => "admin",
        Affiliation::Member => "member",
        Affiliation::Outcast => "banned",
        Affiliation::None => "not affiliated",
    }
}

fn subscription_line(jid: &str, change: &str) -> String {
    match change {
        "subscribed" => format!("* {jid} accepted: you can now see their presence."),
        "unsubscribed" => format!("* {jid} refused or revoked your access to their presence."),
        "unsubscribe" => format!("* {jid} no longer wants to see your presence."),
        other => format!("* {jid}: subscription {other}"),
    }
}

/// `* bob@example.org is typing…`
pub fn chat_state_line(conversation: &str, state: ChatState) -> String {
    let doing = match state {
        ChatState::Composing => "is typing…",
        ChatState::Paused => "stopped typing",
        ChatState::Active => "is active",
        ChatState::Inactive => "is inactive",
        ChatState::Gone => "left the conversation",
    };
    format!("* {conversation} {doing}")
}

/// One roster entry with its presence, as `roster --json` prints it.
pub fn contact_json(item: &RosterItem, presence: &ContactPresence) -> Value {
    json!({
        "jid": item.jid,
        "name": item.name,
        "groups": item.groups,
        "subscription": item.subscription,
        "pending_out": item.pending_out,
        "availability": presence.availability,
        "status": presence.status,
        "resources": presence.resources,
    })
}

// ---- people ----

pub fn availability_text(availability: Availability) -> &'static str {
    match availability {
        Availability::Chat => "chatty",
        Availability::Available => "available",
        Availability::Away => "away",
        Availability::ExtendedAway => "extended away",
        Availability::DoNotDisturb => "do not disturb",
        Availability::Offline => "offline",
    }
}

/// Local time: `HH:MM:SS` today, else `YYYY-MM-DD HH:MM:SS`.
pub fn short_time(millis: i64) -> String {
    match Local.timestamp_millis_opt(millis).single() {
        Some(time) if time.date_naive() == Local::now().date_naive() => time.format("%H:%M:%S").to_string(),
        Some(time) => time.format("%Y-%m-%d %H:%M:%S").to_string(),
        None => millis.to_string(),
    }
}

/// Local date and time, always with the date.
pub fn full_time(millis: i64) -> String {
    match Local.timestamp_millis_opt(millis).single() {
        Some(time) => time.format("%Y-%m-%d %H:%M:%S").to_string(),
        None => millis.to_string(),
    }
}

/// Continuation lines of a multi-line body are indented under the first.
fn indent_body(body: &str) -> String {
    body.replace('\n', "\n    ")
}

fn bare(jid: &str) -> &str {
    jid.split_once('/').map_or(jid, |(bare, _)| bare)
}

/// `[14:03:12] bob@example.org: hello`
pub fn incoming_line(message: &Message) -> String {
    format!("[{}] {}: {}", short_time(message.timestamp), bare(&message.sender), indent_body(&message.body))
}

/// A received message; one sent by another device of ours says to whom:
/// `[14:03:12] alice@example.org → bob@example.org: hello`.
pub fn received_line(message: &Message) -> String {
    match message.direction {
        Direction::Incoming => incoming_line(message),
        Direction::Outgoing => format!(
            "[{}] {} → {}: {}",
            short_time(message.timestamp),
            bare(&message.sender),
            message.conversation,
            indent_body(&message.body)
        ),
    }
}

/// `#12 [2025-11-25 14:03:12] bob@example.org: hello` (outgoing ones carry their state).
pub fn history_line(message: &Message) -> String {
    let state = match (message.direction, message.state) {
        (Direction::Outgoing, DeliveryState::Sent | DeliveryState::None) => String::new(),
        (Direction::Outgoing, state) => format!(" ({})", state.as_str()),
        (Direction::Incoming, _) => String::new(),
    };
    format!(
        "#{} [{}] {}{}: {}",
        message.id,
        full_time(message.timestamp),
        bare(&message.sender),
        state,
        indent_body(&message.body)
    )
}

/// `#12 [2025-11-25 14:03:12] bob@example.org (with alice@x): …[match]…`
pub fn search_line(hit: &SearchHit) -> String {
    let message = &hit.message;
    format!(
        "#{} [{}] {} (in {}): {}",
        message.id,
        full_time(message.timestamp),
        bare(&message.sender),
        message.conversation,
        indent_body(&hit.bracketed_snippet())
    )
}

pub fn conversation_line(conversation: &Conversation) -> String {
    let unread = if conversation.unread > 0 { format!(" ({} unread)", conversation.unread) } else { String::new() };
    let last = conversation
        .last_message
        .as_ref()
        .map(|m| {
            let preview: String = m.body.replace('\n', " ").chars().take(60).collect();
            let ellipsis = if m.body.chars().count() > 60 { "…" } else { "" };
            format!(" — {}: {preview}{ellipsis}", bare(&m.sender))
        })
        .unwrap_or_default();
    format!("[{}] {}{}{}", full_time(conversation.last_activity), conversation.jid, unread, last)
}

pub fn presence_line(presence: &ContactPresence) -> String {
    let status = presence.status.as_deref().map(|s| format!(" ({s})")).unwrap_or_default();
    format!("* {} is {}{}", presence.jid, availability_text(presence.availability), status)
}

pub fn connection_line(state: &ConnectionState) -> String {
    match state {
        ConnectionState::Connecting => "* Connecting…".into(),
        ConnectionState::Online { jid, sasl_mechanism, channel_binding, resumed } => {
            let how = if *resumed { "resumed" } else { "online" };
            let binding = if *channel_binding { ", channel binding" } else { "" };
            format!("* {how} as {jid} ({sasl_mechanism}{binding})")
        }
        ConnectionState::Reconnecting { retry_in_ms, reason, .. } => {
            let reason = reason.as_ref().map(|r| format!(": {r}")).unwrap_or_default();
            if *retry_in_ms == 0 {
                format!("* Connection interrupted{reason}; reconnecting…")
            } else {
                format!("* Connection lost{reason}; retrying in {:.0} s…", *retry_in_ms as f64 / 1000.0)
            }
        }
        ConnectionState::Offline { reason: Some(reason) } => format!("* Offline: {reason}"),
        ConnectionState::Offline { reason: None } => "* Offline.".into(),
    }
}

/// A plain table: columns padded to their widest cell, two spaces apart.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut text = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                text.push_str(cell);
            } else {
                text.push_str(cell);
                text.push_str(&" ".repeat(widths[i] - cell.chars().count() + 2));
            }
        }
        text.trim_end().to_owned()
    };
    let mut out = line(header.to_vec());
    for row in rows {
        out.push('\n');
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

/// Writes one line to stdout and flushes it. A closed stdout (`| head`) is `Err(())`.
pub fn emit(line: &str) -> Result<(), ()> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{line}").and_then(|_| stdout.flush()).map_err(|_| ())
}

pub fn emit_json(value: &Value) -> Result<(), ()> {
    emit(&value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rapport_engine::types::{ResourcePresence, Subscription};

    fn message() -> Message {
        Message {
            id: 7,
            conversation: "bob@example.org".into(),
            direction: Direction::Incoming,
            sender: "bob@example.org/phone".into(),
            body: "hi\nthere".into(),
            timestamp: 1_700_000_000_000,
            origin_id: Some("o1".into()),
            stanza_id: None,
            state: DeliveryState::None,
            read: false,
            mentions_me: false,
            retracted: false,
        }
    }

    #[test]
    fn each_received_message_is_one_flat_line() {
        let mut second = message();
        second.id = 8;
        let lines = event_lines(&Event::MessagesReceived { messages: vec![message(), second], catch_up: false });
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["type"], "message");
        assert_eq!(lines[0]["id"], 7);
        assert_eq!(lines[0]["conversation"], "bob@example.org");
        assert_eq!(lines[0]["sender"], "bob@example.org/phone");
        assert_eq!(lines[0]["body"], "hi\nthere");
        assert_eq!(lines[0]["direction"], "incoming");
        assert_eq!(lines[1]["id"], 8);
        assert!(!lines[0].to_string().contains('\n'), "one physical line");
    }

    #[test]
    fn catch_up_messages_say_so() {
        let mut own = message();
        own.direction = Direction::Outgoing;
        own.sender = "alice@x/phone".into();
        let lines = event_lines(&Event::MessagesReceived { messages: vec![message(), own], catch_up: true });
        assert_eq!(lines[0]["catch_up"], true);
        assert_eq!(lines[1]["direction"], "outgoing");
        let live = &event_lines(&Event::MessagesReceived { messages: vec![message()], catch_up: false })[0];
        assert_eq!(live["catch_up"], false);
        let line = &event_lines(&Event::SyncFinished { received: 3 })[0];
        assert_eq!(line, &json!({"type": "sync_finished", "received": 3}));
        assert_eq!(event_lines(&Event::SyncStarted)[0], json!({"type": "sync_started"}));
    }

    #[test]
    fn receipts_markers_chat_states_and_deletions_are_lines() {
        for (state, name) in [(DeliveryState::Delivered, "delivered"), (DeliveryState::Read, "read"), (DeliveryState::Failed, "failed")] {
            let line = &event_lines(&Event::MessageUpdated { id: 4, conversation: "bob@x".into(), state })[0];
            assert_eq!(line, &json!({"type": "message_state", "id": 4, "conversation": "bob@x", "state": name}));
        }
        let line = &event_lines(&Event::ChatStateChanged { conversation: "bob@x".into(), state: ChatState::Composing })[0];
        assert_eq!(line, &json!({"type": "chat_state", "conversation": "bob@x", "state": "composing"}));
        let line = &event_lines(&Event::MessageDeleted { id: 5, conversation: "bob@x".into() })[0];
        assert_eq!(line, &json!({"type": "message_deleted", "id": 5, "conversation": "bob@x"}));
    }

    #[test]
    fn listen_text_for_receipts_chat_states_and_catch_up() {
        let text = |event: Event| event_text(&event, "rapport-cli", |_| false);
        assert_eq!(
            text(Event::MessageUpdated { id: 4, conversation: "bob@x".into(), state: DeliveryState::Read }),
            ["* Message #4 to bob@x: read"]
        );
        assert_eq!(text(Event::ChatStateChanged { conversation: "bob@x".into(), state: ChatState::Composing }), ["* bob@x is typing…"]);
        assert_eq!(text(Event::ChatStateChanged { conversation: "bob@x".into(), state: ChatState::Paused }), ["* bob@x stopped typing"]);
        assert_eq!(text(Event::SyncFinished { received: 1 }), ["* Caught up: 1 new message"]);
        assert_eq!(text(Event::SyncFinished { received: 2 }), ["* Caught up: 2 new messages"]);
        let mut own = message();
        own.direction = Direction::Outgoing;
        own.sender = "alice@x/phone".into();
        let lines = text(Event::MessagesReceived { messages: vec![message(), own], catch_up: true });
        assert!(lines[0].ends_with("] bob@example.org: hi\n    there"), "{}", lines[0]);
        assert!(lines[1].ends_with("] alice@x → bob@example.org: hi\n    there"), "{}", lines[1]);
        assert!(text(Event::SubscriptionRequest { from: "carol@x".into() })[0].contains("rapport-cli subscription approve carol@x"));
    }

    #[test]
    fn room_events_and_room_messages_are_lines() {
        let room = Room {
            jid: "team@muc.x".into(),
            nick: "alice".into(),
            name: None,
            subject: None,
            state: RoomState::Left(LeaveReason::Kicked { actor: Some("boss".into()), text: Some("spam".into()) }),
            role: Role::None,
            affiliation: Affiliation::None,
            occupant_id: None,
        };
        let text = |event: Event| event_text(&event, "rapport-cli", |jid| jid == "team@muc.x");
        assert_eq!(text(Event::RoomChanged { room: room.clone() }), ["* team@muc.x: you were kicked by boss: spam"]);
        assert_eq!(event_lines(&Event::RoomChanged { room })[0]["type"], "room");
        let bob = Occupant {
            nick: "bob".into(),
            role: Role::Moderator,
            affiliation: Affiliation::Owner,
            availability: Availability::Available,
            status: None,
            real_jid: None,
            occupant_id: None,
        };
        let one = text(Event::OccupantsChanged { room: "team@muc.x".into(), changed: vec![bob.clone()], left: vec!["carol".into()] });
        assert_eq!(one, ["* team@muc.x: bob is here (moderator, available)", "* team@muc.x: carol left"]);
        let crowd = text(Event::OccupantsChanged { room: "team@muc.x".into(), changed: vec![bob; 2000], left: vec![] });
        assert_eq!(crowd, ["* team@muc.x: 2000 occupants here or changed, 0 left"]);
        let mut said = message();
        said.conversation = "team@muc.x".into();
        said.sender = "team@muc.x/bob".into();
        let lines = text(Event::MessagesReceived { messages: vec![said], catch_up: false });
        assert!(lines[0].ends_with("] team@muc.x <bob>: hi\n    there"), "{}", lines[0]);
    }

    #[test]
    fn presence_and_subscription_lines() {
        let presence = ContactPresence {
            jid: "bob@x".into(),
            availability: Availability::Away,
            status: Some("lunch".into()),
            resources: vec![ResourcePresence {
                resource: "r".into(),
                availability: Availability::Away,
                status: Some("lunch".into()),
                priority: 0,
            }],
        };
        let line = &event_lines(&Event::PresenceChanged { contacts: vec![presence] })[0];
        assert_eq!(line["type"], "presence");
        assert_eq!(line["availability"], "away");
        assert_eq!(line["status"], "lunch");
        assert_eq!(line["resources"][0]["resource"], "r");
        let line = &event_lines(&Event::SubscriptionRequest { from: "carol@x".into() })[0];
        assert_eq!(line, &json!({"type": "subscription_request", "from": "carol@x"}));
        assert!(event_lines(&Event::ConversationsChanged { conversations: vec![] }).is_empty());
    }

    #[test]
    fn connection_lines_carry_the_error_code_and_text() {
        let line = connection_json(&ConnectionState::Offline { reason: Some(EngineError::WrongPassword) });
        assert_eq!(line["type"], "connection");
        assert_eq!(line["state"], "offline");
        assert_eq!(line["reason"]["code"], "wrong_password");
        assert_eq!(line["reason"]["message"], EngineError::WrongPassword.to_string());
        let line = connection_json(&ConnectionState::Online {
            jid: "a@x".into(),
            sasl_mechanism: "SCRAM-SHA-256".into(),
            channel_binding: false,
            resumed: false,
        });
        assert_eq!(line["state"], "online");
        assert_eq!(line["sasl_mechanism"], "SCRAM-SHA-256");
        let line = &event_lines(&Event::Error { error: EngineError::Storage { detail: "disk full".into() } })[0];
        assert_eq!(line["type"], "error");
        assert_eq!(line["code"], "storage");
        assert_eq!(line["detail"], "disk full");
    }

    #[test]
    fn roster_entries_merge_presence() {
        let item = RosterItem {
            jid: "bob@x".into(),
            name: Some("Bob".into()),
            groups: vec!["Work".into()],
            subscription: Subscription::Both,
            pending_out: false,
        };
        let presence =
            ContactPresence { jid: "bob@x".into(), availability: Availability::Offline, status: None, resources: vec![] };
        let value = contact_json(&item, &presence);
        assert_eq!(value["subscription"], "both");
        assert_eq!(value["availability"], "offline");
        assert_eq!(value["groups"][0], "Work");
        assert_eq!(value["name"], "Bob");
    }

    #[test]
    fn human_lines() {
        let text = history_line(&message());
        assert!(text.starts_with("#7 ["), "{text}");
        assert!(text.ends_with("bob@example.org: hi\n    there"), "{text}");
        let mut outgoing = message();
        outgoing.direction = Direction::Outgoing;
        outgoing.sender = "alice@x".into();
        outgoing.state = DeliveryState::Pending;
        assert!(history_line(&outgoing).contains("alice@x (pending): hi"));
        let table = table(&["A", "BB"], &[vec!["long cell".into(), "x".into()], vec!["y".into(), "".into()]]);
        assert_eq!(table, "A          BB\nlong cell  x\ny");
    }
}
