//! Group chat (XEP-0045), the public side: discovering, joining and leaving rooms, occupants,
//! room messages, nicks and subjects. The actor's side is `room_actor.rs`, the room archive
//! `room_sync.rs`, the stanzas and rules `pipeline/muc.rs`.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::sync::oneshot;
use xmpp_parsers::disco::{DiscoInfoQuery, DiscoItemsQuery, DiscoItemsResult};
use xmpp_parsers::jid::{BareJid, Jid};
use xmpp_parsers::minidom::rxml::xml_ncname;
use xmpp_parsers::minidom::Element;

use super::{Command, Session};
use crate::error::{EngineError, Result};
use crate::pipeline::muc;
use crate::types::{Affiliation, Message, Occupant, Role, Room, RoomListing, RoomState};

/// How long joining may take before `join_room` gives up (the room may still answer later).
const JOIN_TIMEOUT: Duration = Duration::from_secs(30);
/// Rooms whose disco#info `rooms_on_service` asks for their occupant count, at most.
const ROOM_INFO_QUERIES: usize = 20;

/// A room and who is in it, as the snapshot keeps them.
#[derive(Debug, Clone)]
pub(crate) struct RoomView {
    pub room: Room,
    pub occupants: BTreeMap<String, Occupant>,
}

impl RoomView {
    pub fn new(jid: &str, nick: &str) -> Self {
        let room = Room {
            jid: jid.to_owned(),
            nick: nick.to_owned(),
            name: None,
            subject: None,
            state: RoomState::Joining,
            role: Role::None,
            affiliation: Affiliation::None,
            occupant_id: None,
        };
        Self { room, occupants: BTreeMap::new() }
    }
}

/// A join the room confirmed; `created`: the room did not exist before (status 201).
#[derive(Debug, Clone)]
pub(crate) struct Joined {
    pub room: Room,
    pub created: bool,
}

pub(crate) fn parse_room_jid(input: &str) -> Result<BareJid> {
    let jid = crate::config::parse_contact_jid(input)?;
    if jid.node().is_none() {
        return Err(EngineError::InvalidJid { input: input.into(), reason: "a room address has a name before the @".into() });
    }
    Ok(jid)
}

impl Session {
    /// The rooms a MUC service (e.g. `conference.example.org`) lists (XEP-0030 disco#items),
    /// with the name and, for the first few, the occupant count from each room's disco#info.
    pub async fn rooms_on_service(&self, service: &str) -> Result<Vec<RoomListing>> {
        let to: Jid = service.parse().map_err(|e: xmpp_parsers::jid::Error| EngineError::InvalidJid { input: service.into(), reason: e.to_string() })?;
        let answer = self.iq(Some(to), false, DiscoItemsQuery { node: None, rsm: None }.into()).await?;
        let items = answer.ok_or_else(|| EngineError::protocol("empty disco#items answer"))?;
        let items = DiscoItemsResult::try_from(items).map_err(EngineError::protocol)?;
        let listings = items.items.into_iter().enumerate().map(|(index, item)| async move {
            let mut listing = RoomListing {
                jid: item.jid.to_string(),
                name: item.name.map(|n| crate::pipeline::clean_text(&n, crate::pipeline::MAX_TEXT_CHARS)),
                occupants: None,
            };
            if index < ROOM_INFO_QUERIES {
                if let Ok(Some(info)) = self.iq(Some(item.jid), false, DiscoInfoQuery { node: None }.into()).await {
                    let (name, occupants) = muc::room_info(&info);
                    listing.name = name.or(listing.name);
                    listing.occupants = occupants;
                }
            }
            listing
        });
        // The room infos are asked all at once (they are few: `ROOM_INFO_QUERIES`).
        let listings = futures::future::join_all(listings).await;
        Ok(listings)
    }

    /// Joins a room as `nick` (creating it, as an instant room with the default configuration,
    /// if it does not exist), and catches up with its archive in the background. The room is
    /// rejoined after every new session until `leave_room`. A password is kept in memory only:
    /// after a restart of the app, a protected room needs `join_room` again.
    pub async fn join_room(&self, room: &str, nick: &str, password: Option<&str>) -> Result<Room> {
        let room = parse_room_jid(room)?;
        let nick = muc::occupant_jid(&room, nick)?.resource().to_string();
        let (reply, answer) = oneshot::channel();
        self.command(Command::JoinRoom { room: room.clone(), nick, password: password.map(str::to_owned), reply }).await?;
        match tokio::time::timeout(JOIN_TIMEOUT, answer).await {
            Err(_) => Err(EngineError::Timeout { stage: format!("joining {room}") }),
            Ok(Err(_)) => Err(EngineError::NotConnected),
            Ok(Ok(joined)) => joined.map(|joined| joined.room),
        }
    }

    /// Leaves the room for good (it is not rejoined); its history stays.
    pub async fn leave_room(&self, room: &str) -> Result<()> {
        let room = parse_room_jid(room)?;
        let (reply, answer) = oneshot::channel();
        self.command(Command::LeaveRoom { room: room.clone(), reply }).await?;
        answer.await.map_err(|_| EngineError::NotConnected)??;
        self.room_left(room.as_str());
        Ok(())
    }

    /// The rooms we are in, joining, or were removed from (see `Room::state`).
    pub fn rooms(&self) -> Vec<Room> {
        self.shared.snapshot.lock().unwrap().rooms.values().map(|view| view.room.clone()).collect()
    }

    pub fn room(&self, room: &str) -> Option<Room> {
        let key = parse_room_jid(room).ok()?.to_string();
        self.shared.snapshot.lock().unwrap().rooms.get(&key).map(|view| view.room.clone())
    }

    /// Who is in the room, by nick, as its presence says (empty unless joined).
    pub fn occupants(&self, room: &str) -> Vec<Occupant> {
        let Ok(room) = parse_room_jid(room) else { return Vec::new() };
        let snapshot = self.shared.snapshot.lock().unwrap();
        snapshot.rooms.get(room.as_str()).map(|view| view.occupants.values().cloned().collect()).unwrap_or_default()
    }

    /// Stores our message (pending) and sends it to the room, now or once (re)joined (offline,
    /// or while joining, it waits in the outbox). It is `sent` when the server acknowledged it
    /// or the room sent it back to us. `NotInRoom` for a room we left or were removed from.
    pub async fn send_room_message(&self, room: &str, body: &str) -> Result<Message> {
        let room = parse_room_jid(room)?;
        if body.trim().is_empty() {
            return Err(EngineError::invalid("message", "the message is empty"));
        }
        if body.len() > crate::pipeline::MAX_BODY_BYTES {
            return Err(EngineError::invalid("message", "the message is too long"));
        }
        let (reply, answer) = oneshot::channel();
        self.command(Command::SendRoomMessage { room, body: body.to_owned(), reply }).await?;
        answer.await.map_err(|_| EngineError::NotConnected)?
    }

    /// Changes our nick in the room; fails with `NicknameConflict` when it is taken.
    pub async fn change_nick(&self, room: &str, nick: &str) -> Result<Room> {
        let room = parse_room_jid(room)?;
        let nick = muc::occupant_jid(&room, nick)?.resource().to_string();
        let (reply, answer) = oneshot::channel();
        self.command(Command::ChangeNick { room: room.clone(), nick, reply }).await?;
        match tokio::time::timeout(JOIN_TIMEOUT, answer).await {
            Err(_) => Err(EngineError::Timeout { stage: format!("changing the nickname in {room}") }),
            Ok(Err(_)) => Err(EngineError::NotConnected),
            Ok(Ok(result)) => result,
        }
    }

    /// Sets the room's subject (empty clears it); `RoomForbidden` when we may not.
    pub async fn set_subject(&self, room: &str, subject: &str) -> Result<()> {
        let room = parse_room_jid(room)?;
        let subject = crate::pipeline::clean_text(subject, crate::pipeline::MAX_TEXT_CHARS);
        let (reply, answer) = oneshot::channel();
        self.command(Command::SetSubject { room: room.clone(), subject, reply }).await?;
        match tokio::time::timeout(JOIN_TIMEOUT, answer).await {
            Err(_) => Err(EngineError::Timeout { stage: format!("setting the subject of {room}") }),
            Ok(Err(_)) => Err(EngineError::NotConnected),
            Ok(Ok(result)) => result,
        }
    }

    /// Checks now that every joined room still knows us (XEP-0410 self-ping; also done by itself
    /// after 5 minutes of a room's silence and after a resumption); a room that forgot us is
    /// joined again. Worth calling when the machine wakes up.
    pub async fn check_rooms(&self) -> Result<()> {
        self.command(Command::CheckRooms).await
    }

    /// Submits the room's configuration form (XEP-0045 §10.2) with these fields set, e.g.
    /// `("muc#roomconfig_persistentroom", ["1"])`; fields not named keep their values.
    pub async fn configure_room(&self, room: &str, fields: &[(&str, &[&str])]) -> Result<()> {
        let room = parse_room_jid(room)?;
        let form = config_form(fields);
        let query = Element::builder("query", muc::NS_MUC_OWNER).append(form).build();
        self.iq(Some(Jid::from(room.clone())), true, query).await.map(|_| ()).map_err(|error| room_error(&room, error))
    }

    /// The instant-room configuration a room we created needs before others can join.
    pub(crate) async fn accept_default_config(&self, room: &BareJid) -> Result<()> {
        self.iq(Some(Jid::from(room.clone())), true, muc::instant_room_config()).await.map(|_| ())
    }
}

fn config_form(fields: &[(&str, &[&str])]) -> Element {
    const DATA: &str = "jabber:x:data";
    let field = |var: &str, values: &[&str], hidden: bool| {
        let mut field = Element::builder("field", DATA).attr(xml_ncname!("var").into(), var);
        if hidden {
            field = field.attr(xml_ncname!("type").into(), "hidden");
        }
        values.iter().fold(field, |f, v| f.append(Element::builder("value", DATA).append(*v))).build()
    };
    let mut form = Element::builder("x", DATA).attr(xml_ncname!("type").into(), "submit");
    form = form.append(field("FORM_TYPE", &["http://jabber.org/protocol/muc#roomconfig"], true));
    for (var, values) in fields {
        form = form.append(field(var, values, false));
    }
    form.build()
}

/// A refused owner or moderator request in people's words.
pub(crate) fn room_error(room: &BareJid, error: EngineError) -> EngineError {
    match error {
        EngineError::ServerError { condition, text } if condition == "Forbidden" || condition == "NotAllowed" => {
            EngineError::RoomForbidden { room: room.to_string(), text }
        }
        EngineError::ServerError { condition, .. } if condition == "ItemNotFound" => EngineError::RoomNotFound { room: room.to_string() },
        other => other,
    }
}
