use super::*;
use xmpp_parsers::stanza_error::{DefinedCondition, ErrorType};

fn room() -> BareJid {
    BareJid::new("harfleur@chat.shakespeare.lit").unwrap()
}

fn message(xml: &str) -> XmppMessage {
    XmppMessage::try_from(xml.parse::<Element>().unwrap()).unwrap()
}

fn xml(request: &IqRequest) -> String {
    String::from(&request.payload)
}

#[test]
fn kick_voice_and_roles_go_to_the_room_by_nickname() {
    // XEP-0045 Example 89.
    let request = kick(&room(), "pistol", Some("Avaunt, you cullion!"));
    assert!(request.is_set());
    assert_eq!(request.to.as_ref().unwrap().to_string(), "harfleur@chat.shakespeare.lit");
    let item = request.payload.get_child("item", MUC_ADMIN).unwrap();
    assert!(request.payload.is("query", MUC_ADMIN));
    assert_eq!((item.attr("nick"), item.attr("role")), (Some("pistol"), Some("none")));
    assert_eq!(item.get_child("reason", MUC_ADMIN).unwrap().text(), "Avaunt, you cullion!");
    let voice = grant_voice(&room(), "thirdwitch", None);
    assert_eq!(voice.payload.get_child("item", MUC_ADMIN).unwrap().attr("role"), Some("participant"));
    assert!(voice.payload.get_child("item", MUC_ADMIN).unwrap().get_child("reason", MUC_ADMIN).is_none());
    let silence = revoke_voice(&room(), "thirdwitch", Some(" "));
    assert_eq!(silence.payload.get_child("item", MUC_ADMIN).unwrap().attr("role"), Some("visitor"));
    assert!(!xml(&silence).contains("reason"), "a blank reason is left out");
    let moderator = set_role(&room(), "Nick With Spaces", Role::Moderator, None);
    assert_eq!(moderator.payload.get_child("item", MUC_ADMIN).unwrap().attr("nick"), Some("Nick With Spaces"));
}

#[test]
fn bans_and_affiliations_go_by_bare_jid() {
    // XEP-0045 Example 115.
    let request = ban(&room(), &BareJid::new("earlofcambridge@shakespeare.lit").unwrap(), Some("Treason"));
    let item = request.payload.get_child("item", MUC_ADMIN).unwrap();
    assert_eq!((item.attr("jid"), item.attr("affiliation")), (Some("earlofcambridge@shakespeare.lit"), Some("outcast")));
    for (affiliation, name) in [(Affiliation::Member, "member"), (Affiliation::Admin, "admin"), (Affiliation::Owner, "owner"), (Affiliation::None, "none")] {
        let request = set_affiliation(&room(), &BareJid::new("hag66@shakespeare.lit").unwrap(), affiliation, None);
        assert_eq!(request.payload.get_child("item", MUC_ADMIN).unwrap().attr("affiliation"), Some(name));
        assert!(request.is_set());
    }
}

#[test]
fn affiliation_lists_are_requested_and_read() {
    let request = affiliation_list_request(&room(), Affiliation::Outcast);
    assert!(!request.is_set());
    assert!(xml(&request).contains("affiliation='outcast'") || xml(&request).contains("affiliation=\"outcast\""));
    // XEP-0045 Example 120, plus an entry without a usable JID.
    let answer: Element = "<query xmlns='http://jabber.org/protocol/muc#admin'>\
        <item affiliation='outcast' jid='earlofcambridge@shakespeare.lit'><reason>Treason</reason></item>\
        <item affiliation='outcast' jid='not a jid@@'/>\
        <item affiliation='outcast'/></query>"
        .parse()
        .unwrap();
    let list = parse_affiliation_list(&answer).unwrap();
    assert_eq!(list, vec![AffiliatedAccount { jid: "earlofcambridge@shakespeare.lit".into(), nick: None, reason: Some("Treason".into()) }]);
    let wrong: Element = "<query xmlns='http://jabber.org/protocol/muc#owner'/>".parse().unwrap();
    assert!(parse_affiliation_list(&wrong).is_err());
}

#[test]
fn destroying_a_room_names_the_alternate_venue_and_reason() {
    // XEP-0045 Example 201.
    let request = destroy(&room(), Some("Macbeth doth come."), Some(&BareJid::new("coven@chat.shakespeare.lit").unwrap()));
    assert!(request.is_set() && request.payload.is("query", MUC_OWNER));
    let destroy = request.payload.get_child("destroy", MUC_OWNER).unwrap();
    assert_eq!(destroy.attr("jid"), Some("coven@chat.shakespeare.lit"));
    assert_eq!(destroy.get_child("reason", MUC_OWNER).unwrap().text(), "Macbeth doth come.");
    let bare = super::destroy(&room(), None, None);
    let destroy = bare.payload.get_child("destroy", MUC_OWNER).unwrap();
    assert!(destroy.attr("jid").is_none() && destroy.children().next().is_none());
}

#[test]
fn the_room_configuration_is_fetched_rendered_and_submitted() {
    let request = config_request(&room());
    assert!(!request.is_set() && request.payload.is("query", MUC_OWNER));
    // ejabberd's answer, shortened.
    let answer: Element = "<query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='form'>\
        <title>Configuration of room harfleur@chat.shakespeare.lit</title>\
        <field type='hidden' var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field>\
        <field type='text-single' label='Room title' var='muc#roomconfig_roomname'><value/></field>\
        <field type='boolean' label='Make room persistent' var='muc#roomconfig_persistentroom'><value>0</value></field>\
        <field type='list-single' label='Maximum Number of Occupants' var='muc#roomconfig_maxusers'><value>200</value>\
          <option label='5'><value>5</value></option><option label='200'><value>200</value></option></field>\
      </x></query>"
        .parse()
        .unwrap();
    let form = parse_config(&answer).unwrap();
    assert_eq!(form.form_type.as_deref(), Some("http://jabber.org/protocol/muc#roomconfig"));
    let mut answers = Answers::new();
    answers.insert("muc#roomconfig_persistentroom".into(), vec!["true".into()]);
    answers.insert("muc#roomconfig_roomname".into(), vec!["Harfleur".into()]);
    let submit = config_submit(&room(), &form, &answers).unwrap();
    assert!(submit.is_set() && submit.payload.is("query", MUC_OWNER));
    let submitted = DataForm::try_from(submit.payload.get_child("x", xmpp_parsers::ns::DATA_FORMS).unwrap().clone()).unwrap();
    assert_eq!(submitted.form_type(), Some("http://jabber.org/protocol/muc#roomconfig"));
    let mut bad = Answers::new();
    bad.insert("muc#roomconfig_maxusers".into(), vec!["1000000".into()]);
    assert!(matches!(config_submit(&room(), &form, &bad), Err(FormError::NotAnOption { .. })));
    let no_form: Element = "<query xmlns='http://jabber.org/protocol/muc#owner'/>".parse().unwrap();
    assert!(parse_config(&no_form).is_err());
    // Instant room and cancel: an empty submit form, a cancel form.
    assert!(xml(&instant_room(&room())).contains("submit"));
    assert!(xml(&config_cancel(&room())).contains("cancel"));
}

#[test]
fn a_message_is_removed_by_the_rooms_stanza_id_in_either_version() {
    assert_eq!(moderation_version(&["http://jabber.org/protocol/muc", MODERATE_0, MODERATE]), Some(ModerationVersion::Current));
    assert_eq!(moderation_version(&[MODERATE_0]), Some(ModerationVersion::Legacy));
    assert_eq!(moderation_version(&["http://jabber.org/protocol/muc"]), None);
    // XEP-0425 0.3 Example 1.
    let current = remove_message(&room(), "stanza-id-1", Some("Inappropriate"), ModerationVersion::Current);
    assert!(current.is_set());
    assert!(current.payload.is("moderate", MODERATE));
    assert_eq!(current.payload.attr("id"), Some("stanza-id-1"));
    assert!(current.payload.get_child("retract", RETRACT).is_some());
    assert_eq!(current.payload.get_child("reason", MODERATE).unwrap().text(), "Inappropriate");
    // XEP-0425 0.2 (Prosody 0.12, ejabberd 23.01).
    let legacy = remove_message(&room(), "stanza-id-1", None, ModerationVersion::Legacy);
    assert!(legacy.payload.is("apply-to", FASTEN));
    assert_eq!(legacy.payload.attr("id"), Some("stanza-id-1"));
    let moderate = legacy.payload.get_child("moderate", MODERATE_0).unwrap();
    assert!(moderate.get_child("retract", RETRACT_0).is_some() && moderate.get_child("reason", MODERATE_0).is_none());
}

fn current_notice_from(from: &str, kind: &str) -> XmppMessage {
    // XEP-0425 0.3 Example 2.
    message(&format!(
        "<message xmlns='jabber:client' type='{kind}' from='{from}' id='retraction-id-1'>\
           <retract id='stanza-id-1' xmlns='urn:xmpp:message-retract:1'>\
             <moderated by='harfleur@chat.shakespeare.lit/macbeth' xmlns='urn:xmpp:message-moderate:1'>\
               <occupant-id xmlns='urn:xmpp:occupant-id:0' id='dd72603deec90a38ba552f7c68cbcc61bca202cd'/></moderated>\
             <reason>This message contains inappropriate content for this forum</reason>\
           </retract></message>"
    ))
}

#[test]
fn a_moderation_notice_from_the_room_is_read() {
    let notice = moderation_notice(&current_notice_from("harfleur@chat.shakespeare.lit", "groupchat"), &room()).unwrap().unwrap();
    assert_eq!(
        notice,
        ModerationNotice {
            room: "harfleur@chat.shakespeare.lit".into(),
            stanza_id: "stanza-id-1".into(),
            moderator: Some("harfleur@chat.shakespeare.lit/macbeth".into()),
            moderator_occupant_id: Some("dd72603deec90a38ba552f7c68cbcc61bca202cd".into()),
            reason: Some("This message contains inappropriate content for this forum".into()),
        }
    );
    // XEP-0425 0.2 Example 2 (Prosody 0.12).
    let legacy = message(
        "<message xmlns='jabber:client' type='groupchat' from='harfleur@chat.shakespeare.lit' id='retraction-id-1'>\
           <apply-to id='stanza-id-1' xmlns='urn:xmpp:fasten:0'>\
             <moderated by='harfleur@chat.shakespeare.lit/macbeth' xmlns='urn:xmpp:message-moderate:0'>\
               <retract xmlns='urn:xmpp:message-retract:0'/><reason>Spam</reason></moderated></apply-to></message>",
    );
    let notice = moderation_notice(&legacy, &room()).unwrap().unwrap();
    assert_eq!((notice.stanza_id.as_str(), notice.reason.as_deref()), ("stanza-id-1", Some("Spam")));
    // ejabberd's mix: the 0.3 form with `moderated` in the 0.2 namespace.
    let mixed = message(
        "<message xmlns='jabber:client' type='groupchat' from='harfleur@chat.shakespeare.lit'>\
           <retract id='s-9' xmlns='urn:xmpp:message-retract:1'><moderated by='harfleur@chat.shakespeare.lit/macbeth' xmlns='urn:xmpp:message-moderate:0'/></retract></message>",
    );
    assert_eq!(moderation_notice(&mixed, &room()).unwrap().unwrap().stanza_id, "s-9");
}

#[test]
fn a_moderation_notice_from_anyone_but_the_room_is_rejected() {
    // An occupant, another account, a server, or a notice outside the groupchat.
    for (from, kind) in [
        ("harfleur@chat.shakespeare.lit/pistol", "groupchat"),
        ("pistol@shakespeare.lit", "groupchat"),
        ("other-room@chat.shakespeare.lit", "groupchat"),
        ("chat.shakespeare.lit", "groupchat"),
        ("harfleur@chat.shakespeare.lit", "chat"),
    ] {
        let result = moderation_notice(&current_notice_from(from, kind), &room()).unwrap();
        assert!(matches!(result, Err(Rejection::ForeignModeration { .. })), "{from} {kind}: {result:?}");
    }
    let no_from = message(
        "<message xmlns='jabber:client' type='groupchat'><retract id='x' xmlns='urn:xmpp:message-retract:1'>\
           <moderated xmlns='urn:xmpp:message-moderate:1'/></retract></message>",
    );
    assert!(matches!(moderation_notice(&no_from, &room()).unwrap(), Err(Rejection::ForeignModeration { .. })));
}

#[test]
fn an_authors_own_retraction_or_a_notice_without_id_is_not_a_moderation() {
    let own_retraction = message(
        "<message xmlns='jabber:client' type='groupchat' from='harfleur@chat.shakespeare.lit/pistol'>\
           <retract id='x' xmlns='urn:xmpp:message-retract:1'/></message>",
    );
    assert!(moderation_notice(&own_retraction, &room()).is_none());
    let no_id = message(
        "<message xmlns='jabber:client' type='groupchat' from='harfleur@chat.shakespeare.lit'>\
           <retract xmlns='urn:xmpp:message-retract:1'><moderated xmlns='urn:xmpp:message-moderate:1'/></retract></message>",
    );
    assert!(matches!(moderation_notice(&no_id, &room()).unwrap(), Err(Rejection::Malformed { .. })));
}

#[test]
fn error_answers_become_text_a_person_understands() {
    let stanza_error = |condition: DefinedCondition| StanzaError::new(ErrorType::Cancel, condition, "en", "detail");
    let ban = ModerationAction::Ban;
    assert_eq!(ModerationError::from_stanza_error(ban, &stanza_error(DefinedCondition::Forbidden)), ModerationError::Forbidden { action: ban });
    assert_eq!(
        ModerationError::from_stanza_error(ban, &stanza_error(DefinedCondition::Forbidden)).to_string(),
        "You are not allowed to ban people from this room."
    );
    assert_eq!(ModerationError::from_stanza_error(ban, &stanza_error(DefinedCondition::NotAllowed)), ModerationError::NotAllowed { action: ban });
    assert_eq!(ModerationError::from_stanza_error(ban, &stanza_error(DefinedCondition::ItemNotFound)), ModerationError::NotFound { action: ban });
    assert_eq!(ModerationError::from_stanza_error(ban, &stanza_error(DefinedCondition::Conflict)), ModerationError::Conflict { action: ban });
    assert_eq!(
        ModerationError::from_stanza_error(ban, &stanza_error(DefinedCondition::FeatureNotImplemented)),
        ModerationError::NotSupported { action: ban }
    );
    let other = ModerationError::from_stanza_error(ban, &stanza_error(DefinedCondition::BadRequest));
    assert_eq!(other, ModerationError::Refused { action: ban, condition: "bad-request".into(), text: Some("detail".into()) });
    assert!(other.to_string().contains("bad-request") && other.to_string().contains("detail"));
    // What the session's IQ tracker hands over (the Debug form of the condition).
    let from_session = EngineError::ServerError { condition: "NotAllowed".into(), text: None };
    assert_eq!(ModerationError::from_engine_error(ModerationAction::Kick, &from_session), ModerationError::NotAllowed { action: ModerationAction::Kick });
    let timeout = ModerationError::from_engine_error(ModerationAction::Destroy, &EngineError::NotConnected);
    assert!(matches!(timeout, ModerationError::Failed { .. }));
    let destroy = ModerationError::Forbidden { action: ModerationAction::Destroy };
    assert_eq!(destroy.to_string(), "You are not allowed to close this room.");
    let json = serde_json::to_value(&destroy).unwrap();
    assert_eq!((json["code"].as_str(), json["action"].as_str()), (Some("forbidden"), Some("destroy")));
}

#[test]
fn archived_tombstones_are_recognised_in_both_versions() {
    let current = message(
        "<message xmlns='jabber:client' type='groupchat' from='harfleur@chat.shakespeare.lit/pistol'>\
           <retracted stamp='2019-09-20T23:09:32Z' xmlns='urn:xmpp:message-retract:1'>\
             <moderated by='harfleur@chat.shakespeare.lit/macbeth' xmlns='urn:xmpp:message-moderate:1'/>\
             <reason>Spam</reason></retracted></message>",
    );
    assert_eq!(tombstone(&current), Some(Tombstone { moderator: Some("harfleur@chat.shakespeare.lit/macbeth".into()), reason: Some("Spam".into()) }));
    let legacy = message(
        "<message xmlns='jabber:client' type='groupchat' from='harfleur@chat.shakespeare.lit/pistol'>\
           <moderated by='harfleur@chat.shakespeare.lit/macbeth' xmlns='urn:xmpp:message-moderate:0'>\
             <retracted stamp='2019-09-20T23:09:32Z' xmlns='urn:xmpp:message-retract:0'/></moderated></message>",
    );
    assert_eq!(tombstone(&legacy), Some(Tombstone { moderator: Some("harfleur@chat.shakespeare.lit/macbeth".into()), reason: None }));
    // An author's own retraction (no moderator) is not a moderation tombstone.
    let own = message(
        "<message xmlns='jabber:client' type='groupchat' from='harfleur@chat.shakespeare.lit/pistol'>\
           <retracted stamp='2019-09-20T23:09:32Z' xmlns='urn:xmpp:message-retract:1'/></message>",
    );
    assert_eq!(tombstone(&own), None);
    assert_eq!(tombstone(&current_notice_from("harfleur@chat.shakespeare.lit", "groupchat")), None);
}
