//! Child-process plumbing shared by the server kinds: free ports, process groups, a watchdog
//! that cleans up when the test binary dies, and bounded waits.

use std::collections::HashSet;
use std::io;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

/// Ports handed out by this process, so two instances never get the same one.
static HANDED_OUT: Mutex<Option<HashSet<u16>>> = Mutex::new(None);
static RNG: AtomicU64 = AtomicU64::new(0);

/// A pseudo-random number (xorshift seeded from time and pid). Good enough for names/ports.
pub(crate) fn random_u64() -> u64 {
    let mut current = RNG.load(Ordering::Relaxed);
    loop {
        let mut y = if current == 0 {
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1);
            t ^ ((std::process::id() as u64) << 32) ^ 0x9E37_79B9_7F4A_7C15
        } else {
            current
        };
        y ^= y << 13;
        y ^= y >> 7;
        y ^= y << 17;
        match RNG.compare_exchange(current, y, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return y,
            Err(actual) => current = actual,
        }
    }
}

/// A random alphanumeric string (lowercase letters and digits).
pub(crate) fn random_token(len: usize) -> String {
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    (0..len).map(|_| CHARS[(random_u64() % CHARS.len() as u64) as usize] as char).collect()
}

/// A free TCP port on 127.0.0.1, never handed out before by this process.
///
/// Ports are drawn from 20000..32000, below Linux's ephemeral range (32768..60999): a port
/// taken with `bind(0)` could be reused by the kernel for an outgoing connection while a
/// server is being restarted on it, and then the restart fails with "address in use".
pub fn free_port() -> u16 {
    let mut guard = HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner());
    let used = guard.get_or_insert_with(HashSet::new);
    for _ in 0..10_000 {
        let port = 20_000 + (random_u64() % 12_000) as u16;
        if used.contains(&port) {
            continue;
        }
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            used.insert(port);
            return port;
        }
    }
    panic!("no free loopback port found in 20000..32000");
}

/// Polls `f` every 20 ms until it returns `Some` or `timeout` passes.
pub(crate) fn poll_until<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        thread::sleep(Duration::from_millis(20));
    }
}

fn group_alive(pgid: i32) -> bool {
    // SAFETY: kill with signal 0 only checks for existence/permission.
    unsafe { libc::kill(-pgid, 0) == 0 }
}

fn signal_group(pgid: i32, sig: i32) {
    // SAFETY: plain kill(2) on a process group we created.
    unsafe {
        libc::kill(-pgid, sig);
    }
}

/// A server child running in its own process group, plus a watchdog.
///
/// The watchdog is a tiny `sh` that blocks reading a pipe whose only writer is this test
/// process. When the test binary exits — also on a panic, `process::exit`, SIGKILL, and for
/// the never-dropped `shared_*()` statics — the pipe closes and the watchdog SIGTERMs (then
/// SIGKILLs) the server's process group and removes the instance directory.
pub(crate) struct GroupChild {
    child: Child,
    pgid: i32,
    watchdog: Child,
    _watchdog_pipe: ChildStdin,
}

impl GroupChild {
    /// Spawns `cmd` as the leader of a new process group and arms a watchdog that removes
    /// `cleanup_dir` (if given) after killing the group.
    pub(crate) fn spawn(mut cmd: Command, cleanup_dir: Option<&Path>) -> io::Result<GroupChild> {
        cmd.process_group(0).stdin(Stdio::null());
        let child = cmd.spawn()?;
        let pgid = child.id() as i32;
        // Note: /bin/sh is dash on Debian, whose `kill` rejects `--`: `kill -TERM -- -PGID`
        // fails there ("Illegal number: -") and kills nothing. `kill -TERM "-PGID"` works.
        let script = r#"
            pg=$1; dir=$2
            cleanup() {
                kill -TERM "-$pg" 2>/dev/null
                i=0
                while kill -0 "-$pg" 2>/dev/null && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i+1)); done
                kill -KILL "-$pg" 2>/dev/null
                if [ -n "$dir" ]; then sleep 0.2; rm -rf -- "$dir"; fi
                exit 0
            }
            trap cleanup TERM HUP INT
            while read -r _; do :; done
            cleanup
        "#;
        let mut wd = Command::new("sh");
        wd.arg("-c")
            .arg(script)
            .arg("rapport-test-watchdog")
            .arg(pgid.to_string())
            .arg(cleanup_dir.map(|d| d.as_os_str().to_owned()).unwrap_or_default())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Own group: a Ctrl-C on the terminal must not kill the watchdog before the server.
            .process_group(0);
        let mut watchdog = match wd.spawn() {
            Ok(w) => w,
            Err(e) => {
                signal_group(pgid, libc::SIGKILL);
                return Err(e);
            }
        };
        let pipe = watchdog.stdin.take().expect("watchdog stdin");
        Ok(GroupChild { child, pgid, watchdog, _watchdog_pipe: pipe })
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `Some(status)` if the leader has exited.
    pub(crate) fn try_wait(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Waits until the leader has exited and no process is left in the group.
    pub(crate) fn wait_gone(&mut self, timeout: Duration) -> bool {
        let pgid = self.pgid;
        let child = &mut self.child;
        poll_until(timeout, || {
            let leader_done = child.try_wait().ok().flatten().is_some();
            (leader_done && !group_alive(pgid)).then_some(())
        })
        .is_some()
    }

    /// SIGTERM the group, wait up to `grace`, then SIGKILL; always reaps the leader and
    /// disarms the watchdog.
    pub(crate) fn terminate(mut self, grace: Duration) {
        if !self.wait_gone(Duration::ZERO) {
            signal_group(self.pgid, libc::SIGTERM);
            if !self.wait_gone(grace) {
                signal_group(self.pgid, libc::SIGKILL);
                self.wait_gone(Duration::from_secs(5));
            }
        }
        let _ = self.child.wait();
        // Disarm: kill the watchdog before its pipe closes, so it does not act on a pgid that
        // the kernel may hand out again.
        let _ = self.watchdog.kill();
        let _ = self.watchdog.wait();
    }
}

/// Runs a command to completion with a timeout, capturing output.
pub(crate) fn run_with_timeout(mut cmd: Command, timeout: Duration) -> io::Result<CmdOutput> {
    let out_file = tempfile::tempfile()?;
    let err_file = tempfile::tempfile()?;
    cmd.stdin(Stdio::null())
        .stdout(out_file.try_clone()?)
        .stderr(err_file.try_clone()?)
        .process_group(0);
    let started = Instant::now();
    let mut child = cmd.spawn()?;
    let pgid = child.id() as i32;
    let status = poll_until(timeout, || child.try_wait().ok().flatten());
    let timed_out = status.is_none();
    let status = match status {
        Some(s) => s,
        None => {
            signal_group(pgid, libc::SIGKILL);
            child.wait()?
        }
    };
    let read = |mut f: std::fs::File| {
        use std::io::{Read, Seek};
        let mut s = String::new();
        let _ = f.seek(io::SeekFrom::Start(0));
        let _ = f.read_to_string(&mut s);
        s
    };
    Ok(CmdOutput {
        success: status.success() && !timed_out,
        timed_out,
        status: status.code(),
        stdout: read(out_file),
        stderr: read(err_file),
        elapsed: started.elapsed(),
    })
}

/// Output of [`run_with_timeout`].
#[derive(Debug)]
pub(crate) struct CmdOutput {
    pub success: bool,
    pub timed_out: bool,
    pub status: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl std::fmt::Display for CmdOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {:?}{} after {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.status,
            if self.timed_out { " (TIMED OUT)" } else { "" },
            self.elapsed,
            self.stdout.trim_end(),
            self.stderr.trim_end()
        )
    }
}

/// The last `n` lines of a file, or a note that it can't be read.
pub(crate) fn tail_file(path: &Path, n: usize) -> String {
    match std::fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(n)..].join("\n")
        }
        Err(e) => format!("({}: {e})", path.display()),
    }
}

/// PIDs of all processes whose process group is `pgid` (from /proc).
pub(crate) fn group_pids(pgid: i32) -> Vec<i32> {
    let mut pids = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else { return pids };
    for e in entries.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else { continue };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { continue };
        // Fields after the ")" of the command name: state ppid pgrp ...
        let Some(after) = stat.rfind(')').map(|i| &stat[i + 1..]) else { continue };
        let fields: Vec<&str> = after.split_whitespace().collect();
        if fields.get(2).and_then(|g| g.parse::<i32>().ok()) == Some(pgid) {
            pids.push(pid);
        }
    }
    pids
}

/// Listening TCP addresses (v4 and v6) of every process in process group `pgid`.
pub(crate) fn group_listen_addrs(pgid: i32) -> Vec<std::net::SocketAddr> {
    use std::collections::HashMap;
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
    // inode -> address, for LISTEN sockets.
    let mut listeners: HashMap<u64, SocketAddr> = HashMap::new();
    for (file, v6) in [("/proc/net/tcp", false), ("/proc/net/tcp6", true)] {
        let Ok(text) = std::fs::read_to_string(file) else { continue };
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 10 || f[3] != "0A" {
                continue;
            }
            let Some((ip_hex, port_hex)) = f[1].split_once(':') else { continue };
            let Ok(port) = u16::from_str_radix(port_hex, 16) else { continue };
            let ip = if v6 {
                let mut bytes = [0u8; 16];
                for i in 0..4 {
                    let word = u32::from_str_radix(&ip_hex[i * 8..i * 8 + 8], 16).unwrap_or(0);
                    bytes[i * 4..i * 4 + 4].copy_from_slice(&word.to_le_bytes());
                }
                IpAddr::V6(Ipv6Addr::from(bytes))
            } else {
                let word = u32::from_str_radix(ip_hex, 16).unwrap_or(0);
                IpAddr::V4(Ipv4Addr::from(word.to_le_bytes()))
            };
            if let Ok(inode) = f[9].parse::<u64>() {
                listeners.insert(inode, SocketAddr::new(ip, port));
            }
        }
    }
    let mut out = Vec::new();
    for pid in group_pids(pgid) {
        let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else { continue };
        for fd in fds.flatten() {
            let Ok(target) = std::fs::read_link(fd.path()) else { continue };
            let t = target.to_string_lossy();
            if let Some(inode) = t.strip_prefix("socket:[").and_then(|s| s.strip_suffix(']')) {
                if let Some(addr) = inode.parse::<u64>().ok().and_then(|i| listeners.get(&i)) {
                    out.push(*addr);
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}
