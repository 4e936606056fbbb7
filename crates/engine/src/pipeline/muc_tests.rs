use super::*;

const NOW: Millis = 1_800_000_000_000;

fn room() -> BareJid {
    BareJid::new("lobby@muc.example.org").unwrap()
}

fn presence(xml: &str) -> Presence {
    Presence::try_from(xml.parse::<Element>().unwrap()).unwrap()
}

fn message(xml: &str) -> XmppMessage {
    XmppMessage::try_from(xml.parse::<Element>().unwrap()).unwrap()
}

fn ctx(room: &BareJid) -> RoomContext<'_> {
    RoomContext { room, own_nick: "me", own_occupant_id: None }
}

#[test]
fn our_self_presence_of_a_new_room_carries_role_affiliation_and_statuses() {
    let p = presence(
        "<presence xmlns='jabber:client' from='lobby@muc.example.org/me'>\
           <x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='owner' role='moderator' jid='me@example.org/desk'/>\
           <status code='110'/><status code='201'/></x>\
           <occupant-id xmlns='urn:xmpp:occupant-id:0' id='occ-me'/></presence>",
    );
    let RoomPresence::Available(update) = parse_presence(&p).unwrap() else { panic!() };
    assert!(update.is_self() && update.has(status::CREATED));
    assert_eq!(update.occupant.nick, "me");
    assert_eq!((update.occupant.role, update.occupant.affiliation), (Role::Moderator, Affiliation::Owner));
    assert_eq!(update.occupant.real_jid.as_deref(), Some("me@example.org/desk"));
    assert_eq!(update.occupant.occupant_id.as_deref(), Some("occ-me"));
}

#[test]
fn a_kick_and_a_ban_end_the_room_for_good_but_a_shutdown_is_rejoined() {
    let kicked = presence(
        "<presence xmlns='jabber:client' from='lobby@muc.example.org/me' type='unavailable'>\
           <x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='none' role='none'>\
           <actor nick='boss'/><reason>spam</reason></item><status code='307'/><status code='110'/></x></presence>",
    );
    let RoomPresence::Unavailable(update) = parse_presence(&kicked).unwrap() else { panic!() };
    let reason = removal_reason(&update);
    assert_eq!(reason, LeaveReason::Kicked { actor: Some("boss".into()), text: Some("spam".into()) });
    assert!(!rejoins_after(&reason));
    let banned = presence(
        "<presence xmlns='jabber:client' from='lobby@muc.example.org/me' type='unavailable'>\
           <x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='outcast' role='none'/><status code='301'/><status code='110'/></x></presence>",
    );
    let RoomPresence::Unavailable(update) = parse_presence(&banned).unwrap() else { panic!() };
    assert!(matches!(removal_reason(&update), LeaveReason::Banned { .. }));
    let shutdown = presence(
        "<presence xmlns='jabber:client' from='lobby@muc.example.org/me' type='unavailable'>\
           <x xmlns='http://jabber.org/protocol/muc#user'><item role='none'/><status code='332'/><status code='110'/></x></presence>",
    );
    let RoomPresence::Unavailable(update) = parse_presence(&shutdown).unwrap() else { panic!() };
    assert!(rejoins_after(&removal_reason(&update)));
    assert!(!rejoins_after(&LeaveReason::Left));
    let failed = |error| LeaveReason::JoinFailed { error };
    assert!(rejoins_after(&failed(EngineError::RoomFull { room: "r@m".into() })), "a full room may have space later");
    assert!(!rejoins_after(&failed(EngineError::BannedFromRoom { room: "r@m".into() })));
    assert!(!rejoins_after(&failed(EngineError::RoomPasswordWrong { room: "r@m".into() })));
}

#[test]
fn a_nick_change_names_the_new_nick() {
    let p = presence(
        "<presence xmlns='jabber:client' from='lobby@muc.example.org/old' type='unavailable'>\
           <x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='member' role='participant' nick='new'/><status code='303'/></x></presence>",
    );
    let RoomPresence::Unavailable(update) = parse_presence(&p).unwrap() else { panic!() };
    assert!(update.has(status::NICK_CHANGED));
    assert_eq!(update.new_nick.as_deref(), Some("new"));
}

#[test]
fn refused_joins_become_typed_errors() {
    let cases = [
        ("conflict", "nickname_conflict"),
        ("forbidden", "banned_from_room"),
        ("registration-required", "members_only"),
        ("not-authorized", "room_password_wrong"),
        ("service-unavailable", "room_full"),
        ("item-not-found", "room_not_found"),
    ];
    for (condition, code) in cases {
        let p = presence(&format!(
            "<presence xmlns='jabber:client' from='lobby@muc.example.org/me' type='error'>\
               <error type='cancel'><{condition} xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></presence>"
        ));
        let RoomPresence::Error { condition: c, text } = parse_presence(&p).unwrap() else { panic!() };
        assert_eq!(join_error(&room(), "me", &c, text).code(), code, "{condition}");
    }
}

#[test]
fn a_room_message_is_attributed_by_nick_and_keeps_the_rooms_stanza_id() {
    let m = message(
        "<message xmlns='jabber:client' from='lobby@muc.example.org/bob' type='groupchat' id='m1'><body>hello room</body>\
           <origin-id xmlns='urn:xmpp:sid:0' id='o-1'/>\
           <stanza-id xmlns='urn:xmpp:sid:0' id='forged' by='me@example.org'/>\
           <stanza-id xmlns='urn:xmpp:sid:0' id='r-1' by='lobby@muc.example.org'/></message>",
    );
    let room = room();
    let accepted = accept_room_message(&m, &ctx(&room), Some("occ-bob".into()), None, NOW, None).unwrap().message;
    assert_eq!(accepted.conversation, "lobby@muc.example.org");
    assert_eq!(accepted.sender, "lobby@muc.example.org/bob");
    assert_eq!(accepted.direction, Direction::Incoming);
    assert_eq!(accepted.stanza_id.as_deref(), Some("r-1"), "only the room's own stanza-id");
    assert_eq!(accepted.origin_id.as_deref(), Some("o-1"));
    assert_eq!(accepted.occupant_id.as_deref(), Some("occ-bob"));
}

#[test]
fn a_stanza_id_stamped_by_anyone_but_the_room_is_not_trusted() {
    let m = message(
        "<message xmlns='jabber:client' from='lobby@muc.example.org/eve' type='groupchat'><body>x</body>\
           <stanza-id xmlns='urn:xmpp:sid:0' id='forged' by='other@muc.example.org'/></message>",
    );
    let room = room();
    assert_eq!(accept_room_message(&m, &ctx(&room), None, None, NOW, None).unwrap().message.stanza_id, None);
}

#[test]
fn the_occupant_id_a_message_claims_is_not_who_sent_it() {
    // Eve claims Bob's occupant id; attribution comes from the presence of her nick (none here).
    let m = message(
        "<message xmlns='jabber:client' from='lobby@muc.example.org/eve' type='groupchat'><body>I am bob</body>\
           <occupant-id xmlns='urn:xmpp:occupant-id:0' id='occ-bob'/></message>",
    );
    let room = room();
    let accepted = accept_room_message(&m, &ctx(&room), None, None, NOW, None).unwrap().message;
    assert_eq!(accepted.occupant_id, None);
    assert_eq!(accepted.direction, Direction::Incoming);
}

#[test]
fn our_own_messages_are_recognised_by_nick_or_our_occupant_id() {
    let room = room();
    let by_nick = message("<message xmlns='jabber:client' from='lobby@muc.example.org/me' type='groupchat'><body>mine</body></message>");
    let accepted = accept_room_message(&by_nick, &ctx(&room), None, None, NOW, None).unwrap().message;
    assert_eq!((accepted.direction, accepted.state), (Direction::Outgoing, DeliveryState::Sent));
    let renamed = message(
        "<message xmlns='jabber:client' from='lobby@muc.example.org/old-me' type='groupchat'><body>mine before</body>\
           <occupant-id xmlns='urn:xmpp:occupant-id:0' id='occ-me'/></message>",
    );
    let with_id = RoomContext { room: &room, own_nick: "me", own_occupant_id: Some("occ-me") };
    assert_eq!(accept_room_message(&renamed, &with_id, None, None, NOW, None).unwrap().message.direction, Direction::Outgoing);
}

#[test]
fn messages_not_from_an_occupant_of_this_room_are_refused() {
    let room = room();
    let elsewhere = message("<message xmlns='jabber:client' from='other@muc.example.org/bob' type='groupchat'><body>x</body></message>");
    assert!(matches!(accept_room_message(&elsewhere, &ctx(&room), None, None, NOW, None), Err(Rejection::ForeignRoomMessage { .. })));
    let notice = message("<message xmlns='jabber:client' from='lobby@muc.example.org' type='groupchat'><body>room unlocked</body></message>");
    assert_eq!(accept_room_message(&notice, &ctx(&room), None, None, NOW, None).unwrap_err(), Rejection::Empty);
    let chat = message("<message xmlns='jabber:client' from='lobby@muc.example.org/bob' type='chat'><body>pm</body></message>");
    assert_eq!(accept_room_message(&chat, &ctx(&room), None, None, NOW, None).unwrap_err(), Rejection::Empty);
}

#[test]
fn a_subject_change_is_read_and_a_message_with_a_body_is_not_one() {
    let set = message("<message xmlns='jabber:client' from='lobby@muc.example.org/bob' type='groupchat'><subject>Plans\u{202e}</subject></message>");
    assert_eq!(subject(&set).as_deref(), Some("Plans\u{202e}"));
    let cleared = message("<message xmlns='jabber:client' from='lobby@muc.example.org/bob' type='groupchat'><subject/></message>");
    assert_eq!(subject(&cleared).as_deref(), Some(""));
    let both = message("<message xmlns='jabber:client' from='lobby@muc.example.org/bob' type='groupchat'><subject>x</subject><body>y</body></message>");
    assert_eq!(subject(&both), None);
    let built = subject_message(&room(), "New topic", "s1");
    assert_eq!(built.subjects.values().next().map(String::as_str), Some("New topic"));
}

#[test]
fn room_info_gives_the_name_and_occupant_count() {
    let info: Element = "<query xmlns='http://jabber.org/protocol/disco#info'>\
        <identity category='conference' type='text' name='The Lobby'/>\
        <x xmlns='jabber:x:data' type='result'>\
          <field var='FORM_TYPE' type='hidden'><value>http://jabber.org/protocol/muc#roominfo</value></field>\
          <field var='muc#roominfo_occupants'><value>42</value></field></x></query>"
        .parse()
        .unwrap();
    assert_eq!(room_info(&info), (Some("The Lobby".into()), Some(42)));
}

#[test]
fn the_join_presence_asks_for_no_history_and_carries_the_password() {
    let occupant = occupant_jid(&room(), "me").unwrap();
    let xml = String::from(&Element::from(join_presence(&occupant, Some("s3cret"))));
    assert!(xml.contains("maxchars='0'") || xml.contains("maxchars=\"0\""), "{xml}");
    assert!(xml.contains("<password>s3cret</password>"), "{xml}");
    assert!(occupant_jid(&room(), "  ").is_err());
    assert!(occupant_jid(&room(), &"n".repeat(2000)).is_err());
}

#[test]
fn a_self_ping_error_saying_we_are_not_in_the_room_means_rejoin_and_anything_unsure_keeps_us() {
    let error = |condition: &str| Err(EngineError::ServerError { condition: condition.into(), text: None });
    assert_eq!(self_ping_verdict(&Ok(())), SelfPing::Joined);
    assert_eq!(self_ping_verdict(&error("NotAcceptable")), SelfPing::NotJoined);
    assert_eq!(self_ping_verdict(&error("ItemNotFound")), SelfPing::NotJoined);
    assert_eq!(self_ping_verdict(&error("ServiceUnavailable")), SelfPing::Joined);
    assert_eq!(self_ping_verdict(&error("RemoteServerTimeout")), SelfPing::Unknown);
    assert_eq!(self_ping_verdict(&Err(EngineError::Timeout { stage: "ping".into() })), SelfPing::Unknown);
}

#[test]
fn the_server_error_conditions_are_named_as_self_ping_expects() {
    // `iq::server_error` names conditions by their Debug form; the verdict depends on it.
    assert_eq!(format!("{:?}", DefinedCondition::NotAcceptable), "NotAcceptable");
    assert_eq!(format!("{:?}", DefinedCondition::ItemNotFound), "ItemNotFound");
}
