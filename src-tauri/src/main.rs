//! Rapport's desktop app: a Tauri shell over `rapport-engine`. The web view (../ui) calls the
//! commands of `commands.rs` and listens to `engine-event` / `session-changed` (see state.rs).

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod commands;
mod dto;
mod state;
#[cfg(test)]
mod bindings;

use rapport_engine::Profile;
use tauri::{Manager, RunEvent};

use state::AppState;

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

    let app = tauri::Builder::default()
        .manage(AppState::new(profile))
        .setup(|app| {
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
            commands::mark_read,
            commands::set_presence,
            commands::add_contact,
            commands::remove_contact,
            commands::rename_contact,
            commands::approve_subscription,
            commands::deny_subscription,
        ])
        .build(tauri::generate_context!())
        .expect("Rapport could not start its window");

    app.run(|handle, event| {
        if let RunEvent::Exit = event {
            tauri::async_runtime::block_on(handle.state::<AppState>().shutdown());
        }
    });
}
