//! What the commands print: the JSON shapes (documented in docs/cli.md) and the human text.

use std::io::Write;

use chrono::{Local, TimeZone};
use rapport_engine::types::{
    Availability, ContactPresence, Conversation, DeliveryState, Direction, Message, RosterItem, SearchHit,
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
        Event::MessagesReceived { messages } => messages.iter().map(|m| tagged("message", m)).collect(),
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
        Event::Error { error } => {
            let mut value = error_json(error);
            if let Value::Object(map) = &mut value {
                map.insert("type".into(), Value::String("error".into()));
            }
            vec![value]
        }
        Event::MessageSent { .. } | Event::ConversationsChanged { .. } => vec![],
    }
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
        }
    }

    #[test]
    fn each_received_message_is_one_flat_line() {
        let mut second = message();
        second.id = 8;
        let lines = event_lines(&Event::MessagesReceived { messages: vec![message(), second] });
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
