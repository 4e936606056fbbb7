//! Rapport's desktop app: a Tauri shell over `rapport-engine`. The web view (../ui) calls the
//! commands of `commands.rs` and listens to `engine-event` / `session-changed` (see state.rs).

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod coalesce;
mod commands;
mod dto;
mod notifications;
mod settings;
mod state;
mod tray;
#[cfg(test)]
mod bindings;
#[cfg(test)]
mod security_config;

use rapport_engine::Profile;
use tauri::{Manager, RunEvent, WindowEvent};

use notifications::ViewState;
use settings::SettingsStore;
use state::AppState;

/// The D-Bus name that keeps one instance per profile: the app's identifier, plus a hash of the
/// profile directory when `RAPPORT_PROFILE` chose another one (so test profiles run side by side).
fn single_instance_id(identifier: &str, profile: &Profile) -> String {
    if std::env::var_os("RAPPORT_PROFILE").is_none_or(|dir| dir.is_empty()) {
        return identifier.to_string();
    }
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    profile.config_dir().hash(&mut hasher);
    format!("{identifier}.p{:016x}", hasher.finish())
}

/// SIGTERM (a logout, `systemctl stop`, `kill`) or SIGINT (Ctrl+C in a terminal) quits the way
/// the tray's Quit does: `exit(0)` runs `RunEvent::Exit`, which signs out (unavailable presence,
/// closed stream) before the process ends with status 0. A second signal ends it at once.
async fn quit_on_signal(app: tauri::AppHandle) {
    use tokio::signal::unix::{signal, SignalKind};
    let (mut terminate, mut interrupt) = match (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) {
        (Ok(terminate), Ok(interrupt)) => (terminate, interrupt),
        (Err(error), _) | (_, Err(error)) => {
            tracing::warn!(%error, "cannot handle SIGTERM/SIGINT; they will end the app without signing out");
            return;
        }
    };
    let name = tokio::select! {
        _ = terminate.recv() => "SIGTERM",
        _ = interrupt.recv() => "SIGINT",
    };
    tracing::info!("{name}: signing out and quitting");
    app.exit(0);
    tokio::select! {
        _ = terminate.recv() => {}
        _ = interrupt.recv() => {}
    }
    tracing::warn!("second signal while signing out: quitting at once");
    std::process::exit(1);
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn,rapport_engine=info,rapport_desktop=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    rapport_engine::init_crypto();
    let profile = match Profile::from_env_or_default() {
        Ok(profile) => profile,
        Err(error) => {
            eprintln!("rapport: {error}");
            std::process::exit(1);
        }
    };

    let context = tauri::generate_context!();
    let instance_id = single_instance_id(&context.config().identifier, &profile);
    let settings = SettingsStore::for_profile(&profile);

    let app = tauri::Builder::default()
        // First: a second launch hands over to the running instance (and exits) before anything else.
        .plugin(tauri_plugin_single_instance::Builder::new().dbus_id(instance_id).callback(|app, _args, _cwd| tray::show_window(app)).build())
        .plugin(tauri_plugin_autostart::Builder::new().build())
        .manage(AppState::new(profile))
        .manage(settings)
        .manage(ViewState::default())
        .on_window_event(|window, event| match event {
            WindowEvent::Focused(focused) => window.state::<ViewState>().set_focused(*focused),
            WindowEvent::CloseRequested { api, .. } if window.state::<SettingsStore>().get().close_to_tray => {
                api.prevent_close();
                let _ = window.hide();
                window.state::<ViewState>().set_focused(false);
            }
            _ => {}
        })
        .setup(|app| {
            let tray = tray::create(app.handle());
            if let Err(error) = &tray {
                tracing::warn!(%error, "no tray icon");
            }
            // The window starts hidden (tauri.conf.json); it stays so when asked to start
            // minimised, if there is a tray to bring it back from.
            if tray.is_err() || !app.state::<SettingsStore>().get().start_minimised {
                tray::show_window(app.handle());
            }
            tauri::async_runtime::spawn(quit_on_signal(app.handle().clone()));
            let handle = app.handle().clone();
            tauri::async_runtime::spawn(async move {
                handle.state::<AppState>().auto_sign_in(&handle).await;
            });
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::status,
            commands::sign_in,
            commands::trust_certificate,
            commands::sign_out,
            commands::forget_account,
            commands::roster,
            commands::presences,
            commands::subscription_requests,
            commands::conversations,
            commands::history,
            commands::search,
            commands::send_message,
            commands::retry_message,
            commands::delete_message,
            commands::set_chat_state,
            commands::reconnect_now,
            commands::mark_read,
            commands::set_presence,
            commands::add_contact,
            commands::set_contact_groups,
            commands::remove_contact,
            commands::rename_contact,
            commands::approve_subscription,
            commands::deny_subscription,
            commands::get_settings,
            commands::update_settings,
            commands::set_muted,
            commands::set_room_notify,
            commands::set_view,
            commands::open_link,
            commands::rooms_on_service,
            commands::join_room,
            commands::leave_room,
            commands::rooms,
            commands::occupants,
            commands::send_room_message,
            commands::change_nick,
            commands::set_subject,
            commands::set_role,
            commands::kick,
            commands::set_affiliation,
            commands::ban,
            commands::destroy_room,
            commands::invite,
            commands::decline_invitation,
            commands::complete_nick,
            commands::bookmarks,
            commands::set_bookmark,
            commands::remove_bookmark,
            commands::retract_room_message,
            commands::send_private_message,
            commands::room_config,
            commands::submit_room_config,
        ])
        .build(context)
        .expect("Rapport could not start its window");

    app.run(|handle, event| {
        if let RunEvent::Exit = event {
            tauri::async_runtime::block_on(handle.state::<AppState>().shutdown());
        }
    });
}
