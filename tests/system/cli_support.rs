//! Helpers of cli.rs: building and running `rapport-cli` with its own profile (`Cli`, `Run`),
//! and a long-running one whose JSON lines arrive on a channel (`Running`).

use super::*;


/// Builds `rapport-cli` once per test binary (cargo decides whether anything is stale) and
/// returns the executable's path.
pub fn cli_path() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let output = Command::new(env!("CARGO"))
            .args(["build", "-p", "rapport-cli", "--bin", "rapport-cli", "--message-format=json-render-diagnostics"])
            .current_dir(workspace)
            .stderr(Stdio::inherit())
            .output()
            .expect("run cargo build -p rapport-cli");
        assert!(output.status.success(), "cargo build -p rapport-cli failed");
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "rapport-cli")
            .find_map(|m| m["executable"].as_str().map(PathBuf::from))
            .expect("cargo reported no rapport-cli executable")
    })
}

/// One profile directory: the CLI's config and history for one test.
pub struct Cli {
    pub profile: tempfile::TempDir,
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> Value {
        serde_json::from_str(self.stdout.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {}\nstderr: {}", self.stdout, self.stderr))
    }

    pub fn expect(self, code: i32, what: &str) -> Run {
        assert_eq!(self.code, code, "{what}: exit code\nstdout: {}\nstderr: {}", self.stdout, self.stderr);
        self
    }
}

impl Cli {
    pub fn new() -> Cli {
        Cli { profile: tempfile::tempdir().unwrap() }
    }

    pub fn command(&self, args: &[&str], env: &[(&str, &str)]) -> Command {
        let mut command = Command::new(cli_path());
        command.arg("--profile").arg(self.profile.path()).args(args);
        for var in ["RAPPORT_PASSWORD", "RAPPORT_ACCOUNT", "RAPPORT_PROFILE", "RUST_LOG"] {
            command.env_remove(var);
        }
        command.envs(env.iter().copied());
        command
    }

    /// Runs the CLI to completion (on a blocking thread) with `stdin` as its input.
    pub async fn run_with(&self, args: &[&str], stdin: &str, env: &[(&str, &str)]) -> Run {
        let mut command = self.command(args, env);
        let stdin = stdin.to_owned();
        let what = format!("rapport-cli {}", args.join(" "));
        tokio::task::spawn_blocking(move || {
            let mut child = command
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn rapport-cli");
            let pid = child.id();
            let mut input = child.stdin.take().unwrap();
            let writer = std::thread::spawn(move || {
                let _ = input.write_all(stdin.as_bytes());
            });
            let (done_tx, done_rx) = mpsc::channel();
            std::thread::spawn(move || {
                let _ = done_tx.send(child.wait_with_output());
            });
            let output = match done_rx.recv_timeout(CLI_TIMEOUT) {
                Ok(output) => output.expect("wait for rapport-cli"),
                Err(_) => {
                    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
                    panic!("{what} did not finish within {CLI_TIMEOUT:?}");
                }
            };
            let _ = writer.join();
            Run {
                code: output.status.code().unwrap_or(-1),
                stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            }
        })
        .await
        .unwrap()
    }

    pub async fn run(&self, args: &[&str]) -> Run {
        self.run_with(args, "", &[]).await
    }

    /// `account add` for a test server account (trusting the test CA); the password goes
    /// through stdin like a script would pipe it.
    pub async fn add_account(&self, server: &XmppServer, user: &TestUser, password: &str, extra: &[&str]) -> Run {
        let port = server.starttls_port().to_string();
        let ca = server.ca_file().to_string_lossy().into_owned();
        let mut args = vec!["account", "add", &user.jid, "--host", server.host(), "--port", &port, "--ca-file", &ca];
        args.extend_from_slice(extra);
        self.run_with(&args, &format!("{password}\n"), &[]).await
    }
}

/// A long-running CLI (`listen`) whose stdout lines arrive on a channel.
pub struct Running {
    pub child: std::process::Child,
    pub lines: mpsc::Receiver<String>,
    pub seen: Vec<String>,
}

impl Running {
    pub fn start(cli: &Cli, args: &[&str]) -> Running {
        let mut child = cli
            .command(args, &[])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn rapport-cli");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Running { child, lines, seen: Vec::new() }
    }

    /// The first JSON line `pick` accepts, within `WAIT`.
    pub async fn expect_json(&mut self, what: &str, pick: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            let line = tokio::task::block_in_place(|| self.lines.recv_timeout(remaining));
            match line {
                Ok(line) => {
                    let value: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
                    self.seen.push(line);
                    if pick(&value) {
                        return value;
                    }
                }
                Err(_) => panic!("timed out waiting for {what}; lines so far:\n{}", self.seen.join("\n")),
            }
        }
    }

    /// Reads JSON lines until `done` holds for all the lines this process printed so far
    /// (within `WAIT`), and returns them.
    pub async fn until(&mut self, what: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + WAIT;
        let mut values: Vec<Value> = self.seen.iter().filter_map(|line| serde_json::from_str(line).ok()).collect();
        while !done(&values) {
            let remaining = deadline.saturating_duration_since(Instant::now());
            match tokio::task::block_in_place(|| self.lines.recv_timeout(remaining)) {
                Ok(line) => {
                    values.push(serde_json::from_str(&line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}")));
                    self.seen.push(line);
                }
                Err(_) => panic!("timed out waiting for {what}; lines so far:\n{}", self.seen.join("\n")),
            }
        }
        values
    }

    /// Sends `signal` and returns the exit code.
    pub async fn stop(mut self, signal: i32) -> i32 {
        unsafe { libc::kill(self.child.id() as i32, signal) };
        let deadline = Instant::now() + CLI_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code().unwrap_or(-1);
            }
            assert!(Instant::now() < deadline, "rapport-cli did not exit after signal {signal}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Lines of `type` whose fields match all of `fields`.
pub fn lines_with<'a>(lines: &'a [Value], kind: &str, fields: &[(&str, Value)]) -> Vec<&'a Value> {
    lines.iter().filter(|v| v["type"] == kind && fields.iter().all(|(k, want)| v[*k] == *want)).collect()
}

