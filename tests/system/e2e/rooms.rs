//! Group chat in the real app against Prosody's MUC service, with Bob on the engine: Alice finds
//! Bob's room with "Browse" in the Join room dialog, is told inline that the nickname "bob" is
//! taken, joins with her own; Bob is in the occupant list (a moderator, the room's owner); a
//! message each way (Bob's shows his nick; ours is sent and reaches Bob's engine); leaving
//! (confirmed) reaches Bob as Alice leaving. Screenshots in both themes. And as a room's owner:
//! the subject changed, Bob kicked from his row's menu (with a reason), the room destroyed —
//! each confirmed, each seen by Bob's engine or in the pane. And notifications: with another
//! conversation open, Bob's mention of Alice reaches dunst as "bob in <room>", his plain
//! message does not, until the room's "Notify" select says "for every message".

use rapport_engine::events::Event;
use rapport_engine::types::{Affiliation, LeaveReason, RoomState};
use rapport_system_tests::desktop::{built_app, copy_app, labelled, poll, Driver, Env, UI_WAIT};
use rapport_system_tests::keyring::assert_secret_service;
use rapport_system_tests::server::{RosterItem, XmppServer};

use super::common::{expect_event, sign_in};
use super::{choose_theme, e2e_enabled, serial, sign_in_form};

const JOIN_DIALOG: &str = "//*[@role='dialog' and @aria-labelledby=//h2[normalize-space()='Join room']/@id]";
const OCCUPANTS: &str = "//ul[@aria-label='Occupants']";

/// XPath of a button in the Join room dialog.
fn join_button(name: &str) -> String {
    format!("{JOIN_DIALOG}//button[normalize-space()='{name}']")
}

/// The open room's pane (named "Room NAME"; the name is the room's from its disco#info).
const ROOM_PANE: &str = "//main[starts-with(@aria-label, 'Room ')]";

/// The room's row in the sidebar's "Rooms" list.
fn sidebar_row(room: &str) -> String {
    format!("//ul[@aria-labelledby=//h2[normalize-space()='Rooms']/@id]/li[.//button[@title='{room}']]")
}

fn message_from(author: &str, text: &str) -> String {
    format!("//*[@role='log']//article[starts-with(@aria-label, '{author},')][contains(., '{text}')]")
}

/// Opens the Join room dialog, browses the service, picks `room` and asks to join as `nick`.
fn join_from_dialog(d: &Driver, room: &str, nick: &str) {
    d.click(&d.wait("Join room button", "//button[normalize-space()='Join room…']"));
    d.wait("Join room dialog", JOIN_DIALOG);
    let service = d.wait("Room service field", &format!("{JOIN_DIALOG}//input[@aria-label='Room service']"));
    assert_eq!(d.prop(&service, "value"), serde_json::json!("muc.localhost"), "the MUC service offered is not muc.<domain>");
    d.click(&d.wait("Browse button", &join_button("Browse")));
    let listing = format!("{JOIN_DIALOG}//ul[@aria-label='Rooms on the service']//button[@title='{room}']");
    d.click(&d.wait("Bob's room in the listing", &listing));
    let address = d.wait("Room address field", &labelled("Room address"));
    assert_eq!(d.prop(&address, "value"), serde_json::json!(room), "choosing a listed room did not fill the address");
    d.fill(&d.wait("Nickname field", &labelled("Nickname")), nick);
    d.click(&d.wait("Join button", &join_button("Join")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joins_a_room_sees_the_occupants_and_chats_in_it() {
    if !e2e_enabled() {
        return;
    }
    let _serial = serial();
    let started = std::time::Instant::now();
    assert_secret_service();

    let server = XmppServer::start_prosody();
    let alice = server.create_user("alice");
    let bob = server.create_user("bob");
    let mut b = sign_in(&server, &bob).await;
    let room = format!("tea{}@{}", std::process::id(), server.muc_domain());
    let joined = b.session.join_room(&room, "bob", None).await.unwrap();
    assert_eq!(joined.affiliation, Affiliation::Owner);
    b.session.configure_room(&room, &[("muc#roomconfig_persistentroom", &["1"]), ("muc#roomconfig_publicroom", &["1"])]).await.unwrap();
    let alice_nick = alice.jid.split('@').next().unwrap().to_owned();

    let (_app_dir, app) = tokio::task::block_in_place(|| copy_app(&built_app()));
    let env = tokio::task::block_in_place(|| Env::start(&app));
    let d = tokio::task::block_in_place(|| {
        let d = env.launch();
        sign_in_form(&d, &server, &alice, &alice.password, false);
        d.wait("Rooms section", "//ul[@aria-labelledby=//h2[normalize-space()='Rooms']/@id]");

        // Bob's nickname is taken: said under the nickname field, which keeps the focus.
        join_from_dialog(&d, &room, "bob");
        let nick = d.wait("nickname marked invalid", &format!("{}[@aria-invalid='true']", labelled("Nickname")));
        let described = d.attr(&nick, "aria-describedby").expect("the nickname field points at its error");
        let error = d.text(&d.wait("nickname error", &format!("//*[@id='{described}']")));
        assert!(error.contains("taken"), "nickname conflict said as {error:?}");
        d.screenshot("40-room-nick-taken-light");

        // With our own nickname (the account's local part, offered by default) it works.
        d.fill(&nick, &alice_nick);
        d.click(&d.wait("Join button", &join_button("Join")));
        poll("Join room dialog closed", UI_WAIT, || d.find_all(JOIN_DIALOG).is_empty().then_some(()));
        d.wait("the room's pane", ROOM_PANE);
        d.wait("the room in the sidebar", &sidebar_row(&room));
        // Bob, the room's owner, is among the moderators; we are among the participants.
        d.wait("Moderators heading", &format!("{OCCUPANTS}//h3[contains(normalize-space(), 'Moderators')]"));
        d.wait("Bob, Owner, in the occupant list", &format!("{OCCUPANTS}/li[@aria-label='bob'][contains(., 'Owner')]"));
        d.wait("Bob available", &format!("{OCCUPANTS}/li[@aria-label='bob']//*[@role='img' and @aria-label='Available']"));
        d.wait("ourselves in the occupant list", &format!("{OCCUPANTS}/li[@aria-label='{alice_nick}']"));
        d
    });

    // --- Bob writes: his nick shows on his message.
    expect_event(&mut b.events, "Alice in Bob's room", |e| match e {
        Event::OccupantsChanged { room: r, changed, .. } if *r == room => changed.iter().any(|o| o.nick == alice_nick).then_some(()),
        _ => None,
    })
    .await;
    b.session.send_room_message(&room, "Welcome, have some tea").await.unwrap();
    tokio::task::block_in_place(|| {
        // The sender's nick is shown on the message, as its own line of text.
        d.wait("Bob's room message with his nick", &format!("{}[.//*[normalize-space()='bob']]", message_from("bob", "Welcome, have some tea")));
        // --- We answer: the message goes out with send_room_message and is marked Sent.
        let composer = d.wait("Message textbox", &format!("{ROOM_PANE}//textarea[@aria-label='Message']"));
        d.type_text(&composer, "Thanks, Bob!\u{E007}");
        d.wait("our message marked Sent", &format!("{}//*[@role='img' and @aria-label='Sent']", message_from("You", "Thanks, Bob!")));
        d.screenshot("41-room-light");
    });
    let got = expect_event(&mut b.events, "Alice's room message at Bob", |e| match e {
        Event::MessagesReceived { messages, .. } => messages.iter().find(|m| m.body == "Thanks, Bob!").cloned(),
        _ => None,
    })
    .await;
    assert_eq!(got.conversation, room);
    assert_eq!(got.sender, format!("{room}/{alice_nick}"));

    // --- Dark theme; then leave (confirmed): Bob sees Alice go, the room leaves the sidebar.
    tokio::task::block_in_place(|| {
        choose_theme(&d, "dark");
        d.screenshot("42-room-dark");
        d.click(&d.wait("Leave room button", "//button[normalize-space()='Leave room…']"));
        let confirm = "//*[@role='alertdialog' and @aria-labelledby=//h2[starts-with(normalize-space(), 'Leave ')]/@id]".to_owned();
        d.wait("leave confirmation", &confirm);
        d.click(&d.wait("confirm Leave room", &format!("{confirm}//button[normalize-space()='Leave room']")));
        poll("the room gone from the sidebar", UI_WAIT, || d.find_all(&sidebar_row(&room)).is_empty().then_some(()));
    });
    expect_event(&mut b.events, "Alice left, at Bob", |e| match e {
        Event::OccupantsChanged { room: r, left, .. } if *r == room => left.contains(&alice_nick).then_some(()),
        _ => None,
    })
    .await;
    assert_eq!(b.session.room(&room).map(|r| r.state), Some(RoomState::Joined), "Bob is still in his room");
    tokio::task::block_in_place(|| env.quit(d));
    b.session.disconnect().await;
    eprintln!("e2e rooms: passed in {:.1?}", started.elapsed());
}

/// An alert dialog whose heading starts with `title`.
fn confirmation(title: &str) -> String {
    format!("//*[@role='alertdialog' and @aria-labelledby=//h2[starts-with(normalize-space(), '{title}')]/@id]")
}

/// Fills the open confirmation's text field (if `text`) and presses its `button`.
fn confirm(d: &Driver, title: &str, text: Option<&str>, button: &str) {
    let dialog = confirmation(title);
    d.wait(&format!("'{title}' confirmation"), &dialog);
    if let Some(text) = text {
        d.fill(&d.wait("the confirmation's field", &format!("{dialog}//input")), text);
    }
    d.click(&d.wait(&format!("'{button}' button"), &format!("{dialog}//button[normalize-space()='{button}']")));
    poll(&format!("'{title}' confirmation closed"), UI_WAIT, || d.find_all(&dialog).is_empty().then_some(()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_owner_sets_the_subject_kicks_and_destroys_from_the_app() {
    if !e2e_enabled() {
        return;
    }
    let _serial = serial();
    assert_secret_service();

    let server = XmppServer::start_prosody();
    let alice = server.create_user("alice");
    let bob = server.create_user("bob");
    let mut b = sign_in(&server, &bob).await;
    let room = format!("den{}@{}", std::process::id(), server.muc_domain());
    let alice_nick = alice.jid.split('@').next().unwrap().to_owned();

    let (_app_dir, app) = tokio::task::block_in_place(|| copy_app(&built_app()));
    let env = tokio::task::block_in_place(|| Env::start(&app));
    // Alice creates the room by joining it (with the nickname offered: her local part).
    let d = tokio::task::block_in_place(|| {
        let d = env.launch();
        sign_in_form(&d, &server, &alice, &alice.password, false);
        d.click(&d.wait("Join room button", "//button[normalize-space()='Join room…']"));
        d.fill(&d.wait("Room address field", &labelled("Room address")), &room);
        let nick = d.wait("Nickname field", &labelled("Nickname"));
        assert_eq!(d.prop(&nick, "value"), serde_json::json!(alice_nick), "the nickname offered is not the account's local part");
        d.click(&d.wait("Join button", &join_button("Join")));
        d.wait("the room's pane", ROOM_PANE);
        d.wait("ourselves among the moderators", &format!("{OCCUPANTS}/li[@aria-label='{alice_nick}'][contains(., 'Owner')]"));
        d
    });
    b.session.join_room(&room, "bob", None).await.unwrap();

    tokio::task::block_in_place(|| {
        // The subject, as a moderator.
        d.click(&d.wait("Change subject button", "//button[normalize-space()='Change subject…']"));
        confirm(&d, "Change subject", Some("Tea at five"), "Set subject");
        d.wait("the subject in the header", &format!("{ROOM_PANE}//header[contains(., 'Tea at five')]"));
        // Kick Bob from his row's menu, with a reason.
        d.click(&d.wait("Bob's actions button", &format!("{OCCUPANTS}/li[@aria-label='bob']//button[@aria-label='Actions for bob']")));
        d.click(&d.wait("Kick menu item", &format!("{OCCUPANTS}//*[@role='menu']//*[@role='menuitem' and normalize-space()='Kick…']")));
        confirm(&d, "Kick bob", Some("enough tea"), "Kick");
        poll("Bob gone from the occupant list", UI_WAIT, || d.find_all(&format!("{OCCUPANTS}/li[@aria-label='bob']")).is_empty().then_some(()));
    });
    let subject = expect_event(&mut b.events, "the subject at Bob", |e| match e {
        Event::RoomChanged { room: r } if r.jid == room && r.subject.is_some() => r.subject.clone(),
        _ => None,
    })
    .await;
    assert_eq!(subject, "Tea at five");
    let kicked = expect_event(&mut b.events, "Bob kicked", |e| match e {
        Event::RoomChanged { room: r } if r.jid == room => match &r.state {
            RoomState::Left(LeaveReason::Kicked { text, .. }) => Some(text.clone()),
            _ => None,
        },
        _ => None,
    })
    .await;
    assert_eq!(kicked.as_deref(), Some("enough tea"));

    // Destroy the room (owner): the pane says so and offers to join again.
    tokio::task::block_in_place(|| {
        d.click(&d.wait("Destroy room button", "//button[normalize-space()='Destroy room…']"));
        confirm(&d, "Destroy", Some("closing time"), "Destroy room");
        d.wait("the room's state says destroyed", &format!("{ROOM_PANE}//*[@role='status'][starts-with(normalize-space(), 'Room destroyed')]"));
        d.wait("Join again offered", &format!("{ROOM_PANE}//button[normalize-space()='Join again…']"));
        d.screenshot("43-room-destroyed-light");
        env.quit(d);
    });
    b.session.disconnect().await;
}

/// The one notification in dunst whose body is `body` (waiting for it), as (summary, body).
fn notification_with(env: &Env, what: &str, body: &str) -> (String, String) {
    poll(what, UI_WAIT, || env.notifications().into_iter().find(|(_, b)| b == body))
}

/// Issue 5's mention: with another conversation open (the room not being read), Bob's
/// "@alice…" in the room reaches dunst as "bob in <room's name>" with the text; his plain
/// message does not (the barrier: the app shows the plain message in the sidebar — it decides
/// on notifications before telling the UI — and Bob's next mention arrives alone, as a single
/// notification, while the plain one never appears); once the room's "Notify" select says "for
/// every message", a plain message notifies too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mention_in_a_room_notifies_and_plain_messages_only_when_asked() {
    if !e2e_enabled() {
        return;
    }
    let _serial = serial();
    assert_secret_service();

    let server = XmppServer::start_prosody();
    let alice = server.create_user("alice");
    let bob = server.create_user("bob");
    server.set_roster(&alice, &[RosterItem::new(&bob.jid).name("Bob")]);
    let mut b = sign_in(&server, &bob).await;
    let room = format!("review{}@{}", std::process::id(), server.muc_domain());
    let room_name = "Review room";
    b.session.join_room(&room, "bob", None).await.unwrap();
    b.session
        .configure_room(&room, &[("muc#roomconfig_persistentroom", &["1"]), ("muc#roomconfig_roomname", &[room_name])])
        .await
        .unwrap();
    let alice_nick = alice.jid.split('@').next().unwrap().to_owned();
    let from_bob = format!("bob in {room_name}");

    let (_app_dir, app) = tokio::task::block_in_place(|| copy_app(&built_app()));
    let env = tokio::task::block_in_place(|| Env::start(&app));
    let bobs_chat = "//main[@aria-label='Conversation with Bob']";
    let open_bobs_chat = |d: &Driver| {
        d.click(&d.wait("Bob's row", "//ul[@aria-label='Contacts']/li[@aria-label='Bob']//button"));
        // The UI reports the open conversation to the app (set_view) when it opens it: the
        // composer of Bob's conversation is there once that ran.
        d.wait("Bob's conversation", &format!("{bobs_chat}//textarea[@aria-label='Message']"));
        d.settle();
    };
    let room_pane = format!("//main[@aria-label='Room {room_name}']");
    // Alice joins Bob's room by its address (the nickname offered: her local part), sees Bob in
    // it, then opens Bob's one-to-one conversation: the room is not being read.
    let (d, before) = tokio::task::block_in_place(|| {
        env.wait_for_notification_daemon();
        let d = env.launch();
        sign_in_form(&d, &server, &alice, &alice.password, false);
        d.click(&d.wait("Join room button", "//button[normalize-space()='Join room…']"));
        d.fill(&d.wait("Room address field", &labelled("Room address")), &room);
        let nick = d.wait("Nickname field", &labelled("Nickname"));
        assert_eq!(d.prop(&nick, "value"), serde_json::json!(alice_nick), "the nickname offered is not the account's local part");
        d.click(&d.wait("Join button", &join_button("Join")));
        poll("Join room dialog closed", UI_WAIT, || d.find_all(JOIN_DIALOG).is_empty().then_some(()));
        // Named from its disco#info: the name the notification uses.
        d.wait("the room's pane, with its name", &room_pane);
        d.wait("Bob in the occupant list", &format!("{OCCUPANTS}/li[@aria-label='bob']"));
        d.wait("ourselves in the occupant list", &format!("{OCCUPANTS}/li[@aria-label='{alice_nick}']"));
        let notify = d.wait("the Notify select", &format!("{room_pane}//header//label[starts-with(normalize-space(), 'Notify')]//select"));
        assert_eq!(d.prop(&notify, "value"), serde_json::json!("mentions"), "a room notifies of mentions by default");
        open_bobs_chat(&d);
        (d, env.notifications().len())
    });
    expect_event(&mut b.events, "Alice in Bob's room", |e| match e {
        Event::OccupantsChanged { room: r, changed, .. } if *r == room => changed.iter().any(|o| o.nick == alice_nick).then_some(()),
        _ => None,
    })
    .await;

    // --- A mention notifies: "bob in Review room", the text.
    let mention = format!("@{alice_nick} can you review?");
    b.session.send_room_message(&room, &mention).await.unwrap();
    tokio::task::block_in_place(|| {
        let shown = notification_with(&env, "the mention's notification in dunst", &mention);
        assert_eq!(shown.0, from_bob, "a mention's notification is not titled with the speaker and the room: {shown:?}");
        d.wait("the room's unread badge", &format!("{}//*[@aria-label='1 unread']", sidebar_row(&room)));
    });

    // --- A plain message does not. The app shows it in the sidebar only after deciding on its
    // notification; Bob's next mention then notifies alone (a single notification, not "2 new
    // messages"), and the plain one never reached dunst.
    let plain = "Lunch is ready in the kitchen";
    b.session.send_room_message(&room, plain).await.unwrap();
    tokio::task::block_in_place(|| {
        d.wait("the plain message received (sidebar preview)", &format!("{}[contains(., '{plain}')]", sidebar_row(&room)));
    });
    let second = format!("{alice_nick}: and the second chapter, please");
    b.session.send_room_message(&room, &second).await.unwrap();
    tokio::task::block_in_place(|| {
        let shown = notification_with(&env, "the second mention's notification in dunst", &second);
        assert_eq!(shown.0, from_bob, "the second mention did not notify alone: {shown:?}");
        let all = env.notifications();
        assert!(!all.iter().any(|(_, body)| body.contains(plain)), "a plain room message notified by default: {all:?}");
        assert_eq!(all.len(), before + 2, "expected the two mentions' notifications, no other: {all:?}");
        d.screenshot("44-room-mention-notified-light");
    });

    // --- "Notify: for every message" (the room's header; saved before the app is told more),
    // back in Bob's conversation: a plain message notifies.
    tokio::task::block_in_place(|| {
        d.click(&d.wait("the room's row", &format!("{}//button", sidebar_row(&room))));
        let select = format!("{room_pane}//header//label[starts-with(normalize-space(), 'Notify')]//select");
        let select_el = d.wait("the Notify select", &select);
        d.click(&d.wait("'for every message' option", &format!("{select}/option[normalize-space()='for every message']")));
        poll("Notify set to every message", UI_WAIT, || (d.prop(&select_el, "value") == serde_json::json!("all")).then_some(()));
        let settings = env.profile_dir().join("config").join("settings.json");
        poll("the room's setting saved", UI_WAIT, || {
            let saved: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&settings).ok()?).ok()?;
            (saved["room_notify"][&room] == serde_json::json!("all")).then_some(())
        });
        open_bobs_chat(&d);
    });
    let plain_now = "Tea is served on the terrace";
    b.session.send_room_message(&room, plain_now).await.unwrap();
    tokio::task::block_in_place(|| {
        let shown = notification_with(&env, "the plain message's notification once every message notifies", plain_now);
        assert_eq!(shown.0, from_bob, "{shown:?}");
        let all = env.notifications();
        assert!(!all.iter().any(|(_, body)| body.contains(plain)), "the earlier plain message notified late: {all:?}");
        env.quit(d);
    });
    b.session.disconnect().await;
}
