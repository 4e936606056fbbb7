//! Group chat commands: rooms, join, leave, send --room.

use std::time::Duration;

use rapport_engine::types::{Occupant, Role, Room};
use rapport_engine::EngineError;
use serde_json::json;

use crate::exit::{CliResult, Failure};
use crate::online::{wait_sent, Online};
use crate::output;

/// `rooms [SERVICE]`: what the service lists, with names and occupant counts where known.
pub async fn list(online: &mut Online<'_>, service: Option<String>, json: bool) -> CliResult {
    let service = match service {
        Some(service) => service,
        None => online.session.muc_service().await?.ok_or_else(|| {
            Failure::failed("Your server announces no group chat service. Name one: `rooms conference.example.org`.")
        })?,
    };
    let rooms = online.session.rooms_on_service(&service).await?;
    if json {
        let _ = output::emit_json(&json!({ "service": service, "rooms": rooms }));
        return Ok(());
    }
    if rooms.is_empty() {
        eprintln!("No rooms on {service}.");
        return Ok(());
    }
    let rows: Vec<Vec<String>> = rooms
        .iter()
        .map(|room| {
            let occupants = room.occupants.map(|n| n.to_string()).unwrap_or_default();
            vec![room.jid.clone(), room.name.clone().unwrap_or_default(), occupants]
        })
        .collect();
    let _ = output::emit(&output::table(&["ROOM", "NAME", "OCCUPANTS"], &rows));
    Ok(())
}

/// `join ROOM`: joins (creating the room if needed), prints who is there; the room is joined
/// again at every sign-in until `leave`.
pub async fn join(online: &mut Online<'_>, room: &str, nick: Option<&str>, password: Option<&str>, json: bool) -> CliResult {
    let nick = match nick {
        Some(nick) => nick.to_owned(),
        None => online.session.account().node().map(|n| n.to_string()).unwrap_or_else(|| "rapport".into()),
    };
    let joined = online.session.join_room(room, &nick, password).await.map_err(|error| join_failure(online, room, error))?;
    let mut occupants = online.session.occupants(&joined.jid);
    occupants.sort_by_key(|o| (role_rank(o.role), o.nick.to_lowercase()));
    online.flush().await;
    let _ = if json {
        output::emit_json(&json!({ "room": joined, "occupants": occupants }))
    } else {
        output::emit(&joined_text(&joined, &occupants))
    };
    Ok(())
}

fn join_failure(online: &Online<'_>, room: &str, error: EngineError) -> Failure {
    let program = online.context.program();
    let hint = match &error {
        EngineError::NicknameConflict { .. } => format!(" Choose another with `{program} join {room} --nick NAME`."),
        EngineError::RoomPasswordWrong { .. } => format!(" Give it with `{program} join {room} --room-password-stdin`."),
        _ => String::new(),
    };
    let mut failure = Failure::from(error);
    failure.message.push_str(&hint);
    failure
}

fn role_rank(role: Role) -> u8 {
    match role {
        Role::Moderator => 0,
        Role::Participant => 1,
        Role::Visitor => 2,
        Role::None => 3,
    }
}

fn joined_text(room: &Room, occupants: &[Occupant]) -> String {
    let mut lines = vec![format!("Joined {} as {}.", room.jid, room.nick)];
    if let Some(subject) = room.subject.as_deref().filter(|s| !s.is_empty()) {
        lines.push(format!("Subject: {subject}"));
    }
    lines.push(format!("{} in the room:", occupants.len()));
    lines.extend(occupants.iter().map(|o| format!("  {} ({}, {})", o.nick, output::role_text(o.role), output::affiliation_text(o.affiliation))));
    lines.join("\n")
}

/// `leave ROOM`.
pub async fn leave(online: &mut Online<'_>, room: &str) -> CliResult {
    online.session.leave_room(room).await?;
    online.flush().await;
    let _ = output::emit(&format!("Left {room}; it is no longer joined at sign-in."));
    Ok(())
}

/// `send --room ROOM TEXT`: the room must be one we joined; the message goes out once the room
/// is joined again for this session, and counts as sent on the server's ack or the room's echo.
pub async fn send(online: &mut Online<'_>, room: &str, text: &str, timeout: Duration) -> CliResult {
    if online.session.room(room).is_none() {
        let program = online.context.program();
        return Err(Failure::usage(format!("You have not joined {room}. Join it first: `{program} join {room}`.")));
    }
    let message = online.session.send_room_message(room, text).await?;
    tracing::info!(id = message.id, "room message stored; waiting for the server");
    wait_sent(online, message.id, timeout).await
}
