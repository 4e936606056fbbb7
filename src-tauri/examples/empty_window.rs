//! The memory floor for the desktop benchmark (tests/benches/desktop.rs): a Tauri window of the
//! same size as Rapport's, showing one static HTML page, with no plugins, commands, tray or
//! engine. What Rapport uses above this is ours; below it is Tauri + WebKitGTK.
//!
//!     cargo build --example empty_window        # src-tauri/target/debug/examples/empty_window
//!
//! Its config (examples/empty_window/tauri.conf.json) bundles examples/empty_window/dist, not
//! the app's UI.

fn main() {
    tauri::Builder::default()
        .run(tauri::generate_context!("examples/empty_window/tauri.conf.json"))
        .expect("the empty window could not start");
}
