use super::*;

/// Our account's disco#info features on a server that honours publish-options.
const FEATURES: &[&str] = &["http://jabber.org/protocol/pubsub#publish-options", "urn:xmpp:bookmarks:1#compat"];

fn own() -> BareJid {
    BareJid::new("juliet@capulet.lit").unwrap()
}

fn message(xml: &str) -> XmppMessage {
    XmppMessage::try_from(xml.parse::<Element>().unwrap()).unwrap()
}

/// XEP-0402 Example 8: a notification of a new bookmark, as Prosody sends it (headline).
fn added_event(from: &str) -> XmppMessage {
    let from = if from.is_empty() { String::new() } else { format!(" from='{from}'") };
    message(&format!(
        "<message xmlns='jabber:client'{from} to='juliet@capulet.lit/balcony' type='headline' id='new-room1'>\
           <event xmlns='http://jabber.org/protocol/pubsub#event'><items node='urn:xmpp:bookmarks:1'>\
             <item id='theplay@conference.shakespeare.lit'>\
               <conference xmlns='urn:xmpp:bookmarks:1' name='The Play&apos;s the Thing' autojoin='true'><nick>JC</nick></conference>\
             </item></items></event></message>"
    ))
}

fn the_play() -> Bookmark {
    Bookmark {
        room: "theplay@conference.shakespeare.lit".into(),
        name: Some("The Play's the Thing".into()),
        nick: Some("JC".into()),
        password: None,
        autojoin: true,
        extensions: None,
    }
}

#[test]
fn a_native_bookmark_event_from_our_account_is_read() {
    for from in ["juliet@capulet.lit", ""] {
        let update = event(&added_event(from), &own()).unwrap().unwrap();
        assert_eq!(update, BookmarkUpdate::Items { published: vec![the_play()], retracted: vec![] }, "from '{from}'");
    }
}

#[test]
fn a_bookmark_event_from_anyone_else_is_rejected() {
    // Dino CVE-2023-28686: a contact's forged push must not make us join a room.
    for from in ["romeo@montague.lit", "romeo@montague.lit/orchard", "juliet@capulet.lit/balcony", "capulet.lit", "theplay@conference.shakespeare.lit"] {
        let result = event(&added_event(from), &own()).unwrap();
        assert!(matches!(result, Err(Rejection::ForeignPepEvent { .. })), "{from}: {result:?}");
    }
}

#[test]
fn other_pep_events_are_not_bookmarks() {
    let mood = message(
        "<message xmlns='jabber:client' from='romeo@montague.lit' type='headline'>\
           <event xmlns='http://jabber.org/protocol/pubsub#event'><items node='http://jabber.org/protocol/mood'>\
             <item id='a'><mood xmlns='http://jabber.org/protocol/mood'><happy/></mood></item></items></event></message>",
    );
    assert!(event(&mood, &own()).is_none());
    let chat = message("<message xmlns='jabber:client' from='romeo@montague.lit/x' type='chat'><body>hi</body></message>");
    assert!(event(&chat, &own()).is_none());
}

#[test]
fn retractions_purges_and_legacy_lists_are_read() {
    let retract = message(
        "<message xmlns='jabber:client' from='juliet@capulet.lit' type='headline'>\
           <event xmlns='http://jabber.org/protocol/pubsub#event'><items node='urn:xmpp:bookmarks:1'>\
             <retract id='theplay@conference.shakespeare.lit'/><retract id='not a jid@@'/></items></event></message>",
    );
    assert_eq!(event(&retract, &own()).unwrap().unwrap(), BookmarkUpdate::Items { published: vec![], retracted: vec![the_play().room] });
    let purge = message(
        "<message xmlns='jabber:client' from='juliet@capulet.lit'><event xmlns='http://jabber.org/protocol/pubsub#event'>\
           <purge node='urn:xmpp:bookmarks:1'/></event></message>",
    );
    assert_eq!(event(&purge, &own()).unwrap().unwrap(), BookmarkUpdate::Cleared);
    // XEP-0048 over PEP (Conversations before 0402): the item holds the whole list.
    let legacy = message(
        "<message xmlns='jabber:client' from='juliet@capulet.lit'><event xmlns='http://jabber.org/protocol/pubsub#event'>\
           <items node='storage:bookmarks'><item id='current'><storage xmlns='storage:bookmarks'>\
             <conference name='Council of Oberon' autojoin='1' jid='council@conference.underhill.lit'><nick>Puck</nick><password>titania</password></conference>\
             <conference jid='conference.underhill.lit'/>\
           </storage></item></items></event></message>",
    );
    let BookmarkUpdate::Replaced(list) = event(&legacy, &own()).unwrap().unwrap() else { panic!() };
    assert_eq!(list.len(), 1, "a service JID is not a room");
    assert_eq!((list[0].nick.as_deref(), list[0].password.as_deref(), list[0].autojoin), (Some("Puck"), Some("titania"), true));
}

#[test]
fn changes_tell_added_from_changed_and_ignore_the_unchanged() {
    let update = BookmarkUpdate::Items { published: vec![the_play()], retracted: vec![] };
    assert_eq!(changes(&[], update.clone()), vec![BookmarkChange::Added { bookmark: the_play() }]);
    assert!(changes(&[the_play()], update).is_empty());
    let renamed = Bookmark { name: Some("Act II".into()), ..the_play() };
    let update = BookmarkUpdate::Items { published: vec![renamed.clone()], retracted: vec!["unknown@rooms.lit".into()] };
    assert_eq!(changes(&[the_play()], update), vec![BookmarkChange::Changed { bookmark: renamed }]);
    assert_eq!(changes(&[the_play()], BookmarkUpdate::Cleared), vec![BookmarkChange::Retracted { room: the_play().room }]);
    let other = Bookmark { room: "other@rooms.lit".into(), ..the_play() };
    assert_eq!(
        diff(&[the_play()], vec![other.clone()]),
        vec![BookmarkChange::Added { bookmark: other }, BookmarkChange::Retracted { room: the_play().room }]
    );
}

#[test]
fn an_items_answer_lists_every_valid_bookmark() {
    // XEP-0402 Example 4, with an item whose id is not a room and one whose payload is not a bookmark.
    let answer: Element = "<pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='urn:xmpp:bookmarks:1'>\
        <item id='theplay@conference.shakespeare.lit'><conference xmlns='urn:xmpp:bookmarks:1' name='The Play&apos;s the Thing' autojoin='true'><nick>JC</nick></conference></item>\
        <item id='orchard@conference.shakespeare.lit'><conference xmlns='urn:xmpp:bookmarks:1' name='The Orchard'>\
          <extensions><state xmlns='http://myclient.example/bookmark/state' minimized='true'/></extensions></conference></item>\
        <item id='conference.shakespeare.lit'><conference xmlns='urn:xmpp:bookmarks:1'/></item>\
        <item id='x@y.lit'><storage xmlns='storage:bookmarks'/></item>\
      </items></pubsub>"
        .parse()
        .unwrap();
    let list = parse_items(answer).unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0], the_play());
    assert!(!list[1].autojoin);
    assert!(list[1].extensions.as_deref().unwrap().contains("minimized"), "other clients' extensions are kept");
    // Published again, they go back unchanged.
    let xml = String::from(&publish(&list[1], FEATURES).unwrap().payload);
    assert!(xml.contains("http://myclient.example/bookmark/state"), "{xml}");
}

#[test]
fn private_storage_is_read_when_native_bookmarks_are_absent() {
    assert_eq!(source(&["urn:xmpp:bookmarks:1#compat", "urn:xmpp:mam:2"]), BookmarkSource::Native);
    assert_eq!(source(&["urn:xmpp:mam:2"]), BookmarkSource::PrivateStorage);
    let request = private_storage_request();
    assert!(!request.is_set() && request.to.is_none());
    assert!(String::from(&request.payload).contains("storage:bookmarks"));
    // XEP-0048 Example 3 (ejabberd answers private storage like this).
    let answer: Element = "<query xmlns='jabber:iq:private'><storage xmlns='storage:bookmarks'>\
        <conference name='Council of Oberon' autojoin='true' jid='council@conference.underhill.lit'><nick>Puck</nick></conference>\
        <url name='Complete Works' url='http://the-tech.mit.edu/Shakespeare/'/>\
      </storage></query>"
        .parse()
        .unwrap();
    let list = parse_private_storage(answer).unwrap();
    assert_eq!(list[0].room, "council@conference.underhill.lit");
    assert!(list[0].autojoin);
    // The same list published through PEP by older clients.
    let PubSub::Items(items) = PubSub::try_from(legacy_items_request().payload).unwrap() else { panic!() };
    assert_eq!(items.node.0, LEGACY_NODE);
    let pep: Element = "<pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='storage:bookmarks'><item id='current'>\
        <storage xmlns='storage:bookmarks'><conference autojoin='true' jid='council@conference.underhill.lit'/></storage></item></items></pubsub>"
        .parse()
        .unwrap();
    assert_eq!(parse_items(pep).unwrap()[0].room, "council@conference.underhill.lit");
}

#[test]
fn hostile_bookmarks_are_cleaned() {
    let answer = format!(
        "<pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='urn:xmpp:bookmarks:1'>\
           <item id='evil@rooms.lit'><conference xmlns='urn:xmpp:bookmarks:1' name='Evil\u{9b}name{}'/></item></items></pubsub>",
        "x".repeat(5000)
    );
    let list = parse_items(answer.parse().unwrap()).unwrap();
    assert!(list[0].name.as_deref().unwrap().starts_with("Evilname"));
    assert_eq!(list[0].name.as_deref().unwrap().chars().count(), MAX_TEXT_CHARS);
    assert!(parse_items("<pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='x'/></pubsub>".parse().unwrap()).is_err());
}

#[test]
fn a_bookmark_is_published_privately_with_every_option() {
    let request = publish(&the_play(), FEATURES).unwrap();
    assert!(request.is_set() && request.to.is_none());
    let PubSub::Publish { publish, publish_options } = PubSub::try_from(request.payload).unwrap() else { panic!() };
    assert_eq!(publish.node.0, NODE);
    assert_eq!(publish.items[0].id.as_ref().unwrap().0, "theplay@conference.shakespeare.lit");
    let conference = Conference::try_from(publish.items[0].payload.clone().unwrap()).unwrap();
    assert!(conference.autojoin);
    assert_eq!(conference.nick.unwrap().as_str(), "JC");
    let form = publish_options.expect("never published without options").form.unwrap();
    assert_eq!(form.form_type(), Some(PUBLISH_OPTIONS));
    let value = |var: &str| form.fields.iter().find(|f| f.var.as_deref() == Some(var)).map(|f| f.values.clone());
    assert_eq!(value("pubsub#access_model").unwrap(), ["whitelist"]);
    assert_eq!(value("pubsub#persist_items").unwrap(), ["true"]);
    assert_eq!(value("pubsub#max_items").unwrap(), ["max"]);
}

#[test]
fn the_fallback_publish_keeps_the_privacy_options_and_drops_the_others() {
    let PubSub::Publish { publish_options, .. } = PubSub::try_from(publish_private_only(&the_play(), FEATURES).unwrap().payload).unwrap() else { panic!() };
    let form = publish_options.expect("never published without options").form.unwrap();
    let vars: Vec<&str> = form.fields.iter().filter_map(|f| f.var.as_deref()).collect();
    assert!(vars.contains(&"pubsub#access_model") && vars.contains(&"pubsub#persist_items"), "{vars:?}");
    assert!(!vars.contains(&"pubsub#max_items"), "{vars:?}");
    assert_eq!(publish_private_only(&the_play(), &[]), Err(BookmarkError::PrivacyNotSupported));
}

#[test]
fn nothing_is_published_where_publish_options_are_not_announced() {
    // Converse CVE-2018-6591: without publish-options, a server may leave the node open.
    assert_eq!(publish(&the_play(), &["urn:xmpp:bookmarks:1#compat"]), Err(BookmarkError::PrivacyNotSupported));
}

#[test]
fn a_bookmark_needs_a_room_and_a_valid_nick() {
    let service = Bookmark { room: "conference.shakespeare.lit".into(), ..the_play() };
    assert!(matches!(publish(&service, FEATURES), Err(BookmarkError::InvalidRoom { .. })));
    let full = Bookmark { room: "room@conference.shakespeare.lit/nick".into(), ..the_play() };
    assert!(matches!(publish(&full, FEATURES), Err(BookmarkError::InvalidRoom { .. })));
    let nick = Bookmark { nick: Some("a".repeat(2000)), ..the_play() };
    assert!(matches!(publish(&nick, FEATURES), Err(BookmarkError::InvalidNick { .. })));
}

#[test]
fn refused_publish_options_are_an_error_never_a_plain_publish() {
    // XEP-0060 Example 129 (Prosody when the node exists with another access model).
    let error: Element = "<error xmlns='jabber:client' type='cancel'><conflict xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>\
        <precondition-not-met xmlns='http://jabber.org/protocol/pubsub#errors'/></error>"
        .parse()
        .unwrap();
    let error = StanzaError::try_from(error).unwrap();
    assert_eq!(publish_error(&error), BookmarkError::PrivacyNotSupported);
    let session_form = EngineError::ServerError { condition: format!("{:?}", error.defined_condition), text: None };
    assert_eq!(publish_error_from(&session_form), BookmarkError::PrivacyNotSupported);
    let forbidden = EngineError::ServerError { condition: "Forbidden".into(), text: None };
    assert!(matches!(publish_error_from(&forbidden), BookmarkError::Server { .. }));
    assert!(!BookmarkError::PrivacyNotSupported.to_string().is_empty());
}

#[test]
fn a_bookmark_is_retracted_by_room() {
    let request = retract(&BareJid::new("theplay@conference.shakespeare.lit").unwrap());
    let PubSub::Retract(retract) = PubSub::try_from(request.payload).unwrap() else { panic!() };
    assert!(retract.notify);
    assert_eq!((retract.node.0.as_str(), retract.items[0].id.as_ref().unwrap().0.as_str()), (NODE, "theplay@conference.shakespeare.lit"));
    let items = items_request();
    assert!(String::from(&items.payload).contains("urn:xmpp:bookmarks:1"));
}
