//! The tray icon: unread count (tooltip "Rapport — N unread"; Linux tray hosts show no tooltips,
//! so the count is also the menu's first line and the icon's label), and a menu with Show
//! Rapport, own presence and Quit.

use std::collections::HashMap;
use std::sync::Mutex;

use tauri::menu::{CheckMenuItem, Menu, MenuEvent, MenuItem, PredefinedMenuItem, Submenu};
use tauri::tray::{MouseButton, MouseButtonState, TrayIconBuilder, TrayIconEvent};
use rapport_engine::types::{Conversation, OwnPresence};
use tauri::{AppHandle, Manager};

use crate::dto::Status;
use crate::state::AppState;

const TRAY_ID: &str = "main";
const SHOW: &str = "show";
const QUIT: &str = "quit";
const PRESENCE_PREFIX: &str = "presence:";

/// The presences the tray offers, with their menu labels and ids.
const PRESENCES: [(OwnPresence, &str, &str); 4] = [
    (OwnPresence::Available, "Available", "presence:available"),
    (OwnPresence::Away, "Away", "presence:away"),
    (OwnPresence::DoNotDisturb, "Do not disturb", "presence:do_not_disturb"),
    (OwnPresence::Invisible, "Invisible", "presence:invisible"),
];

pub fn tooltip(unread: u32) -> String {
    format!("Rapport — {unread} unread")
}

/// Unread messages per conversation, and the menu items that change.
pub struct Tray {
    unread: Mutex<HashMap<String, u32>>,
    count_item: MenuItem<tauri::Wry>,
    presence_items: Vec<(OwnPresence, CheckMenuItem<tauri::Wry>)>,
}

/// Shows, un-minimises and focuses the main window.
pub fn show_window(app: &AppHandle) {
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.show();
        let _ = window.unminimize();
        let _ = window.set_focus();
    }
}

/// Creates the tray icon. Without a tray (no icon, or the platform refused) Rapport still runs.
pub fn create(app: &AppHandle) -> tauri::Result<()> {
    let count_item = MenuItem::with_id(app, "unread", tooltip(0), false, None::<&str>)?;
    let show = MenuItem::with_id(app, SHOW, "Show Rapport", true, None::<&str>)?;
    let mut presence_items = Vec::new();
    for (presence, label, id) in PRESENCES {
        presence_items.push((presence, CheckMenuItem::with_id(app, id, label, true, presence == OwnPresence::Available, None::<&str>)?));
    }
    let items: Vec<&dyn tauri::menu::IsMenuItem<tauri::Wry>> = presence_items.iter().map(|(_, item)| item as _).collect();
    let presence_menu = Submenu::with_id_and_items(app, "presence", "Presence", true, &items)?;
    let quit = MenuItem::with_id(app, QUIT, "Quit", true, None::<&str>)?;
    let separator = PredefinedMenuItem::separator(app)?;
    let separator2 = PredefinedMenuItem::separator(app)?;
    let menu = Menu::with_items(app, &[&count_item, &separator, &show, &presence_menu, &separator2, &quit])?;

    let mut builder = TrayIconBuilder::with_id(TRAY_ID)
        .tooltip(tooltip(0))
        .menu(&menu)
        .show_menu_on_left_click(false)
        .on_menu_event(on_menu_event)
        .on_tray_icon_event(|tray, event| {
            if let TrayIconEvent::Click { button: MouseButton::Left, button_state: MouseButtonState::Up, .. } = event {
                show_window(tray.app_handle());
            }
        });
    if let Some(icon) = app.default_window_icon() {
        builder = builder.icon(icon.clone());
    }
    builder.build(app)?;
    app.manage(Tray { unread: Mutex::new(HashMap::new()), count_item, presence_items });
    Ok(())
}

fn on_menu_event(app: &AppHandle, event: MenuEvent) {
    let id = event.id().as_ref();
    if id == SHOW {
        show_window(app);
    } else if id == QUIT {
        // RunEvent::Exit (main.rs) disconnects cleanly before the process ends.
        app.exit(0);
    } else if id.starts_with(PRESENCE_PREFIX) {
        let Some((presence, _, _)) = PRESENCES.iter().find(|(_, _, item)| *item == id) else { return };
        let (app, presence) = (app.clone(), *presence);
        tauri::async_runtime::spawn(async move { choose_presence(&app, presence).await });
    }
}

/// Sets own presence as the UI's selector does (keeping the status message); signed out, it is
/// the presence the next sign-in starts with.
async fn choose_presence(app: &AppHandle, presence: OwnPresence) {
    let state = app.state::<AppState>();
    let text = state.status().own_status;
    if let Ok(session) = state.session() {
        if let Err(error) = session.set_presence(presence, text.as_deref()).await {
            tracing::warn!(%error, "could not change presence from the tray");
            on_status(app, &state.status());
            return;
        }
    }
    state.set_own_presence(app, presence, text);
}

/// Follows the app's status: the presence tick, and no unread count while signed out.
pub fn on_status(app: &AppHandle, status: &Status) {
    let Some(tray) = app.try_state::<Tray>() else { return };
    for (presence, item) in &tray.presence_items {
        let _ = item.set_checked(*presence == status.own_presence);
    }
    if status.phase != crate::dto::Phase::SignedIn {
        set_conversations(app, &[], true);
    }
}

/// Records unread counts: `replace` for the whole list (at sign-in), else the changed ones.
pub fn set_conversations(app: &AppHandle, conversations: &[Conversation], replace: bool) {
    let Some(tray) = app.try_state::<Tray>() else { return };
    let total = {
        let mut unread = tray.unread.lock().unwrap();
        let before: u32 = unread.values().sum();
        if replace {
            unread.clear();
        }
        for c in conversations {
            unread.insert(c.jid.clone(), c.unread);
        }
        let total: u32 = unread.values().sum();
        if total == before && !replace {
            return;
        }
        total
    };
    let text = tooltip(total);
    let _ = tray.count_item.set_text(&text);
    if let Some(icon) = app.tray_by_id(TRAY_ID) {
        let _ = icon.set_tooltip(Some(&text));
        #[cfg(target_os = "linux")]
        let _ = icon.set_title(if total > 0 { Some(total.to_string()) } else { None });
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn tooltip_counts_unread() {
        assert_eq!(super::tooltip(0), "Rapport — 0 unread");
        assert_eq!(super::tooltip(12), "Rapport — 12 unread");
    }
}
