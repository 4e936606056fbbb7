//! Moderating a room (XEP-0045 §8–10): roles (kick, voice), affiliations (ban, member, admin,
//! owner) and destroying it. A refusal is `RoomForbidden`; the room's presence then tells
//! everyone (us included) what changed. The requests are built by `pipeline/moderation.rs`.

use xmpp_parsers::jid::BareJid;
use xmpp_parsers::muc::user::{Affiliation as MucAffiliation, Role as MucRole};

use super::rooms::{parse_room_jid, room_error};
use super::Session;
use crate::error::Result;
use crate::pipeline::iq_request::IqRequest;
use crate::pipeline::moderation;
use crate::types::{Affiliation, Role};

/// The engine's role as XEP-0045 names it (the builders are `pipeline::moderation`'s).
fn muc_role(role: Role) -> MucRole {
    match role {
        Role::Moderator => MucRole::Moderator,
        Role::Participant => MucRole::Participant,
        Role::Visitor => MucRole::Visitor,
        Role::None => MucRole::None,
    }
}

fn muc_affiliation(affiliation: Affiliation) -> MucAffiliation {
    match affiliation {
        Affiliation::Owner => MucAffiliation::Owner,
        Affiliation::Admin => MucAffiliation::Admin,
        Affiliation::Member => MucAffiliation::Member,
        Affiliation::Outcast => MucAffiliation::Outcast,
        Affiliation::None => MucAffiliation::None,
    }
}

impl Session {
    /// Sets an occupant's role: `None` kicks them, `Visitor` takes their voice, `Participant`
    /// gives it, `Moderator` makes them a moderator.
    pub async fn set_role(&self, room: &str, nick: &str, role: Role, reason: Option<&str>) -> Result<()> {
        let room = parse_room_jid(room)?;
        self.room_request(&room, moderation::set_role(&room, nick, muc_role(role), reason)).await
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
        self.room_request(&room, moderation::set_affiliation(&room, &jid, muc_affiliation(affiliation), reason)).await
    }

    /// Bans someone (affiliation outcast): they are removed and may not come back.
    pub async fn ban(&self, room: &str, jid: &str, reason: Option<&str>) -> Result<()> {
        self.set_affiliation(room, jid, Affiliation::Outcast, reason).await
    }

    /// Destroys the room (owners only); occupants are told, with the reason.
    pub async fn destroy_room(&self, room: &str, reason: Option<&str>) -> Result<()> {
        let room = parse_room_jid(room)?;
        self.room_request(&room, moderation::destroy(&room, reason, None)).await
    }

    async fn room_request(&self, room: &BareJid, request: IqRequest) -> Result<()> {
        self.request(request).await.map(|_| ()).map_err(|error| room_error(room, error))
    }
}
