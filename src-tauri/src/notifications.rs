//! Desktop notifications for incoming messages (notify-rust over D-Bus).
//!
//! `plan` decides, purely, what one batch of received messages should show: nothing, one
//! notification for one message, or ONE summary for a burst ("12 new messages from 3
//! conversations", never twelve popups). `content` turns the plan into plain text. `notify_messages` gathers the inputs (settings, own presence, focus, open
//! conversation, roster names) and shows the result on a worker thread, because notify-rust's
//! D-Bus calls block and waiting for a click lasts as long as the notification does.
//! Messages fetched from the server's archive after being offline (`catch_up`) are collected in
//! a `CatchUp` until the sync finishes, then planned together and shown as ONE notification
//! ("N new messages while you were offline", `catch_up_content`; `notify_catch_up`).

use std::sync::Mutex;

use rapport_engine::types::{Direction, Message, OwnPresence, Room, RosterItem};
use tauri::{AppHandle, Emitter, Manager};

use crate::settings::{RoomNotify, Settings, SettingsStore};
use crate::state::AppState;

/// Sent to the UI with the bare JID of the conversation to open (a notification was clicked).
pub const OPEN_CONVERSATION: &str = "open-conversation";

/// Longest preview of a message body, in characters.
pub const PREVIEW_CHARS: usize = 120;

/// What the window shows, as far as notifications care. Focus comes from the window's events,
/// the open conversation from the UI (`set_view`).
#[derive(Default)]
pub struct ViewState {
    inner: Mutex<View>,
}

#[derive(Default, Clone)]
struct View {
    focused: bool,
    open_conversation: Option<String>,
}

impl ViewState {
    pub fn set_focused(&self, focused: bool) {
        self.inner.lock().unwrap().focused = focused;
    }

    pub fn set_open_conversation(&self, jid: Option<String>) {
        self.inner.lock().unwrap().open_conversation = jid;
    }
}

/// Everything but the messages that decides whether to notify.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The "notifications" setting.
    pub enabled: bool,
    /// Own presence is "do not disturb".
    pub do_not_disturb: bool,
    /// The window is focused (and so visible).
    pub focused: bool,
    /// The conversation the UI shows.
    pub open_conversation: Option<&'a str>,
}

/// Whether the user wants to hear of a message at all: not a muted conversation, and in a room
/// as its setting says (all, mentions of us, nothing).
pub type Wants<'a> = &'a dyn Fn(&Message) -> bool;

/// The user's settings as `Wants`: a contact's message unless the conversation is muted; a
/// room's as the room's setting says (by default only messages mentioning us).
pub fn wanted(settings: &Settings, in_room: bool, message: &Message) -> bool {
    if !in_room {
        return !settings.muted.contains(&message.conversation);
    }
    match settings.room_notify.get(&message.conversation).copied().unwrap_or_default() {
        RoomNotify::All => true,
        RoomNotify::Mentions => message.mentions_me,
        RoomNotify::Never => false,
    }
}

/// Whether `message` deserves the user's attention now.
pub fn should_notify(context: &Context<'_>, wants: Wants<'_>, message: &Message) -> bool {
    let being_read = context.focused && context.open_conversation == Some(message.conversation.as_str());
    context.enabled
        && !context.do_not_disturb
        && message.direction == Direction::Incoming
        && !message.read
        && !being_read
        && wants(message)
}

#[derive(Debug, PartialEq)]
pub enum Plan<'m> {
    /// One message: the sender and a preview.
    Single(&'m Message),
    /// Several messages: how many and from which conversations (first seen first); `last` is the
    /// newest, previewed when they all come from one conversation.
    Summary { count: usize, conversations: Vec<&'m str>, last: &'m Message },
}

/// What one batch of received messages should show, if anything.
pub fn plan<'m>(context: &Context<'_>, wants: Wants<'_>, messages: &'m [Message]) -> Option<Plan<'m>> {
    let chosen: Vec<&Message> = messages.iter().filter(|m| should_notify(context, wants, m)).collect();
    match chosen.as_slice() {
        [] => None,
        [one] => Some(Plan::Single(one)),
        many => {
            let mut conversations: Vec<&str> = Vec::new();
            for m in many {
                if !conversations.contains(&m.conversation.as_str()) {
                    conversations.push(&m.conversation);
                }
            }
            let last = *many.iter().max_by_key(|m| (m.timestamp, m.id)).expect("not empty");
            Some(Plan::Summary { count: many.len(), conversations, last })
        }
    }
}

/// The catch-up messages that may deserve a notification (incoming, unread), collected from
/// `SyncStarted` to `SyncFinished`.
#[derive(Default)]
pub struct CatchUp {
    messages: Vec<Message>,
}

impl CatchUp {
    pub fn add(&mut self, messages: &[Message]) {
        self.messages.extend(messages.iter().filter(|m| m.direction == Direction::Incoming && !m.read).cloned());
    }

    pub fn take(&mut self) -> Vec<Message> {
        std::mem::take(&mut self.messages)
    }
}

/// The text of a notification (plain text; see `escape_markup` for servers that parse markup).
#[derive(Debug, PartialEq, Eq)]
pub struct Content {
    pub summary: String,
    pub body: String,
    /// The conversation a click opens (none for a summary of several conversations).
    pub open: Option<String>,
}

/// `name_of` names a conversation, or a sender (a full JID: in a room, `room/nick`).
pub fn content(plan: &Plan<'_>, name_of: &dyn Fn(&str) -> String) -> Content {
    match plan {
        Plan::Single(m) => Content { summary: name_of(&m.sender), body: preview(&m.body), open: Some(m.conversation.clone()) },
        Plan::Summary { count, conversations, last } if conversations.len() == 1 => Content {
            summary: format!("{count} new messages from {}", name_of(conversations[0])),
            body: preview(&last.body),
            open: Some(conversations[0].to_string()),
        },
        Plan::Summary { count, conversations, .. } => Content {
            summary: format!("{count} new messages from {} conversations", conversations.len()),
            body: preview(&conversations.iter().map(|jid| name_of(jid)).collect::<Vec<_>>().join(", ")),
            open: None,
        },
    }
}

/// The text for what arrived while we were offline: one message as usual, several as "N new
/// messages while you were offline".
pub fn catch_up_content(plan: &Plan<'_>, name_of: &dyn Fn(&str) -> String) -> Content {
    let mut text = content(plan, name_of);
    if let Plan::Summary { count, conversations, last } = plan {
        text.summary = format!("{count} new messages while you were offline");
        if let [only] = conversations.as_slice() {
            text.body = preview(&format!("{}: {}", name_of(only), last.body));
        }
    }
    text
}

/// One line of at most `PREVIEW_CHARS` characters: control characters and runs of white space
/// become one space; a cut is marked with "…".
pub fn preview(text: &str) -> String {
    let mut line = String::new();
    for word in text.split(|c: char| c.is_whitespace() || c.is_control()).filter(|w| !w.is_empty()) {
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
        if line.chars().count() > PREVIEW_CHARS {
            break;
        }
    }
    if line.chars().count() > PREVIEW_CHARS {
        let mut cut: String = line.chars().take(PREVIEW_CHARS - 1).collect();
        cut.truncate(cut.trim_end().len());
        cut.push('…');
        cut
    } else {
        line
    }
}

/// Notification servers that announce "body-markup" parse the body as a small HTML subset, so
/// text from the network is escaped for them (others show the body as it is).
pub fn escape_markup(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// The server's capabilities, asked once it answers (a server started later is asked again).
static CAPABILITIES: Mutex<Option<Vec<String>>> = Mutex::new(None);

fn capabilities() -> Vec<String> {
    let mut cached = CAPABILITIES.lock().unwrap();
    if cached.is_none() {
        match notify_rust::get_capabilities() {
            Ok(found) => *cached = Some(found),
            Err(error) => {
                tracing::debug!(%error, "no notification server");
                return Vec::new();
            }
        }
    }
    cached.clone().unwrap_or_default()
}

/// Called with every batch of live received messages.
pub fn notify_messages(app: &AppHandle, messages: &[Message]) {
    notify(app, messages, content);
}

/// Called when the catch-up after a new session is done, with what it collected.
pub fn notify_catch_up(app: &AppHandle, messages: Vec<Message>) {
    notify(app, &messages, catch_up_content);
}

/// Turns a plan into text, given how to name a conversation (`content`, `catch_up_content`).
type Describe = fn(&Plan<'_>, &dyn Fn(&str) -> String) -> Content;

fn notify(app: &AppHandle, messages: &[Message], describe: Describe) {
    let settings = app.state::<SettingsStore>();
    let state = app.state::<AppState>();
    let view = app.state::<ViewState>().inner.lock().unwrap().clone();
    let current = settings.get();
    let context = Context {
        enabled: current.notifications,
        do_not_disturb: state.status().own_presence == OwnPresence::DoNotDisturb,
        focused: view.focused,
        open_conversation: view.open_conversation.as_deref(),
    };
    let rooms = state.session().map(|s| s.rooms()).unwrap_or_default();
    let is_room = |jid: &str| rooms.iter().any(|room| room.jid == jid);
    let wants = |m: &Message| wanted(&current, is_room(&m.conversation), m);
    let Some(plan) = plan(&context, &wants, messages) else { return };
    let roster = state.session().map(|s| s.roster()).unwrap_or_default();
    let name_of = |jid: &str| display_name(jid, &roster, &rooms);
    let content = describe(&plan, &name_of);
    let sounds = current.sounds;
    let app = app.clone();
    std::thread::Builder::new()
        .name("notification".into())
        .spawn(move || show(&app, content, sounds))
        .map(drop)
        .unwrap_or_else(|error| tracing::warn!(%error, "could not start the notification thread"));
}

/// A conversation's or a sender's name in a notification: the contact's roster name, the room's
/// name (else its address's local part), or the address; someone in a room (`room/nick`) is
/// "nick in Room".
pub fn display_name(jid: &str, roster: &[RosterItem], rooms: &[Room]) -> String {
    if let Some((bare, resource)) = jid.split_once('/') {
        return match rooms.iter().any(|room| room.jid == bare) {
            true => format!("{resource} in {}", display_name(bare, roster, rooms)),
            false => display_name(bare, roster, rooms),
        };
    }
    let named = |name: &Option<String>| name.clone().filter(|n| !n.trim().is_empty());
    if let Some(name) = roster.iter().find(|item| item.jid == jid).and_then(|item| named(&item.name)) {
        return name;
    }
    if let Some(room) = rooms.iter().find(|room| room.jid == jid) {
        return named(&room.name).unwrap_or_else(|| jid.split('@').next().unwrap_or(jid).to_string());
    }
    jid.to_string()
}

fn show(app: &AppHandle, content: Content, sounds: bool) {
    use notify_rust::{Hint, Notification};
    let capabilities = capabilities();
    let has = |cap: &str| capabilities.iter().any(|c| c == cap);
    let body = if has("body-markup") { escape_markup(&content.body) } else { content.body };
    let mut notification = Notification::new();
    notification
        .appname("Rapport")
        .summary(&preview(&content.summary))
        .body(&body)
        .icon("rapport-desktop")
        .hint(Hint::Category("im.received".into()))
        .hint(Hint::DesktopEntry("Rapport".into()));
    // The sound is the notification server's: Rapport plays none itself (no sound API is used on
    // Linux); "sounds off" asks the server to stay silent.
    if sounds {
        notification.hint(Hint::SoundName("message-new-instant".into()));
    } else {
        notification.hint(Hint::SuppressSound(true));
    }
    let clickable = has("actions");
    if clickable {
        notification.action("default", "Open");
    }
    match notification.show() {
        Ok(handle) if clickable => {
            let open = content.open;
            handle.wait_for_action(|action| {
                if action == "default" {
                    tracing::debug!(open = ?open, "notification clicked");
                    if let Some(jid) = &open {
                        let _ = app.emit(OPEN_CONVERSATION, jid);
                    }
                    crate::tray::show_window(app);
                }
            });
        }
        Ok(_) => {}
        Err(error) => tracing::info!(%error, "could not show a notification"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_notification_names_a_contact_by_roster_name_and_a_room_by_its_name() {
        use rapport_engine::types::{Affiliation, Role, RoomState, Subscription};
        let roster = vec![RosterItem { jid: "bob@x".into(), name: Some("Bob".into()), groups: vec![], subscription: Subscription::Both, pending_out: false }];
        let room = |jid: &str, name: Option<&str>| Room {
            jid: jid.into(),
            nick: "me".into(),
            name: name.map(Into::into),
            subject: None,
            state: RoomState::Joined,
            role: Role::Participant,
            affiliation: Affiliation::None,
            occupant_id: None,
        };
        let rooms = vec![room("tea@muc.x", Some("Tea time")), room("den@muc.x", None)];
        assert_eq!(super::display_name("bob@x", &roster, &rooms), "Bob");
        assert_eq!(super::display_name("tea@muc.x", &roster, &rooms), "Tea time");
        assert_eq!(super::display_name("den@muc.x", &roster, &rooms), "den");
        assert_eq!(super::display_name("carol@x", &roster, &rooms), "carol@x");
        assert_eq!(super::display_name("bob@x/phone", &roster, &rooms), "Bob");
        assert_eq!(super::display_name("tea@muc.x/carol", &roster, &rooms), "carol in Tea time");
    }

    use super::*;
    use rapport_engine::types::DeliveryState;

    fn incoming(id: i64, from: &str, body: &str) -> Message {
        Message {
            id,
            conversation: from.into(),
            direction: Direction::Incoming,
            sender: format!("{from}/phone"),
            body: body.into(),
            timestamp: 1_700_000_000_000 + id,
            origin_id: None,
            stanza_id: None,
            state: DeliveryState::None,
            read: false,
            mentions_me: false,
            retracted: false,
        }
    }

    const AWAY: Context<'static> = Context { enabled: true, do_not_disturb: false, focused: false, open_conversation: None };
    const NOT_MUTED: Wants<'static> = &|_| true;

    #[test]
    fn notifies_when_unfocused_or_another_conversation_is_open() {
        let m = incoming(1, "bob@x", "hi");
        assert!(should_notify(&AWAY, NOT_MUTED, &m));
        let reading_bob = Context { focused: true, open_conversation: Some("bob@x"), ..AWAY };
        assert!(!should_notify(&reading_bob, NOT_MUTED, &m), "the open, focused conversation does not notify");
        let reading_carol = Context { focused: true, open_conversation: Some("carol@x"), ..AWAY };
        assert!(should_notify(&reading_carol, NOT_MUTED, &m));
        let bob_in_background = Context { focused: false, open_conversation: Some("bob@x"), ..AWAY };
        assert!(should_notify(&bob_in_background, NOT_MUTED, &m));
    }

    #[test]
    fn never_for_own_read_muted_disabled_or_dnd() {
        let mut own = incoming(1, "bob@x", "sent from my phone");
        own.direction = Direction::Outgoing;
        assert!(!should_notify(&AWAY, NOT_MUTED, &own));
        let mut read = incoming(2, "bob@x", "old");
        read.read = true;
        assert!(!should_notify(&AWAY, NOT_MUTED, &read));
        let m = incoming(3, "bob@x", "hi");
        assert!(!should_notify(&AWAY, &|m| m.conversation != "bob@x", &m));
        assert!(should_notify(&AWAY, &|m| m.conversation != "carol@x", &m));
        assert!(!should_notify(&Context { enabled: false, ..AWAY }, NOT_MUTED, &m));
        assert!(!should_notify(&Context { do_not_disturb: true, ..AWAY }, NOT_MUTED, &m));
    }

    #[test]
    fn one_message_one_notification_with_name_and_preview() {
        let messages = [incoming(1, "bob@x", "hello\n<b>there</b>")];
        let plan = plan(&AWAY, NOT_MUTED, &messages).unwrap();
        assert_eq!(plan, Plan::Single(&messages[0]));
        let text = content(&plan, &|jid| if jid.starts_with("bob@x") { "Bob".into() } else { jid.into() });
        assert_eq!(text, Content { summary: "Bob".into(), body: "hello <b>there</b>".into(), open: Some("bob@x".into()) });
    }

    #[test]
    fn a_burst_gives_one_summary() {
        let mut messages: Vec<Message> = (0..12).map(|i| incoming(i, ["bob@x", "carol@x", "dave@x"][i as usize % 3], &format!("m{i}"))).collect();
        messages.push(incoming(100, "erin@x", "muted"));
        let mut own = incoming(101, "bob@x", "mine");
        own.direction = Direction::Outgoing;
        messages.push(own);
        let plan = plan(&AWAY, &|m| m.conversation != "erin@x", &messages).unwrap();
        let Plan::Summary { count, conversations, .. } = &plan else { panic!("expected a summary, got {plan:?}") };
        assert_eq!((*count, conversations.clone()), (12, vec!["bob@x", "carol@x", "dave@x"]));
        let text = content(&plan, &|jid| jid.split('@').next().unwrap().to_uppercase());
        assert_eq!(text.summary, "12 new messages from 3 conversations");
        assert_eq!(text.body, "BOB, CAROL, DAVE");
        assert_eq!(text.open, None);
    }

    #[test]
    fn a_burst_from_one_conversation_opens_it_and_previews_the_newest() {
        let messages: Vec<Message> = (1..=3).map(|i| incoming(i, "bob@x", &format!("message {i}"))).collect();
        let text = content(&plan(&AWAY, NOT_MUTED, &messages).unwrap(), &|_| "Bob".into());
        assert_eq!(text, Content { summary: "3 new messages from Bob".into(), body: "message 3".into(), open: Some("bob@x".into()) });
    }

    #[test]
    fn nothing_to_show_gives_no_plan() {
        let messages = [incoming(1, "bob@x", "hi")];
        assert_eq!(plan(&Context { do_not_disturb: true, ..AWAY }, NOT_MUTED, &messages), None);
        assert_eq!(plan(&AWAY, NOT_MUTED, &[]), None);
    }

    #[test]
    fn a_catch_up_keeps_only_unread_incoming_messages_and_gives_one_summary() {
        let mut catch_up = CatchUp::default();
        let mut own = incoming(1, "bob@x", "from my phone");
        own.direction = Direction::Outgoing;
        let mut read = incoming(2, "bob@x", "read elsewhere");
        read.read = true;
        catch_up.add(&[own, read, incoming(3, "bob@x", "one"), incoming(4, "bob@x", "two")]);
        let messages = catch_up.take();
        assert_eq!(messages.iter().map(|m| m.id).collect::<Vec<_>>(), [3, 4]);
        assert!(catch_up.take().is_empty());

        let text = catch_up_content(&plan(&AWAY, NOT_MUTED, &messages).unwrap(), &|_| "Bob".into());
        assert_eq!(text, Content { summary: "2 new messages while you were offline".into(), body: "Bob: two".into(), open: Some("bob@x".into()) });
        let several = [incoming(5, "bob@x", "a"), incoming(6, "carol@x", "b"), incoming(7, "erin@x", "muted")];
        let text = catch_up_content(&plan(&AWAY, &|m| m.conversation != "erin@x", &several).unwrap(), &|jid| jid.into());
        assert_eq!((text.summary.as_str(), text.body.as_str(), text.open), ("2 new messages while you were offline", "bob@x, carol@x", None));
        let one = [incoming(8, "bob@x", "hi")];
        assert_eq!(catch_up_content(&plan(&AWAY, NOT_MUTED, &one).unwrap(), &|_| "Bob".into()).summary, "Bob");
        assert_eq!(plan(&Context { do_not_disturb: true, ..AWAY }, NOT_MUTED, &several), None);
    }

    #[test]
    fn a_room_notifies_mentions_by_default_or_as_set_and_names_the_speaker() {
        let mut said = incoming(1, "team@muc.x", "lunch?");
        said.sender = "team@muc.x/bob".into();
        let mut mention = incoming(2, "team@muc.x", "@alice lunch?");
        mention.sender = "team@muc.x/bob".into();
        mention.mentions_me = true;
        let mut settings = Settings::default();
        assert!(!wanted(&settings, true, &said) && wanted(&settings, true, &mention));
        settings.room_notify.insert("team@muc.x".into(), RoomNotify::All);
        assert!(wanted(&settings, true, &said));
        settings.room_notify.insert("team@muc.x".into(), RoomNotify::Never);
        assert!(!wanted(&settings, true, &mention));
        settings.muted.insert("bob@x".into());
        assert!(!wanted(&settings, false, &incoming(3, "bob@x", "hi")) && wanted(&settings, false, &incoming(4, "carol@x", "hi")));

        let messages = [mention];
        let text = content(&plan(&AWAY, NOT_MUTED, &messages).unwrap(), &|jid| jid.replace("team@muc.x/", "").to_string() + " in Team");
        assert_eq!((text.summary.as_str(), text.open.as_deref()), ("bob in Team", Some("team@muc.x")));
    }

    #[test]
    fn previews_are_one_short_line() {
        assert_eq!(preview("  a\tb\r\n\u{7}c  "), "a b c");
        let long = "word ".repeat(100);
        let cut = preview(&long);
        assert!(cut.chars().count() <= PREVIEW_CHARS && cut.ends_with('…'), "{cut}");
        let emoji = "😀".repeat(500);
        assert_eq!(preview(&emoji).chars().count(), PREVIEW_CHARS);
        assert_eq!(escape_markup("<i>a&b</i>"), "&lt;i&gt;a&amp;b&lt;/i&gt;");
    }
}
