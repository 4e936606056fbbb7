//! Driving the real desktop app: Xvfb, a notification daemon, WebKitWebDriver and a minimal
//! W3C WebDriver client, with the app isolated under a throwaway HOME and profile.
//!
//! Used by the end-to-end tests (tests/system/e2e.rs), the package smoke test and the desktop
//! benchmarks. Elements are found by role, accessible name and label (XPath on `@role`,
//! `@aria-label`, `<label>` text), never by CSS class. Every wait polls with a deadline.
//! Needs what `tests/install-e2e-deps` installs.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};

use crate::process::free_port;

pub const UI_WAIT: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------------------------------------
// Processes

/// A child in its own process group, killed (with the whole group) on drop.
pub struct Group {
    name: &'static str,
    child: Child,
}

impl Group {
    pub fn spawn(name: &'static str, cmd: &mut Command) -> Group {
        cmd.process_group(0);
        let child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {name}: {e} (run tests/install-e2e-deps)"));
        Group { name, child }
    }

    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        let pid = self.child.id() as i32;
        unsafe {
            libc::kill(-pid, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
        let _ = self.child.wait();
        eprintln!("e2e: stopped {}", self.name);
    }
}

/// Polls `check` every 50 ms until it returns `Some`, panicking with `what` after `timeout`.
pub fn poll<T>(what: &str, timeout: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check() {
            return v;
        }
        if Instant::now() > deadline {
            panic!("e2e: timed out after {timeout:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Xvfb on the first free display from :90, waiting for its socket (no fixed sleep).
pub fn start_xvfb(log_dir: &Path) -> (Group, String) {
    for n in 90..140 {
        if Path::new(&format!("/tmp/.X11-unix/X{n}")).exists() || Path::new(&format!("/tmp/.X{n}-lock")).exists() {
            continue;
        }
        let log = std::fs::File::create(log_dir.join("xvfb.log")).unwrap();
        let mut xvfb = Group::spawn(
            "Xvfb",
            Command::new("Xvfb")
                .args([&format!(":{n}"), "-screen", "0", "1280x800x24", "-nolisten", "tcp"])
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log),
        );
        let display = format!(":{n}");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = xvfb.exited() {
                eprintln!("e2e: Xvfb {display} exited ({status}); trying the next display");
                break;
            }
            let ok = Command::new("xdpyinfo")
                .env("DISPLAY", &display)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            if ok {
                return (xvfb, display);
            }
            if Instant::now() > deadline {
                panic!("e2e: Xvfb {display} did not come up: {}", std::fs::read_to_string(log_dir.join("xvfb.log")).unwrap_or_default());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    panic!("e2e: no free X display in :90..:140");
}

// ---------------------------------------------------------------------------------------------
// A minimal W3C WebDriver client (HTTP/1.1 over std, one connection per request).

struct Http {
    port: u16,
}

impl Http {
    fn request(&self, method: &str, path: &str, body: Option<&Value>) -> std::io::Result<(u16, Value)> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port))?;
        stream.set_read_timeout(Some(Duration::from_secs(60)))?;
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\n\r\n",
            self.port,
            body.len()
        );
        stream.write_all(head.as_bytes())?;
        stream.write_all(body.as_bytes())?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw)?;
        let split = raw.windows(4).position(|w| w == b"\r\n\r\n").ok_or_else(|| std::io::Error::other("no HTTP header end"))?;
        let head = String::from_utf8_lossy(&raw[..split]).to_string();
        let mut payload = raw[split + 4..].to_vec();
        let status: u16 = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).ok_or_else(|| std::io::Error::other(format!("bad status line: {head}")))?;
        let lower = head.to_ascii_lowercase();
        if lower.contains("transfer-encoding: chunked") {
            payload = dechunk(&payload);
        } else if let Some(len) = lower.lines().find_map(|l| l.strip_prefix("content-length:")).and_then(|v| v.trim().parse::<usize>().ok()) {
            payload.truncate(len);
        }
        let value = if payload.is_empty() { Value::Null } else { serde_json::from_slice(&payload).map_err(std::io::Error::other)? };
        Ok((status, value))
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = data.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(String::from_utf8_lossy(&data[..eol]).split(';').next().unwrap().trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = eol + 2;
        out.extend_from_slice(&data[start..(start + size).min(data.len())]);
        data = &data[(start + size + 2).min(data.len())..];
    }
    out
}

pub struct Driver {
    http: Http,
    session: String,
}

pub struct El(pub String);

const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

impl Driver {
    pub fn new(port: u16, app: &Path) -> Driver {
        let http = Http { port };
        let caps = json!({"capabilities": {"alwaysMatch": {"webkitgtk:browserOptions": {"binary": app, "args": []}}}});
        let (status, value) = http.request("POST", "/session", Some(&caps)).expect("POST /session");
        assert_eq!(status, 200, "new session failed: {value}");
        let session = value["value"]["sessionId"].as_str().expect("sessionId").to_owned();
        Driver { http, session }
    }

    pub fn call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        let url = format!("/session/{}{path}", self.session);
        match self.http.request(method, &url, body.as_ref()) {
            Ok((200, v)) => Ok(v["value"].clone()),
            Ok((status, v)) => Err(format!("{method} {path}: HTTP {status}: {v}")),
            Err(e) => Err(format!("{method} {path}: {e}")),
        }
    }

    pub fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.call(method, path, body).unwrap_or_else(|e| panic!("webdriver: {e}"))
    }

    pub fn find_all(&self, xpath: &str) -> Vec<El> {
        match self.call("POST", "/elements", Some(json!({"using": "xpath", "value": xpath}))) {
            Ok(Value::Array(items)) => items.iter().filter_map(|i| i[ELEMENT_KEY].as_str().map(|s| El(s.to_owned()))).collect(),
            _ => Vec::new(),
        }
    }

    /// Waits until `xpath` matches a displayed element.
    pub fn wait(&self, what: &str, xpath: &str) -> El {
        poll(&format!("{what} ({xpath})"), UI_WAIT, || {
            self.find_all(xpath).into_iter().find(|e| self.call("GET", &format!("/element/{}/displayed", e.0), None).map(|v| v == json!(true)).unwrap_or(false))
        })
    }

    pub fn click(&self, el: &El) {
        self.cmd("POST", &format!("/element/{}/click", el.0), Some(json!({})));
    }

    pub fn clear(&self, el: &El) {
        self.cmd("POST", &format!("/element/{}/clear", el.0), Some(json!({})));
    }

    pub fn type_text(&self, el: &El, text: &str) {
        self.cmd("POST", &format!("/element/{}/value", el.0), Some(json!({"text": text})));
    }

    pub fn fill(&self, el: &El, text: &str) {
        self.clear(el);
        self.type_text(el, text);
    }

    pub fn text(&self, el: &El) -> String {
        self.cmd("GET", &format!("/element/{}/text", el.0), None).as_str().unwrap_or_default().to_owned()
    }

    pub fn attr(&self, el: &El, name: &str) -> Option<String> {
        self.cmd("GET", &format!("/element/{}/attribute/{name}", el.0), None).as_str().map(str::to_owned)
    }

    pub fn prop(&self, el: &El, name: &str) -> Value {
        self.cmd("GET", &format!("/element/{}/property/{name}", el.0), None)
    }

    /// Runs `script` (a function body; `arguments` holds `args`) in the page and returns its result.
    pub fn execute(&self, script: &str, args: Value) -> Result<Value, String> {
        self.call("POST", "/execute/sync", Some(json!({"script": script, "args": args})))
    }

    /// Runs `script` asynchronously: it ends by calling `arguments[arguments.length - 1](result)`.
    pub fn execute_async(&self, script: &str, args: Value) -> Result<Value, String> {
        self.call("POST", "/execute/async", Some(json!({"script": script, "args": args})))
    }

    /// Waits for two animation frames, so the page has painted its last DOM change.
    pub fn settle(&self) {
        let script = "const done = arguments[arguments.length - 1]; requestAnimationFrame(() => requestAnimationFrame(() => done(true)));";
        self.cmd("POST", "/execute/async", Some(json!({"script": script, "args": []})));
    }

    pub fn screenshot(&self, name: &str) -> PathBuf {
        // A screenshot right after a DOM change can show the previous frame.
        self.settle();
        let b64 = self.cmd("GET", "/screenshot", None);
        let png = base64::engine::general_purpose::STANDARD.decode(b64.as_str().expect("screenshot base64")).expect("screenshot decodes");
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().join("target/e2e-screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        eprintln!("e2e: screenshot {}", path.display());
        path
    }

    /// Ends the session, which closes the app.
    pub fn quit(self) {
        let _ = self.http.request("DELETE", &format!("/session/{}", self.session), None);
    }
}

/// The input a `<label>` with this text names.
pub fn labelled(label: &str) -> String {
    format!("//input[@id=//label[normalize-space()='{label}']/@for]")
}

// ---------------------------------------------------------------------------------------------
// The app

pub struct Env {
    _xvfb: Group,
    _dunst: Option<Group>,
    _driver: Group,
    display: String,
    port: u16,
    app: PathBuf,
    pub root: tempfile::TempDir,
}

impl Env {
    /// Starts Xvfb, dunst (when installed) and WebKitWebDriver for `app` (see [`built_app`]).
    pub fn start(app: &Path) -> Env {
        assert!(app.is_file(), "{} is missing: build it (cd ui && npm run build; cd src-tauri && cargo build)", app.display());
        let root = tempfile::Builder::new().prefix("rapport-e2e-").tempdir().unwrap();
        let home = root.path().join("home");
        for d in [".config", ".local/share", ".cache", ".local/state"] {
            std::fs::create_dir_all(home.join(d)).unwrap();
        }
        let runtime = root.path().join("runtime");
        std::fs::create_dir_all(&runtime).unwrap();
        std::fs::set_permissions(&runtime, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
        std::fs::create_dir_all(root.path().join("profile")).unwrap();

        let (xvfb, display) = start_xvfb(root.path());
        let isolate = |cmd: &mut Command| {
            cmd.env("DISPLAY", &display)
                .env("HOME", &home)
                .env("XDG_CONFIG_HOME", home.join(".config"))
                .env("XDG_DATA_HOME", home.join(".local/share"))
                .env("XDG_CACHE_HOME", home.join(".cache"))
                .env("XDG_STATE_HOME", home.join(".local/state"))
                .env("XDG_RUNTIME_DIR", &runtime)
                .env("RAPPORT_PROFILE", root.path().join("profile"))
                .env("TAURI_WEBVIEW_AUTOMATION", "true")
                // Light theme for the screenshots, whatever the machine prefers.
                .env("GTK_THEME", "Adwaita")
                .env_remove("WAYLAND_DISPLAY")
                .stdin(Stdio::null());
        };
        // A notification daemon on the session bus, so the app's notifications go somewhere.
        let dunst = Command::new("sh").args(["-c", "command -v dunst"]).stdout(Stdio::null()).status().map(|s| s.success()).unwrap_or(false).then(|| {
            let log = std::fs::File::create(root.path().join("dunst.log")).unwrap();
            let mut cmd = Command::new("dunst");
            isolate(&mut cmd);
            Group::spawn("dunst", cmd.stdout(log.try_clone().unwrap()).stderr(log))
        });

        let port = free_port();
        let log = std::fs::File::create(root.path().join("webdriver.log")).unwrap();
        let mut cmd = Command::new("WebKitWebDriver");
        isolate(&mut cmd);
        cmd.args([format!("--port={port}"), "--host=127.0.0.1".into()]).stdout(log.try_clone().unwrap()).stderr(log);
        let mut driver = Group::spawn("WebKitWebDriver", &mut cmd);
        let http = Http { port };
        poll("WebKitWebDriver /status", UI_WAIT, || {
            if let Some(status) = driver.exited() {
                panic!("WebKitWebDriver exited ({status}): {}", std::fs::read_to_string(root.path().join("webdriver.log")).unwrap_or_default());
            }
            match http.request("GET", "/status", None) {
                Ok((200, v)) if v["value"]["ready"] == json!(true) => Some(()),
                _ => None,
            }
        });
        Env { _xvfb: xvfb, _dunst: dunst, _driver: driver, display, port, app: app.to_owned(), root }
    }

    pub fn launch(&self) -> Driver {
        self.launch_binary(&self.app)
    }

    /// Like [`Env::launch`], for another Tauri binary (e.g. the benchmark's empty window).
    pub fn launch_binary(&self, app: &Path) -> Driver {
        let d = Driver::new(self.port, app);
        poll("the app process (a child of WebKitWebDriver)", UI_WAIT, || self.pid_of(app));
        d
    }

    /// Ends the WebDriver session and waits until the app process is gone: the app keeps one
    /// instance per profile (D-Bus name), so a next launch must not meet the previous one.
    pub fn quit(&self, d: Driver) {
        self.quit_binary(d, &self.app);
    }

    /// Like [`Env::quit`], for a binary started with [`Env::launch_binary`].
    pub fn quit_binary(&self, d: Driver, app: &Path) {
        let driver_pid = self._driver.child.id();
        let running = app_pids(driver_pid, app);
        d.quit();
        poll("the app to exit after the session ended", UI_WAIT, || app_pids(driver_pid, app).is_empty().then_some(()));
        // An exiting process loses its /proc exe link before it closes its sockets (its D-Bus
        // name among them): wait until it is gone or a zombie.
        poll("the app process to end", UI_WAIT, || {
            running.iter().all(|pid| std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |stat| stat.rsplit_once(')').is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')))).then_some(())
        });
    }

    /// The running process of `app` that WebKitWebDriver started, if any.
    pub fn pid_of(&self, app: &Path) -> Option<u32> {
        app_pids(self._driver.child.id(), app).into_iter().next()
    }

    /// The app's profile directory (`RAPPORT_PROFILE`), to prepare before a launch.
    pub fn profile_dir(&self) -> PathBuf {
        self.root.path().join("profile")
    }

    /// The X display the app runs on (e.g. `:90`).
    pub fn display(&self) -> &str {
        &self.display
    }

    /// Whether this environment started a notification daemon (dunst is installed).
    pub fn has_notification_daemon(&self) -> bool {
        self._dunst.is_some()
    }

    /// Runs `dunstctl ARGS` against this environment's dunst (same display and session bus):
    /// its stdout, or what went wrong.
    pub fn dunstctl(&self, args: &[&str]) -> Result<String, String> {
        let out = Command::new("dunstctl")
            .args(args)
            .env("DISPLAY", &self.display)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("dunstctl {args:?}: {e}"))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(format!("dunstctl {args:?}: {}: {}", out.status, String::from_utf8_lossy(&out.stderr).trim()))
        }
    }

    /// Waits until dunst owns `org.freedesktop.Notifications` on the session bus (asking the
    /// bus, so that no D-Bus activation starts another daemon meanwhile).
    pub fn wait_for_notification_daemon(&self) {
        assert!(self.has_notification_daemon(), "dunst is not installed (run tests/install-e2e-deps)");
        poll("dunst on the session bus (org.freedesktop.Notifications)", UI_WAIT, || {
            let out = crate::keyring::name_has_owner("org.freedesktop.Notifications")?;
            String::from_utf8_lossy(&out.stdout).contains("boolean true").then_some(())
        });
    }

    /// The notifications dunst shows now and keeps in its history, as (summary, body) pairs:
    /// `dunstctl close-all` first moves the displayed ones into the history (`dunstctl history`
    /// lists only those).
    pub fn notifications(&self) -> Vec<(String, String)> {
        let displayed: usize = self.dunstctl(&["count", "displayed"]).ok().and_then(|s| s.trim().parse().ok()).unwrap_or(0);
        if displayed > 0 {
            let _ = self.dunstctl(&["close-all"]);
        }
        let Ok(history) = self.dunstctl(&["history"]) else { return Vec::new() };
        let Ok(value) = serde_json::from_str::<Value>(&history) else { return Vec::new() };
        let field = |n: &Value, key: &str| n[key]["data"].as_str().unwrap_or_default().to_owned();
        value["data"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|group| group.as_array().cloned().unwrap_or_default())
            .map(|n| (field(&n, "summary"), field(&n, "body")))
            .collect()
    }

    /// Files under the app's isolated HOME and profile that contain `secret`.
    pub fn files_containing(&self, secret: &str) -> Vec<PathBuf> {
        fn walk(dir: &Path, secret: &[u8], found: &mut Vec<PathBuf>) {
            let Ok(entries) = std::fs::read_dir(dir) else { return };
            for entry in entries.flatten() {
                let path = entry.path();
                let Ok(kind) = entry.file_type() else { continue };
                if kind.is_dir() {
                    walk(&path, secret, found);
                } else if kind.is_file() {
                    if let Ok(bytes) = std::fs::read(&path) {
                        if bytes.windows(secret.len()).any(|w| w == secret) {
                            found.push(path);
                        }
                    }
                }
            }
        }
        let mut found = Vec::new();
        for sub in ["home", "profile"] {
            walk(&self.root.path().join(sub), secret.as_bytes(), &mut found);
        }
        found
    }

    pub fn count_files(&self) -> usize {
        fn count(dir: &Path) -> usize {
            std::fs::read_dir(dir).map(|es| es.flatten().map(|e| if e.path().is_dir() { count(&e.path()) } else { 1 }).sum()).unwrap_or(0)
        }
        count(&self.root.path().join("home")) + count(&self.root.path().join("profile"))
    }
}

/// Live processes running `app` whose parent is `parent` (WebKitWebDriver launches the app).
pub fn app_pids(parent: u32, app: &Path) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return false };
            // "pid (comm) state ppid ...": comm may contain spaces, so split after the last ')'.
            let mut rest = stat.rsplit_once(')').map(|(_, r)| r.split_whitespace()).into_iter().flatten();
            let (state, ppid) = (rest.next(), rest.next().and_then(|p| p.parse::<u32>().ok()));
            ppid == Some(parent) && state != Some("Z") && std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|exe| exe == app)
        })
        .collect()
}

/// A private copy of `app` (kept while the returned directory lives): others rebuild the app
/// in the same checkout, and a rebuild must not swap or truncate the binary between two
/// launches of one test. Copies again while the source changes during the copy.
pub fn copy_app(app: &Path) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::Builder::new().prefix("rapport-e2e-app-").tempdir().unwrap();
    let copy = dir.path().join(app.file_name().expect("app file name"));
    let stamp = |p: &Path| std::fs::metadata(p).and_then(|m| Ok((m.len(), m.modified()?))).ok();
    poll(&format!("a stable copy of {}", app.display()), Duration::from_secs(120), || {
        let before = stamp(app)?;
        std::fs::copy(app, &copy).ok()?;
        (stamp(app) == Some(before) && std::fs::metadata(&copy).ok()?.len() == before.0).then_some(())
    });
    (dir, copy)
}

/// The debug build of the app in the checkout (src-tauri/target/debug/rapport-desktop).
pub fn built_app() -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../src-tauri/target/debug/rapport-desktop");
    path.canonicalize().unwrap_or(path)
}


/// One field (KiB) of /proc/PID/smaps_rollup, e.g. "Pss" or "Private_Dirty".
pub fn smaps_kib(pid: u32, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok()?;
    text.lines().find_map(|l| l.strip_prefix(field)?.strip_prefix(':')).and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Proportional set size (KiB) of one process: its private pages plus its share of the others.
pub fn pss_kib(pid: u32) -> Option<u64> {
    smaps_kib(pid, "Pss")
}

/// Unique set size (KiB) of one process: its private pages only, whatever else runs.
pub fn uss_kib(pid: u32) -> Option<u64> {
    Some(smaps_kib(pid, "Private_Clean")? + smaps_kib(pid, "Private_Dirty")?)
}

/// `pid` and all its live descendants (e.g. the app and its WebKitWebProcess and
/// WebKitNetworkProcess), each with its command name.
pub fn process_tree(pid: u32) -> Vec<(u32, String)> {
    let mut parents: Vec<(u32, u32, String)> = Vec::new();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for pid in entries.flatten().filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok()) {
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { continue };
            let Some((head, rest)) = stat.rsplit_once(')') else { continue };
            let comm = head.split_once('(').map(|(_, c)| c.to_owned()).unwrap_or_default();
            let mut fields = rest.split_whitespace();
            let (state, ppid) = (fields.next(), fields.next().and_then(|p| p.parse::<u32>().ok()));
            if let (Some(state), Some(ppid)) = (state, ppid) {
                if state != "Z" {
                    parents.push((pid, ppid, comm));
                }
            }
        }
    }
    let mut tree = vec![(pid, parents.iter().find(|p| p.0 == pid).map(|p| p.2.clone()).unwrap_or_default())];
    let mut i = 0;
    while i < tree.len() {
        let parent = tree[i].0;
        tree.extend(parents.iter().filter(|p| p.1 == parent).map(|p| (p.0, p.2.clone())));
        i += 1;
    }
    tree
}

/// PSS of `pid` and its descendants: the total (KiB) and each process (pid, name, KiB).
pub fn tree_pss_kib(pid: u32) -> (u64, Vec<(u32, String, u64)>) {
    let each: Vec<_> = process_tree(pid).into_iter().filter_map(|(p, name)| Some((p, name, pss_kib(p)?))).collect();
    (each.iter().map(|e| e.2).sum(), each)
}

/// USS (private pages, KiB) of `pid` and its descendants together.
pub fn tree_uss_kib(pid: u32) -> u64 {
    process_tree(pid).into_iter().filter_map(|(p, _)| uss_kib(p)).sum()
}

/// CPU time (user + system, seconds) a process has used so far.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // After "pid (comm)": state is field 3, utime and stime are fields 14 and 15.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    Some(ticks as f64 / per_second)
}
