//! Secret Service (keyring) preconditions.
//!
//! Tests never probe for a keyring and skip silently: `tests/run` starts every test inside
//! a fresh D-Bus session bus with an unlocked throwaway gnome-keyring. A test that needs it
//! calls [`assert_secret_service`] first, so running it any other way fails loudly.

use std::process::Command;

/// The well-known bus name of a Secret Service provider.
pub const SECRET_SERVICE_NAME: &str = "org.freedesktop.secrets";

/// Panics with a clear message unless a session bus is set up (`DBUS_SESSION_BUS_ADDRESS`)
/// and, where `dbus-send` exists, something owns `org.freedesktop.secrets` on it.
pub fn assert_secret_service() {
    let addr = std::env::var("DBUS_SESSION_BUS_ADDRESS").unwrap_or_default();
    assert!(
        !addr.is_empty(),
        "DBUS_SESSION_BUS_ADDRESS is not set: keyring tests must run inside the session bus \
         with an unlocked throwaway gnome-keyring that `tests/run` sets up. Run `tests/run` \
         (extra arguments go to cargo test), not plain `cargo test`."
    );
    if let Some(out) = name_has_owner(SECRET_SERVICE_NAME) {
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.contains("boolean true"),
            "no Secret Service ({SECRET_SERVICE_NAME}) on the session bus {addr}: \
             gnome-keyring-daemon is not running there. Use `tests/run`.\n{}{}",
            text,
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Asks the session bus whether something owns `name` (`dbus-send`'s output: it prints
/// "boolean true" when so); `None` without `dbus-send`. Asking never starts a service.
pub fn name_has_owner(name: &str) -> Option<std::process::Output> {
    Command::new("dbus-send")
        .args([
            "--session",
            "--print-reply",
            "--dest=org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus.NameHasOwner",
            &format!("string:{name}"),
        ])
        .stdin(std::process::Stdio::null())
        .output()
        .ok()
}
