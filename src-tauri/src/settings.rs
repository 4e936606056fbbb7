//! The app's preferences, kept as JSON (mode 0600) in `settings.json` next to the engine's
//! `accounts.json` (the profile's config directory). `get_settings` / `update_settings` /
//! `set_muted` / `set_room_notify` in commands.rs read and change them.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rapport_engine::{EngineError, Profile};
use serde::{Deserialize, Serialize};
#[cfg(test)]
use ts_rs::TS;

use crate::dto::AppError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(TS))]
#[serde(rename_all = "snake_case")]
pub enum Theme {
    /// Follows the desktop's light/dark preference.
    #[default]
    System,
    Light,
    Dark,
}

/// Which messages of a room notify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(TS))]
#[serde(rename_all = "snake_case")]
pub enum RoomNotify {
    All,
    /// Only messages that mention us (the default: a busy room must not ring all day).
    #[default]
    Mentions,
    Never,
}

/// Everything the user can set. Missing fields (an older file) take their defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(TS))]
#[serde(default)]
pub struct Settings {
    pub theme: Theme,
    /// Desktop notifications for new messages.
    pub notifications: bool,
    /// Ask the notification server to play its "new message" sound.
    pub sounds: bool,
    /// Start hidden in the tray.
    pub start_minimised: bool,
    /// Closing the window hides it to the tray instead of quitting.
    pub close_to_tray: bool,
    /// Start Rapport when the user logs in (XDG autostart entry).
    pub start_at_login: bool,
    /// Privacy: tell contacts when we have read their messages (XEP-0333 displayed markers).
    pub send_read_markers: bool,
    /// Bare JIDs of the conversations that never notify. Changed only by `set_muted`.
    pub muted: BTreeSet<String>,
    /// Rooms whose notifications are not the default (`RoomNotify::Mentions`). Changed only by
    /// `set_room_notify`.
    pub room_notify: BTreeMap<String, RoomNotify>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            theme: Theme::System,
            notifications: true,
            sounds: true,
            start_minimised: false,
            close_to_tray: true,
            start_at_login: false,
            send_read_markers: true,
            muted: BTreeSet::new(),
            room_notify: BTreeMap::new(),
        }
    }
}

fn storage(path: &Path, error: impl std::fmt::Display) -> AppError {
    EngineError::Storage { detail: format!("{}: {error}", path.display()) }.into()
}

/// The settings file and its current content.
pub struct SettingsStore {
    path: PathBuf,
    current: Mutex<Settings>,
}

impl SettingsStore {
    pub fn for_profile(profile: &Profile) -> Self {
        Self::open(profile.config_dir().join("settings.json"))
    }

    /// Reads `path`; a missing or damaged file gives the defaults (a damaged one is replaced at
    /// the next change).
    pub fn open(path: PathBuf) -> Self {
        let current = match fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).unwrap_or_else(|error| {
                tracing::warn!(%error, path = %path.display(), "damaged settings file; using the defaults");
                Settings::default()
            }),
            Err(error) => {
                if error.kind() != std::io::ErrorKind::NotFound {
                    tracing::warn!(%error, path = %path.display(), "cannot read the settings file; using the defaults");
                }
                Settings::default()
            }
        };
        Self { path, current: Mutex::new(current) }
    }

    pub fn get(&self) -> Settings {
        self.current.lock().unwrap().clone()
    }

    /// Replaces the preferences (the per-conversation ones are kept: only `set_muted` and
    /// `set_room_notify` change them).
    pub fn update(&self, new: Settings) -> Result<Settings, AppError> {
        self.change(|s| *s = Settings { muted: std::mem::take(&mut s.muted), room_notify: std::mem::take(&mut s.room_notify), ..new })
    }

    pub fn set_room_notify(&self, room: &str, level: RoomNotify) -> Result<Settings, AppError> {
        let room = rapport_engine::config::parse_contact_jid(room)?.to_string();
        self.change(|s| {
            if level == RoomNotify::default() {
                s.room_notify.remove(&room);
            } else {
                s.room_notify.insert(room, level);
            }
        })
    }

    pub fn set_muted(&self, jid: &str, muted: bool) -> Result<Settings, AppError> {
        let jid = rapport_engine::config::parse_contact_jid(jid)?.to_string();
        self.change(|s| {
            if muted {
                s.muted.insert(jid);
            } else {
                s.muted.remove(&jid);
            }
        })
    }

    /// Applies `edit` and saves; on a write error nothing changes.
    fn change(&self, edit: impl FnOnce(&mut Settings)) -> Result<Settings, AppError> {
        let mut current = self.current.lock().unwrap();
        let mut next = current.clone();
        edit(&mut next);
        if next != *current {
            write_private(&self.path, serde_json::to_string_pretty(&next).expect("settings serialise").as_bytes())?;
            *current = next;
        }
        Ok(current.clone())
    }
}

/// Writes atomically (temporary file, then rename); the file is 0600 in a 0700 directory.
fn write_private(path: &Path, contents: &[u8]) -> Result<(), AppError> {
    let dir = path.parent().expect("the settings file lives in a directory");
    fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).map_err(|e| storage(dir, e))?;
    let temporary = path.with_extension("json.tmp");
    let _ = fs::remove_file(&temporary);
    let mut file =
        fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&temporary).map_err(|e| storage(&temporary, e))?;
    file.set_permissions(fs::Permissions::from_mode(0o600)).map_err(|e| storage(&temporary, e))?;
    file.write_all(contents).and_then(|_| file.sync_all()).map_err(|e| storage(&temporary, e))?;
    fs::rename(&temporary, path).map_err(|e| storage(path, e))
}

/// Turns the login autostart entry on or off (on Linux an XDG `~/.config/autostart/*.desktop`
/// file, written by tauri-plugin-autostart).
pub fn apply_start_at_login(app: &tauri::AppHandle, on: bool) -> Result<(), AppError> {
    use tauri_plugin_autostart::ManagerExt;
    let launcher = app.autolaunch();
    let result = if on { launcher.enable() } else { launcher.disable() };
    match result {
        Ok(()) => Ok(()),
        // Disabling what is not there is fine.
        Err(_) if !on && !launcher.is_enabled().unwrap_or(true) => Ok(()),
        Err(error) => Err(EngineError::Storage { detail: format!("could not change starting at login: {error}") }.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("rapport-settings-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn round_trip_in_a_private_file() {
        let dir = temp_dir("round-trip");
        let path = dir.join("config").join("settings.json");
        let store = SettingsStore::open(path.clone());
        assert_eq!(store.get(), Settings::default());
        assert!(!path.exists(), "nothing is written until something changes");

        let wanted = Settings { theme: Theme::Dark, sounds: false, start_minimised: true, close_to_tray: false, ..Settings::default() };
        store.update(wanted.clone()).unwrap();
        store.set_muted("Bob@Example.org", true).unwrap();
        store.set_muted("carol@example.org", true).unwrap();
        store.set_muted("carol@example.org", false).unwrap();

        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "settings file mode");
        let dir_mode = fs::metadata(path.parent().unwrap()).unwrap().permissions().mode() & 0o777;
        assert_eq!(dir_mode, 0o700, "config directory mode");

        let reread = SettingsStore::open(path.clone()).get();
        assert_eq!(reread, Settings { muted: ["bob@example.org".to_string()].into(), ..wanted });
        assert!(SettingsStore::open(path).get().muted.contains("bob@example.org"));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn update_keeps_the_muted_list_and_rejects_bad_jids() {
        let dir = temp_dir("muted");
        let store = SettingsStore::open(dir.join("settings.json"));
        store.set_muted("bob@example.org", true).unwrap();
        let after = store.update(Settings { notifications: false, ..Settings::default() }).unwrap();
        assert!(!after.notifications);
        assert!(after.muted.contains("bob@example.org"));
        assert!(store.set_muted("not a jid@@", true).is_err());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn missing_fields_and_damaged_files_give_defaults() {
        let dir = temp_dir("damaged");
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("settings.json");
        fs::write(&path, r#"{"theme":"light"}"#).unwrap();
        assert_eq!(SettingsStore::open(path.clone()).get(), Settings { theme: Theme::Light, ..Settings::default() });
        fs::write(&path, "{not json").unwrap();
        assert_eq!(SettingsStore::open(path).get(), Settings::default());
        fs::remove_dir_all(&dir).unwrap();
    }
}
