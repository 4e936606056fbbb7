//! The commands the web view may call (each also needs its `allow-…` permission in
//! `capabilities/main-window.json`; see build.rs). They are thin: argument checks, one engine
//! call; the engine's DTOs go out as they are. Errors are `AppError` (`{code, …, message}`).

use tauri::{AppHandle, State};

use rapport_engine::types::{Affiliation, ChatState, ContactPresence, Conversation, Message, Occupant, OwnPresence, Role, Room, RoomListing, RosterItem, SearchHit};

use rapport_engine::pipeline::bookmarks::Bookmark;
use rapport_engine::pipeline::forms::{Answers, Form};
use rapport_engine::pipeline::invitations::Invitation;

use crate::dto::{AppError, ErrorKind, SignInRequest, Status};
use crate::notifications::ViewState;
use crate::settings::{RoomNotify, Settings, SettingsStore};
use crate::state::{AppState, CommandResult};

/// Largest page the UI may ask for in one call.
const MAX_PAGE: u32 = 500;

fn engine<T>(result: rapport_engine::Result<T>) -> CommandResult<T> {
    result.map_err(AppError::from)
}

#[tauri::command(rename_all = "snake_case")]
pub fn status(state: State<'_, AppState>) -> Status {
    state.status()
}

#[tauri::command(rename_all = "snake_case")]
pub async fn sign_in(app: AppHandle, state: State<'_, AppState>, request: SignInRequest) -> CommandResult<Status> {
    state.sign_in(&app, request).await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn trust_certificate(app: AppHandle, state: State<'_, AppState>, fingerprint: String) -> CommandResult<Status> {
    state.trust_certificate(&app, &fingerprint).await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn sign_out(app: AppHandle, state: State<'_, AppState>) -> CommandResult<Status> {
    state.sign_out(&app).await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn forget_account(app: AppHandle, state: State<'_, AppState>, jid: String, delete_history: bool) -> CommandResult<Status> {
    state.forget_account(&app, &jid, delete_history).await
}

#[tauri::command(rename_all = "snake_case")]
pub fn roster(state: State<'_, AppState>) -> CommandResult<Vec<RosterItem>> {
    Ok(state.session()?.roster())
}

#[tauri::command(rename_all = "snake_case")]
pub fn presences(state: State<'_, AppState>) -> CommandResult<Vec<ContactPresence>> {
    Ok(state.session()?.presences())
}

#[tauri::command(rename_all = "snake_case")]
pub fn subscription_requests(state: State<'_, AppState>) -> CommandResult<Vec<String>> {
    Ok(state.session()?.subscription_requests())
}

#[tauri::command(rename_all = "snake_case")]
pub async fn conversations(state: State<'_, AppState>) -> CommandResult<Vec<Conversation>> {
    engine(state.session()?.conversations().await)
}

/// A page of history, newest last: the `limit` messages before message id `before` (or the latest).
#[tauri::command(rename_all = "snake_case")]
pub async fn history(state: State<'_, AppState>, conversation: String, before: Option<i64>, limit: u32) -> CommandResult<Vec<Message>> {
    let session = state.session()?;
    // The engine pages newest first; the UI shows (and appends to) a list that ends with the newest.
    let mut page = engine(session.history(&conversation, before, limit.clamp(1, MAX_PAGE)).await)?;
    page.reverse();
    Ok(page)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn search(state: State<'_, AppState>, query: String, conversation: Option<String>, limit: u32) -> CommandResult<Vec<SearchHit>> {
    let session = state.session()?;
    engine(session.search(&query, conversation.as_deref(), limit.clamp(1, MAX_PAGE)).await)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn send_message(state: State<'_, AppState>, to: String, body: String) -> CommandResult<Message> {
    engine(state.session()?.send_message(&to, &body).await)
}

/// Sends a message that failed again (it becomes pending).
#[tauri::command(rename_all = "snake_case")]
pub async fn retry_message(state: State<'_, AppState>, id: i64) -> CommandResult<Message> {
    engine(state.session()?.retry_message(id).await)
}

/// Deletes our own message that failed or is still pending.
#[tauri::command(rename_all = "snake_case")]
pub async fn delete_message(state: State<'_, AppState>, id: i64) -> CommandResult<()> {
    engine(state.session()?.delete_message(id).await)
}

/// Tells the contact what we are doing in the conversation (typing, paused, …); the engine sends
/// only changes.
#[tauri::command(rename_all = "snake_case")]
pub async fn set_chat_state(app_state: State<'_, AppState>, jid: String, state: ChatState) -> CommandResult<()> {
    engine(app_state.session()?.set_chat_state(&jid, state).await)
}

/// Skips the rest of the wait before the next connection attempt.
#[tauri::command(rename_all = "snake_case")]
pub fn reconnect_now(state: State<'_, AppState>) -> CommandResult<()> {
    state.session()?.reconnect_now();
    Ok(())
}

#[tauri::command(rename_all = "snake_case")]
pub async fn mark_read(state: State<'_, AppState>, conversation: String) -> CommandResult<u32> {
    engine(state.session()?.mark_read(&conversation).await)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn set_presence(app: AppHandle, state: State<'_, AppState>, presence: OwnPresence, status: Option<String>) -> CommandResult<()> {
    let status = status.filter(|s| !s.trim().is_empty());
    engine(state.session()?.set_presence(presence, status.as_deref()).await)?;
    state.set_own_presence(&app, presence, status);
    Ok(())
}

#[tauri::command(rename_all = "snake_case")]
pub async fn add_contact(state: State<'_, AppState>, jid: String, name: Option<String>, groups: Vec<String>) -> CommandResult<()> {
    engine(state.session()?.add_contact(&jid, name.as_deref(), &groups).await)
}

/// Replaces the groups of a contact (its name stays).
#[tauri::command(rename_all = "snake_case")]
pub async fn set_contact_groups(state: State<'_, AppState>, jid: String, groups: Vec<String>) -> CommandResult<()> {
    engine(state.session()?.set_contact_groups(&jid, &groups).await)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn remove_contact(state: State<'_, AppState>, jid: String) -> CommandResult<()> {
    engine(state.session()?.remove_contact(&jid).await)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn rename_contact(state: State<'_, AppState>, jid: String, name: Option<String>) -> CommandResult<()> {
    engine(state.session()?.rename_contact(&jid, name.as_deref()).await)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn approve_subscription(state: State<'_, AppState>, jid: String) -> CommandResult<()> {
    engine(state.session()?.approve_subscription(&jid).await)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn deny_subscription(state: State<'_, AppState>, jid: String) -> CommandResult<()> {
    engine(state.session()?.deny_subscription(&jid).await)
}

#[tauri::command(rename_all = "snake_case")]
pub fn get_settings(settings: State<'_, SettingsStore>) -> Settings {
    settings.get()
}

/// Replaces the preferences (not the muted list: see `set_muted`) and applies what takes effect
/// at once (start at login, read receipts). Returns what is now saved.
#[tauri::command(rename_all = "snake_case")]
pub fn update_settings(app: AppHandle, state: State<'_, AppState>, store: State<'_, SettingsStore>, settings: Settings) -> CommandResult<Settings> {
    if settings.start_at_login != store.get().start_at_login {
        crate::settings::apply_start_at_login(&app, settings.start_at_login)?;
    }
    let saved = store.update(settings)?;
    state.apply_settings(&saved);
    Ok(saved)
}

/// Mutes or unmutes the notifications of one conversation.
#[tauri::command(rename_all = "snake_case")]
pub fn set_muted(settings: State<'_, SettingsStore>, jid: String, muted: bool) -> CommandResult<Settings> {
    settings.set_muted(&jid, muted)
}

/// Which messages of a room notify: all, mentions of us (the default), or none.
#[tauri::command(rename_all = "snake_case")]
pub fn set_room_notify(settings: State<'_, SettingsStore>, room: String, level: RoomNotify) -> CommandResult<Settings> {
    settings.set_room_notify(&room, level)
}

/// The UI tells which conversation it shows (none: the list, the sign-in form, …).
#[tauri::command(rename_all = "snake_case")]
pub fn set_view(view: State<'_, ViewState>, open_conversation: Option<String>) {
    view.set_open_conversation(open_conversation);
}

// ---- group chat (XEP-0045) ----

/// Text the user typed that is optional: blank is none.
fn optional(text: Option<String>) -> Option<String> {
    text.filter(|t| !t.trim().is_empty())
}

/// The rooms a MUC service lists, with their names and (for the first few) occupant counts.
#[tauri::command(rename_all = "snake_case")]
pub async fn rooms_on_service(state: State<'_, AppState>, service: String) -> CommandResult<Vec<RoomListing>> {
    engine(state.session()?.rooms_on_service(service.trim()).await)
}

/// Joins (or creates) a room; answers once the room confirmed it, or with the join error.
#[tauri::command(rename_all = "snake_case")]
pub async fn join_room(state: State<'_, AppState>, room: String, nick: String, password: Option<String>) -> CommandResult<Room> {
    let password = optional(password);
    engine(state.session()?.join_room(room.trim(), nick.trim(), password.as_deref()).await)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn leave_room(state: State<'_, AppState>, room: String) -> CommandResult<()> {
    engine(state.session()?.leave_room(&room).await)
}

#[tauri::command(rename_all = "snake_case")]
pub fn rooms(state: State<'_, AppState>) -> CommandResult<Vec<Room>> {
    Ok(state.session()?.rooms())
}

#[tauri::command(rename_all = "snake_case")]
pub fn occupants(state: State<'_, AppState>, room: String) -> CommandResult<Vec<Occupant>> {
    Ok(state.session()?.occupants(&room))
}

#[tauri::command(rename_all = "snake_case")]
pub async fn send_room_message(state: State<'_, AppState>, room: String, body: String) -> CommandResult<Message> {
    engine(state.session()?.send_room_message(&room, &body).await)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn change_nick(state: State<'_, AppState>, room: String, nick: String) -> CommandResult<Room> {
    engine(state.session()?.change_nick(&room, nick.trim()).await)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn set_subject(state: State<'_, AppState>, room: String, subject: String) -> CommandResult<()> {
    engine(state.session()?.set_subject(&room, &subject).await)
}

/// Sets an occupant's role (none kicks, visitor takes the voice, participant gives it).
#[tauri::command(rename_all = "snake_case")]
pub async fn set_role(state: State<'_, AppState>, room: String, nick: String, role: Role, reason: Option<String>) -> CommandResult<()> {
    engine(state.session()?.set_role(&room, &nick, role, optional(reason).as_deref()).await)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn kick(state: State<'_, AppState>, room: String, nick: String, reason: Option<String>) -> CommandResult<()> {
    engine(state.session()?.kick(&room, &nick, optional(reason).as_deref()).await)
}

/// Sets someone's affiliation by their real JID (outcast bans).
#[tauri::command(rename_all = "snake_case")]
pub async fn set_affiliation(state: State<'_, AppState>, room: String, jid: String, affiliation: Affiliation, reason: Option<String>) -> CommandResult<()> {
    engine(state.session()?.set_affiliation(&room, &jid, affiliation, optional(reason).as_deref()).await)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn ban(state: State<'_, AppState>, room: String, jid: String, reason: Option<String>) -> CommandResult<()> {
    engine(state.session()?.ban(&room, &jid, optional(reason).as_deref()).await)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn destroy_room(state: State<'_, AppState>, room: String, reason: Option<String>) -> CommandResult<()> {
    engine(state.session()?.destroy_room(&room, optional(reason).as_deref()).await)
}

// ---- room social features: invitations, nick completion, bookmarks, moderation ----

/// Invites someone (their bare JID) into a room we are in.
#[tauri::command(rename_all = "snake_case")]
pub async fn invite(state: State<'_, AppState>, room: String, jid: String, reason: Option<String>) -> CommandResult<()> {
    engine(state.session()?.invite(&room, jid.trim(), optional(reason).as_deref()).await)
}

/// Declines an invitation the UI got in `InvitationReceived` (sent back as it came).
#[tauri::command(rename_all = "snake_case")]
pub async fn decline_invitation(state: State<'_, AppState>, invitation: Invitation, reason: Option<String>) -> CommandResult<()> {
    engine(state.session()?.decline_invitation(&invitation, optional(reason).as_deref()).await)
}

/// The nicks in a room that start with `prefix` (for @-completion).
#[tauri::command(rename_all = "snake_case")]
pub fn complete_nick(state: State<'_, AppState>, room: String, prefix: String) -> CommandResult<Vec<String>> {
    Ok(state.session()?.complete_nick(&room, &prefix))
}

#[tauri::command(rename_all = "snake_case")]
pub fn bookmarks(state: State<'_, AppState>) -> CommandResult<Vec<Bookmark>> {
    Ok(state.session()?.bookmarks())
}

/// Adds or replaces a room's bookmark. Other clients' extensions of an existing bookmark (never
/// sent to the UI) are kept.
#[tauri::command(rename_all = "snake_case")]
pub async fn set_bookmark(state: State<'_, AppState>, bookmark: Bookmark) -> CommandResult<()> {
    let session = state.session()?;
    let mut bookmark = bookmark;
    bookmark.room = bookmark.room.trim().to_string();
    bookmark.name = optional(bookmark.name);
    bookmark.nick = optional(bookmark.nick);
    bookmark.password = optional(bookmark.password);
    bookmark.extensions = session.bookmarks().into_iter().find(|b| b.room == bookmark.room).and_then(|b| b.extensions);
    engine(session.set_bookmark(bookmark).await)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn remove_bookmark(state: State<'_, AppState>, room: String) -> CommandResult<()> {
    engine(state.session()?.remove_bookmark(&room).await)
}

/// A moderator removes someone's message from a room (XEP-0425).
#[tauri::command(rename_all = "snake_case")]
pub async fn retract_room_message(state: State<'_, AppState>, room: String, id: i64, reason: Option<String>) -> CommandResult<()> {
    engine(state.session()?.retract_room_message(&room, id, optional(reason).as_deref()).await)
}

/// A private message to `nick` in `room`; its conversation is `room@service/nick`.
#[tauri::command(rename_all = "snake_case")]
pub async fn send_private_message(state: State<'_, AppState>, room: String, nick: String, body: String) -> CommandResult<Message> {
    engine(state.session()?.send_private_message(&room, &nick, &body).await)
}

/// The room's configuration form (owners only: `room_forbidden` otherwise).
#[tauri::command(rename_all = "snake_case")]
pub async fn room_config(state: State<'_, AppState>, room: String) -> CommandResult<Form> {
    engine(state.session()?.room_config(&room).await)
}

/// Submits the room's configuration: field var → values (the engine checks them against the
/// form the room asks now).
#[tauri::command(rename_all = "snake_case")]
pub async fn submit_room_config(state: State<'_, AppState>, room: String, answers: Answers) -> CommandResult<()> {
    engine(state.session()?.submit_room_config(&room, &answers).await)
}

/// The schemes of the links the user may open from a message. Everything else (file:, smb:,
/// javascript:, data:, custom handlers, …) is refused: URL handlers are a way into the machine.
pub const LINK_SCHEMES: [&str; 4] = ["http", "https", "xmpp", "mailto"];

/// Longest link we open (a message body is at most 256 KiB; no real link is near this).
const MAX_LINK_LEN: usize = 8 * 1024;

fn link_refused(reason: impl Into<String>) -> AppError {
    let reason = reason.into();
    AppError { message: format!("Rapport did not open this link: {reason}."), kind: ErrorKind::LinkRefused { reason } }
}

/// Parses a link the user clicked and checks it against `LINK_SCHEMES` (the UI checks too; this
/// is the check that counts). Returns the normalised URL to hand to the system.
pub fn checked_link(input: &str) -> CommandResult<url::Url> {
    if input.len() > MAX_LINK_LEN {
        return Err(link_refused("it is too long"));
    }
    let url = url::Url::parse(input).map_err(|_| link_refused("it is not a valid web, mail or XMPP address"))?;
    let scheme = url.scheme();
    if !LINK_SCHEMES.contains(&scheme) {
        return Err(link_refused(format!("only http, https, xmpp and mailto links are opened, not {scheme}:")));
    }
    if matches!(scheme, "http" | "https") && url.host_str().is_none_or(str::is_empty) {
        return Err(link_refused("it has no host"));
    }
    if matches!(scheme, "xmpp" | "mailto") && url.path().trim().is_empty() {
        return Err(link_refused("it has no address"));
    }
    Ok(url)
}

/// Opens a link from a message with the system's handler, after checking its scheme.
#[tauri::command(rename_all = "snake_case")]
pub async fn open_link(url: String) -> CommandResult<()> {
    let url = checked_link(&url)?;
    tauri_plugin_opener::open_url(url.as_str(), None::<&str>).map_err(|error| AppError {
        message: format!("The link could not be opened: {error}"),
        kind: ErrorKind::LinkFailed { detail: error.to_string() },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(input: &str) -> bool {
        matches!(checked_link(input), Err(AppError { kind: ErrorKind::LinkRefused { .. }, .. }))
    }

    #[test]
    fn opens_only_allowed_schemes() {
        for ok in ["https://example.org/a?b=c#d", "http://example.org", "HTTPS://EXAMPLE.ORG/", "xmpp:bob@example.org?message", "mailto:bob@example.org"] {
            assert!(checked_link(ok).is_ok(), "{ok} should be allowed");
        }
        assert_eq!(checked_link("HTTPS://Example.org").unwrap().as_str(), "https://example.org/");
        for bad in [
            "javascript:alert(1)",
            "JaVaScRiPt:alert(1)",
            " javascript:alert(1)",
            "file:///etc/passwd",
            "data:text/html,<script>alert(1)</script>",
            "smb://server/share",
            "nfs://server/x",
            "vbscript:msgbox",
            "ms-msdt:/id",
            "ftp://example.org",
            "tauri://localhost",
            "ipc://localhost",
            "//example.org/x",
            "example.org",
            "https://",
            "mailto:",
            "xmpp:",
            "",
        ] {
            assert!(refused(bad), "{bad:?} should be refused");
        }
        assert!(refused(&format!("https://example.org/{}", "a".repeat(MAX_LINK_LEN))));
    }

    #[test]
    fn a_refused_link_is_a_typed_error_with_words() {
        let error = checked_link("file:///etc/passwd").unwrap_err();
        let json = serde_json::to_value(&error).unwrap();
        assert_eq!(json["code"], "link_refused");
        assert!(json["message"].as_str().unwrap().contains("not file:"), "{json}");
    }
}
