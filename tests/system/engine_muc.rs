//! Group chat (XEP-0045) on the engine against real Prosody and ejabberd MUC services: rooms
//! found, created, joined, refused and left; messages both ways with their reflection; the
//! room archive after being away and after a new session; removals; and the spoofing rules.

mod common;
#[path = "muc_scripted.rs"]
mod scripted;

use std::sync::atomic::{AtomicU32, Ordering};

use common::*;
use rapport_engine::events::Event;
use rapport_engine::types::{Affiliation, DeliveryState, Direction, LeaveReason, Message, Role, RoomState};
use rapport_engine::{Profile, Session};
use rapport_system_tests::raw::RawClient;
use rapport_system_tests::server::{TestUser, XmppServer};

static ROOMS: AtomicU32 = AtomicU32::new(0);

/// A room name no other test uses (the servers are shared).
fn new_room(server: &XmppServer, name: &str) -> String {
    let n = ROOMS.fetch_add(1, Ordering::Relaxed);
    format!("{name}{n}-{}@{}", std::process::id(), server.muc_domain())
}

/// Creates the room as its owner and keeps it when everyone leaves (rooms are temporary by default).
async fn create_room(owner: &Session, server: &XmppServer, name: &str, nick: &str) -> String {
    let room = new_room(server, name);
    let joined = owner.join_room(&room, nick, None).await.unwrap();
    assert_eq!(joined.state, RoomState::Joined);
    assert_eq!(joined.affiliation, Affiliation::Owner, "the creator owns the room");
    owner.configure_room(&room, &[("muc#roomconfig_persistentroom", &["1"]), ("muc#roomconfig_publicroom", &["1"])]).await.unwrap();
    room
}

async fn sign_in_at(server: &XmppServer, user: &TestUser, dir: &std::path::Path) -> Session {
    let session = Session::start(&Profile::at(dir), account(server, user), user.password.clone(), Default::default()).await.unwrap();
    session.wait_online(WAIT).await.unwrap();
    session
}

fn history(session: &Session, room: &str) -> Vec<Message> {
    let mut page = block(session.history(room, None, 500));
    page.reverse();
    page
}

fn block<T>(future: impl std::future::Future<Output = rapport_engine::Result<T>>) -> T {
    tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(future)).unwrap()
}

async fn a_room_is_created_found_on_the_service_joined_and_left(server: &XmppServer) {
    let alice = server.create_user("alice");
    let mut a = sign_in(server, &alice).await;
    let room = create_room(&a.session, server, "lobby", "alice").await;
    let me = a.session.room(&room).unwrap();
    assert_eq!((me.role, me.nick.as_str()), (Role::Moderator, "alice"));
    assert_eq!(a.session.occupants(&room).len(), 1, "we are our room's only occupant");

    let listed = a.session.rooms_on_service(server.muc_domain()).await.unwrap();
    let found = listed.iter().find(|r| r.jid == room).unwrap_or_else(|| panic!("{room} not in {listed:?}"));
    assert_eq!(found.occupants, Some(1), "{found:?}");
    let kind = a.session.conversations().await.unwrap().into_iter().find(|c| c.jid == room).map(|c| c.kind);
    assert_eq!(kind, Some(rapport_engine::types::ConversationKind::Room));

    a.session.leave_room(&room).await.unwrap();
    assert!(a.session.room(&room).is_none());
    expect_event(&mut a.events, "the room left", |e| match e {
        Event::RoomChanged { room: r } if r.jid == room && r.state == RoomState::Left(LeaveReason::Left) => Some(()),
        _ => None,
    })
    .await;
    assert!(a.session.store().rooms().unwrap().is_empty(), "a room we left is not rejoined");
}

async fn a_taken_nickname_is_a_typed_error_on_join_and_on_change(server: &XmppServer) {
    let (alice, bob) = (server.create_user("alice"), server.create_user("bob"));
    let a = sign_in(server, &alice).await;
    let b = sign_in(server, &bob).await;
    let room = create_room(&a.session, server, "nicks", "alice").await;
    let error = b.session.join_room(&room, "alice", None).await.unwrap_err();
    assert_eq!(error.code(), "nickname_conflict", "{error}");
    assert_eq!(b.session.room(&room).unwrap().state, RoomState::Left(LeaveReason::JoinFailed { error }));

    b.session.join_room(&room, "bob", None).await.unwrap();
    assert_eq!(b.session.change_nick(&room, "alice").await.unwrap_err().code(), "nickname_conflict");
    assert_eq!(b.session.room(&room).unwrap().state, RoomState::Joined, "a refused nick change keeps us in");
    let renamed = b.session.change_nick(&room, "bobby").await.unwrap();
    assert_eq!(renamed.nick, "bobby");
    eventually("alice sees bobby and not bob", || {
        let nicks: Vec<String> = a.session.occupants(&room).into_iter().map(|o| o.nick).collect();
        (nicks.contains(&"bobby".to_string()) && !nicks.contains(&"bob".to_string())).then_some(())
    })
    .await;

}

async fn a_password_protected_room_refuses_a_wrong_password_and_admits_the_right_one(server: &XmppServer) {
    let (alice, bob) = (server.create_user("alice"), server.create_user("bob"));
    let a = sign_in(server, &alice).await;
    let b = sign_in(server, &bob).await;
    let room = create_room(&a.session, server, "secret", "alice").await;
    a.session
        .configure_room(&room, &[("muc#roomconfig_passwordprotectedroom", &["1"]), ("muc#roomconfig_roomsecret", &["open sesame"])])
        .await
        .unwrap();
    for wrong in [None, Some("open barley")] {
        let error = b.session.join_room(&room, "bob", wrong).await.unwrap_err();
        assert_eq!(error.code(), "room_password_wrong", "{wrong:?}: {error}");
    }
    let joined = b.session.join_room(&room, "bob", Some("open sesame")).await.unwrap();
    assert_eq!(joined.state, RoomState::Joined);
}

async fn a_members_only_room_refuses_a_non_member(server: &XmppServer) {
    let (alice, bob) = (server.create_user("alice"), server.create_user("bob"));
    let a = sign_in(server, &alice).await;
    let b = sign_in(server, &bob).await;
    let room = create_room(&a.session, server, "club", "alice").await;
    a.session.configure_room(&room, &[("muc#roomconfig_membersonly", &["1"])]).await.unwrap();
    let error = b.session.join_room(&room, "bob", None).await.unwrap_err();
    assert_eq!(error.code(), "members_only", "{error}");
    assert!(b.session.store().rooms().unwrap().is_empty(), "a refused room is not rejoined later");
}

async fn two_accounts_talk_in_a_room_and_our_reflection_is_one_sent_message(server: &XmppServer) {
    let (alice, bob) = (server.create_user("alice"), server.create_user("bob"));
    let a = sign_in(server, &alice).await;
    let mut b = sign_in(server, &bob).await;
    let room = create_room(&a.session, server, "talk", "alice").await;
    b.session.join_room(&room, "bob", None).await.unwrap();
    let seen_bob = eventually("alice sees bob in the room", || a.session.occupants(&room).into_iter().find(|o| o.nick == "bob")).await;
    assert_eq!((seen_bob.role, seen_bob.affiliation), (Role::Participant, Affiliation::None));
    let seen_alice = b.session.occupants(&room).into_iter().find(|o| o.nick == "alice").expect("bob sees alice");
    assert_eq!((seen_alice.role, seen_alice.affiliation), (Role::Moderator, Affiliation::Owner));

    let sent = a.session.send_room_message(&room, "Hello room").await.unwrap();
    assert_eq!((sent.state, sent.sender.clone()), (DeliveryState::Pending, format!("{room}/alice")));
    let got = expect_event(&mut b.events, "the message at bob", |e| match e {
        Event::MessagesReceived { messages, .. } => messages.iter().find(|m| m.conversation == room).cloned(),
        _ => None,
    })
    .await;
    assert_eq!((got.body.as_str(), got.sender.clone(), got.direction), ("Hello room", format!("{room}/alice"), Direction::Incoming));
    assert_eq!(got.origin_id, sent.origin_id);

    let mine = eventually("our reflection gives the message the room's id", || {
        let h = history(&a.session, &room);
        h.iter().all(|m| m.stanza_id.is_some()).then_some(h)
    })
    .await;
    assert_eq!(mine.len(), 1, "the reflection is not a second message: {mine:?}");
    assert_eq!((mine[0].id, mine[0].state, mine[0].direction), (sent.id, DeliveryState::Sent, Direction::Outgoing));

    b.session.send_room_message(&room, "Hi alice").await.unwrap();
    eventually("bob's answer at alice", || (history(&a.session, &room).len() == 2).then_some(())).await;
    a.session.set_subject(&room, "Plans for Friday").await.unwrap();
    expect_event(&mut b.events, "the subject at bob", |e| match e {
        Event::RoomChanged { room: r } if r.jid == room && r.subject.as_deref() == Some("Plans for Friday") => Some(()),
        _ => None,
    })
    .await;
}

async fn history_missed_while_away_arrives_once_in_order_also_after_new_sessions(server: &XmppServer) {
    let (alice, bob) = (server.create_user("alice"), server.create_user("bob"));
    let a = sign_in(server, &alice).await;
    let room = create_room(&a.session, server, "catchup", "alice").await;
    a.session.send_room_message(&room, "before bob came").await.unwrap();
    let bob_dir = tempfile::tempdir().unwrap();
    let b = sign_in_at(server, &bob, bob_dir.path()).await;
    b.join_room(&room, "bob", None).await.unwrap();
    let first = eventually("the first join's history", || {
        let h = history(&b, &room);
        (h.len() == 1).then_some(h)
    })
    .await;
    assert!(first[0].read, "history from the first join is already read");
    b.disconnect().await;

    for i in 0..30 {
        a.session.send_room_message(&room, &format!("while away {i}")).await.unwrap();
    }
    eventually("alice's 30 messages in the room", || (history(&a.session, &room).iter().filter(|m| m.state == DeliveryState::Sent).count() == 31).then_some(())).await;

    let b = sign_in_at(server, &bob, bob_dir.path()).await;
    let expected: Vec<String> = std::iter::once("before bob came".to_string()).chain((0..30).map(|i| format!("while away {i}"))).collect();
    eventually("all 30 once, in order", || (bodies(&history(&b, &room)) == expected).then_some(())).await;
    assert_eq!(b.room(&room).unwrap().state, RoomState::Joined, "rejoined with the new session");

    // Another new session: the checkpoint holds, nothing comes twice; live messages still arrive.
    b.disconnect().await;
    let b = sign_in_at(server, &bob, bob_dir.path()).await;
    eventually("rejoined again", || (b.room(&room)?.state == RoomState::Joined).then_some(())).await;
    a.session.send_room_message(&room, "welcome back").await.unwrap();
    eventually("the live message after the rejoin", || (history(&b, &room).len() == 32).then_some(())).await;
    let all = bodies(&history(&b, &room));
    assert_eq!(&all[..31], expected.as_slice(), "no duplicates after the rejoin");
    assert_eq!(all[31], "welcome back");
}

fn bodies(messages: &[Message]) -> Vec<String> {
    messages.iter().map(|m| m.body.clone()).collect()
}

async fn a_kick_ends_the_room_with_its_reason_and_is_not_rejoined(server: &XmppServer) {
    let (alice, bob) = (server.create_user("alice"), server.create_user("bob"));
    let a = sign_in(server, &alice).await;
    let mut b = sign_in(server, &bob).await;
    let room = create_room(&a.session, server, "kick", "alice").await;
    b.session.join_room(&room, "bob", None).await.unwrap();
    a.session.kick(&room, "bob", Some("off topic")).await.unwrap();
    expect_event(&mut b.events, "bob kicked", |e| match e {
        Event::RoomChanged { room: r } if r.jid == room && matches!(r.state, RoomState::Left(_)) => Some(()),
        _ => None,
    })
    .await;
    let state = b.session.room(&room).unwrap().state;
    assert!(matches!(&state, RoomState::Left(LeaveReason::Kicked { text, .. }) if text.as_deref() == Some("off topic")), "{state:?}");
    assert!(b.session.occupants(&room).is_empty(), "occupants are cleared");
    assert!(b.session.store().rooms().unwrap().is_empty(), "a kicked room is not rejoined");
}

async fn spoofed_room_messages_archive_results_and_stanza_ids_are_refused(server: &'static XmppServer) {
    let (alice, eve) = (server.create_user("alice"), server.create_user("eve"));
    let mut a = sign_in(server, &alice).await;
    let room = create_room(&a.session, server, "spoof", "alice").await;
    let target = a.session.bound_jid().unwrap();
    let eve2 = eve.clone();
    let mut raw = tokio::task::spawn_blocking(move || RawClient::login(server, &eve2).unwrap()).await.unwrap();
    // Not from a room we are in: a group chat message from Eve's own address.
    raw.send(&format!("<message type='groupchat' to='{target}'><body>spoofed room message</body></message>")).unwrap();
    // An archive result from Eve, claiming to be the room's history.
    raw.send(&format!(
        "<message to='{target}'><result xmlns='urn:xmpp:mam:2' queryid='guess' id='fake-1'><forwarded xmlns='urn:xmpp:forward:0'>\
           <message xmlns='jabber:client' from='{room}/bob' type='groupchat'><body>injected history</body></message>\
         </forwarded></result></message>"
    ))
    .unwrap();
    // In the room, a stanza-id stamped by someone other than the room.
    raw.send(&format!("<presence to='{room}/eve'><x xmlns='http://jabber.org/protocol/muc'/></presence>")).unwrap();
    raw.read_until("110", WAIT).unwrap();
    raw.send(&format!(
        "<message type='groupchat' to='{room}'><body>with a forged id</body><stanza-id xmlns='urn:xmpp:sid:0' id='forged' by='{alice}'/></message>",
        alice = alice.jid
    ))
    .unwrap();
    let forged = expect_event(&mut a.events, "eve's room message", |e| match e {
        Event::MessagesReceived { messages, .. } => messages.iter().find(|m| m.body == "with a forged id").cloned(),
        _ => None,
    })
    .await;
    assert_ne!(forged.stanza_id.as_deref(), Some("forged"), "only the room's stanza-id is trusted");
    let all: Vec<String> = bodies(&history(&a.session, &room));
    assert_eq!(all, ["with a forged id"], "neither the spoof nor the injected history is stored");
    assert!(history(&a.session, &eve.jid).is_empty(), "nothing stored as from eve");
}

async fn moderators_voice_ban_and_destroy_and_others_may_not(server: &XmppServer) {
    let (alice, bob, carol) = (server.create_user("alice"), server.create_user("bob"), server.create_user("carol"));
    let a = sign_in(server, &alice).await;
    let mut b = sign_in(server, &bob).await;
    let mut c = sign_in(server, &carol).await;
    let room = create_room(&a.session, server, "mod", "alice").await;
    b.session.join_room(&room, "bob", None).await.unwrap();
    c.session.join_room(&room, "carol", None).await.unwrap();

    let refused = b.session.kick(&room, "carol", None).await.unwrap_err();
    assert_eq!(refused.code(), "room_forbidden", "{refused}");
    a.session.set_role(&room, "bob", Role::Visitor, Some("quiet please")).await.unwrap();
    eventually("carol sees bob without voice", || {
        c.session.occupants(&room).into_iter().find(|o| o.nick == "bob" && o.role == Role::Visitor)
    })
    .await;

    a.session.ban(&room, &bob.jid, Some("spam")).await.unwrap();
    expect_event(&mut b.events, "bob banned", |e| match e {
        Event::RoomChanged { room: r } if r.jid == room && matches!(r.state, RoomState::Left(LeaveReason::Banned { .. })) => Some(()),
        _ => None,
    })
    .await;
    // (ejabberd 23.01 lets a just-banned occupant's next presence through as an update, so the
    // refused join is shown with someone banned before ever joining.)
    let dave = server.create_user("dave");
    a.session.ban(&room, &dave.jid, None).await.unwrap();
    let d = sign_in(server, &dave).await;
    assert_eq!(d.session.join_room(&room, "dave", None).await.unwrap_err().code(), "banned_from_room");

    a.session.destroy_room(&room, Some("project over")).await.unwrap();
    let left = expect_event(&mut c.events, "the room destroyed", |e| match e {
        Event::RoomChanged { room: r } if r.jid == room && matches!(r.state, RoomState::Left(_)) => Some(r.state.clone()),
        _ => None,
    })
    .await;
    assert_eq!(left, RoomState::Left(LeaveReason::Destroyed { text: Some("project over".into()) }));
    assert!(c.session.store().rooms().unwrap().is_empty(), "a destroyed room is not rejoined");
}

/// XEP-0410: a room that forgot us without a word (real servers do after a restart of their
/// MUC, or a lost presence; neither can be caused on demand on both servers, so a scripted
/// server plays the room) answers our self-ping with not-acceptable, and we join again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_that_forgot_us_silently_is_rejoined_after_a_self_ping() {
    let server = scripted::RoomServer::start().await;
    let alice = TestUser { jid: "alice@localhost".into(), username: "alice".into(), password: "pw".into() };
    let mut config = rapport_engine::AccountConfig::new(&alice.jid).unwrap();
    config.host = Some("127.0.0.1".into());
    config.port = Some(server.port);
    config.ca_file = Some(server.ca_file());
    rapport_engine::init_crypto();
    let dir = tempfile::tempdir().unwrap();
    let session = Session::start(&Profile::at(dir.path()), config, alice.password.clone(), Default::default()).await.unwrap();
    let mut events = session.subscribe();
    session.wait_online(WAIT).await.unwrap();
    session.join_room(scripted::ROOM, "alice", None).await.unwrap();
    assert_eq!(server.room.joins.load(Ordering::SeqCst), 1);

    server.room.forgot_us.store(true, Ordering::SeqCst);
    session.check_rooms().await.unwrap();
    // (Joining and joined again may be announced as one change: room events are coalesced.)
    eventually("a second join presence", || (server.room.joins.load(Ordering::SeqCst) == 2).then_some(())).await;
    expect_event(&mut events, "joined again", |e| match e {
        Event::RoomChanged { room } if room.state == RoomState::Joined && server.room.joins.load(Ordering::SeqCst) == 2 => Some(()),
        _ => None,
    })
    .await;
    // (The event may be the first join's, read late: the state is what counts.)
    eventually("joined again", || session.room(scripted::ROOM).filter(|r| r.state == RoomState::Joined)).await;
    session.disconnect().await;
}

on_both_servers!(
    a_room_is_created_found_on_the_service_joined_and_left,
    a_taken_nickname_is_a_typed_error_on_join_and_on_change,
    a_password_protected_room_refuses_a_wrong_password_and_admits_the_right_one,
    a_members_only_room_refuses_a_non_member,
    two_accounts_talk_in_a_room_and_our_reflection_is_one_sent_message,
    history_missed_while_away_arrives_once_in_order_also_after_new_sessions,
    a_kick_ends_the_room_with_its_reason_and_is_not_rejoined,
    moderators_voice_ban_and_destroy_and_others_may_not,
    spoofed_room_messages_archive_results_and_stanza_ids_are_refused,
);
