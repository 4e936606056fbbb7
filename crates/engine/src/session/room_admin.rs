//! Moderating a room (XEP-0045 §8–10): roles (kick, voice), affiliations (ban, member, admin,
//! owner) and destroying it. A refusal is `RoomForbidden`; the room's presence then tells
//! everyone (us included) what changed.

use xmpp_parsers::jid::{BareJid, Jid};
use xmpp_parsers::minidom::rxml::xml_ncname;
use xmpp_parsers::minidom::Element;

use super::rooms::{parse_room_jid, room_error};
use super::Session;
use crate::error::Result;
use crate::pipeline::muc::{NS_MUC_ADMIN, NS_MUC_OWNER};
use crate::types::{Affiliation, Role};

fn role_str(role: Role) -> &'static str {
    match role {
        Role::Moderator => "moderator",
        Role::Participant => "participant",
        Role::Visitor => "visitor",
        Role::None => "none",
    }
}

fn affiliation_str(affiliation: Affiliation) -> &'static str {
    match affiliation {
        Affiliation::Owner => "owner",
        Affiliation::Admin => "admin",
        Affiliation::Member => "member",
        Affiliation::Outcast => "outcast",
        Affiliation::None => "none",
    }
}

/// `<query xmlns=muc#admin><item nick|jid=… role|affiliation=…><reason/></item></query>`
fn admin_item(item: xmpp_parsers::minidom::ElementBuilder, reason: Option<&str>) -> Element {
    let mut item = item;
    if let Some(reason) = reason.filter(|r| !r.trim().is_empty()) {
        item = item.append(Element::builder("reason", NS_MUC_ADMIN).append(reason));
    }
    Element::builder("query", NS_MUC_ADMIN).append(item.build()).build()
}

fn role_item(nick: &str, role: Role) -> xmpp_parsers::minidom::ElementBuilder {
    Element::builder("item", NS_MUC_ADMIN).attr(xml_ncname!("nick").into(), nick).attr(xml_ncname!("role").into(), role_str(role))
}

fn affiliation_item(jid: &str, affiliation: Affiliation) -> xmpp_parsers::minidom::ElementBuilder {
    Element::builder("item", NS_MUC_ADMIN).attr(xml_ncname!("jid").into(), jid).attr(xml_ncname!("affiliation").into(), affiliation_str(affiliation))
}

impl Session {
    /// Sets an occupant's role: `None` kicks them, `Visitor` takes their voice, `Participant`
    /// gives it, `Moderator` makes them a moderator.
    pub async fn set_role(&self, room: &str, nick: &str, role: Role, reason: Option<&str>) -> Result<()> {
        let room = parse_room_jid(room)?;
        self.room_request(&room, admin_item(role_item(nick, role), reason)).await
    }

    /// Kicks an occupant (role none): they may come back.
    pub async fn kick(&self, room: &str, nick: &str, reason: Option<&str>) -> Result<()> {
        self.set_role(room, nick, Role::None, reason).await
    }

    /// Sets someone's affiliation by their real (bare) JID: `Outcast` bans them, `None` removes
    /// membership or a ban, `Member`/`Admin`/`Owner` grant it.
    pub async fn set_affiliation(&self, room: &str, jid: &str, affiliation: Affiliation, reason: Option<&str>) -> Result<()> {
        let room = parse_room_jid(room)?;
        let jid = crate::config::parse_contact_jid(jid)?;
        self.room_request(&room, admin_item(affiliation_item(jid.as_str(), affiliation), reason)).await
    }

    /// Bans someone (affiliation outcast): they are removed and may not come back.
    pub async fn ban(&self, room: &str, jid: &str, reason: Option<&str>) -> Result<()> {
        self.set_affiliation(room, jid, Affiliation::Outcast, reason).await
    }

    /// Destroys the room (owners only); occupants are told, with the reason.
    pub async fn destroy_room(&self, room: &str, reason: Option<&str>) -> Result<()> {
        let room = parse_room_jid(room)?;
        let mut destroy = Element::builder("destroy", NS_MUC_OWNER);
        if let Some(reason) = reason.filter(|r| !r.trim().is_empty()) {
            destroy = destroy.append(Element::builder("reason", NS_MUC_OWNER).append(reason));
        }
        let query = Element::builder("query", NS_MUC_OWNER).append(destroy.build()).build();
        self.room_request(&room, query).await
    }

    async fn room_request(&self, room: &BareJid, query: Element) -> Result<()> {
        self.iq(Some(Jid::from(room.clone())), true, query).await.map(|_| ()).map_err(|error| room_error(room, error))
    }
}
