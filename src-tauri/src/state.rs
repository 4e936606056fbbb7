//! The app's one piece of state: the profile, the current session (if any), and the `Status`
//! the UI mirrors. Sign-in, sign-out and forget are serialised; queries only clone the session.

use std::sync::Mutex;

use rapport_engine::connection::tls;
use rapport_engine::types::OwnPresence;
use rapport_engine::{credentials, AccountConfig, EngineError, Event, Profile, Session, SessionOptions};
use tauri::async_runtime::JoinHandle;
use tauri::{AppHandle, Emitter, Manager};
use tokio::sync::broadcast::error::{RecvError, TryRecvError};

use crate::coalesce::{self, Coalescer};
use crate::dto::{with_messages, AppError, Phase, SignInRequest, Status};
use crate::notifications::CatchUp;
use crate::settings::{Settings, SettingsStore};

/// Channel carrying every engine `Event` (its serde form, errors with their `message`).
pub const ENGINE_EVENT: &str = "engine-event";
/// Channel carrying the app's `Status` whenever it changes.
pub const SESSION_CHANGED: &str = "session-changed";
/// Sent when the UI's event stream skipped events (payload: how many); re-read state then.
pub const ENGINE_LAGGED: &str = "engine-lagged";

/// A sign-in the server's certificate stopped: what `trust_certificate` retries.
struct Untrusted {
    account: AccountConfig,
    password: String,
    remember: bool,
    fingerprint: String,
}

struct Inner {
    session: Option<Session>,
    forwarder: Option<JoinHandle<()>>,
    status: Status,
    untrusted: Option<Untrusted>,
}

pub struct AppState {
    profile: Profile,
    /// Serialises sign-in / sign-out / forget (held across the network wait).
    operations: tokio::sync::Mutex<()>,
    inner: Mutex<Inner>,
}

pub type CommandResult<T> = Result<T, AppError>;

pub(crate) fn signed_out_status() -> Status {
    Status {
        phase: Phase::SignedOut,
        account: None,
        host: None,
        port: None,
        direct_tls: false,
        ca_file: None,
        remembered: false,
        connection: None,
        own_presence: OwnPresence::Available,
        own_status: None,
        error: None,
    }
}

fn prefill(status: &mut Status, account: &AccountConfig) {
    status.account = Some(account.jid.clone());
    status.host = account.host.clone();
    status.port = account.port;
    status.direct_tls = account.direct_tls;
    status.ca_file = account.ca_file.as_ref().map(|p| p.to_string_lossy().into_owned());
}

impl AppState {
    pub fn new(profile: Profile) -> Self {
        Self {
            profile,
            operations: tokio::sync::Mutex::new(()),
            inner: Mutex::new(Inner { session: None, forwarder: None, status: signed_out_status(), untrusted: None }),
        }
    }

    pub fn status(&self) -> Status {
        self.inner.lock().unwrap().status.clone()
    }

    /// The current session, for queries and commands.
    pub fn session(&self) -> CommandResult<Session> {
        self.inner.lock().unwrap().session.clone().ok_or_else(|| EngineError::NotConnected.into())
    }

    fn update(&self, app: &AppHandle, change: impl FnOnce(&mut Status)) {
        let status = {
            let mut inner = self.inner.lock().unwrap();
            change(&mut inner.status);
            inner.status.clone()
        };
        crate::tray::on_status(app, &status);
        let _ = app.emit(SESSION_CHANGED, status);
    }

    /// Applies the settings the session uses (sending read markers); at sign-in and on change.
    pub fn apply_settings(&self, settings: &Settings) {
        if let Some(session) = &self.inner.lock().unwrap().session {
            session.set_send_read_markers(settings.send_read_markers);
        }
    }

    pub fn set_own_presence(&self, app: &AppHandle, presence: OwnPresence, text: Option<String>) {
        self.update(app, |s| {
            s.own_presence = presence;
            s.own_status = text;
        });
    }

    /// The account to use for `request`: the saved one (keeping its pinned certificate and
    /// channel-binding memory) with the form's server settings, or a new one.
    fn account_for(&self, request: &SignInRequest) -> CommandResult<AccountConfig> {
        let mut account = match self.profile.account(&request.jid) {
            Ok(account) => account,
            Err(EngineError::UnknownAccount { .. }) => AccountConfig::new(&request.jid)?,
            Err(error) => return Err(error.into()),
        };
        account.host = request.host.as_deref().map(str::trim).filter(|h| !h.is_empty()).map(String::from);
        account.port = request.port;
        account.direct_tls = request.direct_tls;
        account.ca_file = match request.ca_file.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
            Some(path) => Some(std::path::absolute(path).map_err(|e| EngineError::invalid("CA file", e))?),
            None => None,
        };
        // A CA file that cannot be read is reported before any connection attempt.
        tls::client_config(&account)?;
        Ok(account)
    }

    pub async fn sign_in(&self, app: &AppHandle, request: SignInRequest) -> CommandResult<Status> {
        let _serialised = self.operations.lock().await;
        let account = self.account_for(&request)?;
        if request.password.is_empty() {
            return Err(EngineError::invalid("password", "enter the password").into());
        }
        self.stop_session().await;
        self.start_session(app, account, request.password, request.remember, false).await
    }

    /// Retries the sign-in the certificate with `fingerprint` stopped, now pinning it.
    pub async fn trust_certificate(&self, app: &AppHandle, fingerprint: &str) -> CommandResult<Status> {
        let _serialised = self.operations.lock().await;
        let fingerprint = tls::normalize_fingerprint(fingerprint)?;
        let waiting = self.inner.lock().unwrap().untrusted.take();
        let Some(mut untrusted) = waiting.filter(|u| tls::normalize_fingerprint(&u.fingerprint).ok().as_deref() == Some(&fingerprint)) else {
            return Err(EngineError::invalid("certificate", "no sign-in is waiting for a decision about this certificate").into());
        };
        untrusted.account.pinned_certificate = Some(fingerprint);
        self.stop_session().await;
        self.start_session(app, untrusted.account, untrusted.password, untrusted.remember, false).await
    }

    async fn start_session(&self, app: &AppHandle, account: AccountConfig, password: String, remember: bool, automatic: bool) -> CommandResult<Status> {
        self.update(app, |s| {
            prefill(s, &account);
            s.phase = Phase::SigningIn;
            s.connection = None;
            s.error = None;
        });
        let (presence, text) = {
            let status = self.status();
            (status.own_presence, status.own_status)
        };
        let options = SessionOptions { keep_trying: automatic, initial_presence: Some((presence, text)), rejoin_only: None };
        let started = Session::start(&self.profile, account.clone(), password.clone(), options).await;
        let session = match started {
            Ok(session) => session,
            Err(error) => {
                if let EngineError::UntrustedCertificate { fingerprint, .. } = &error {
                    let untrusted = Untrusted { account, password, remember, fingerprint: fingerprint.clone() };
                    self.inner.lock().unwrap().untrusted = Some(untrusted);
                }
                let app_error = AppError::from(error);
                let shown = app_error.clone();
                self.update(app, |s| {
                    s.phase = Phase::SignedOut;
                    s.error = Some(shown);
                });
                return Err(app_error);
            }
        };
        // Subscribe at once: what happened before is in the session's snapshot and the store.
        let events = session.subscribe();

        // Keep what the engine learnt while signing in (channel binding), then save.
        let mut account = account;
        if let Ok(saved) = self.profile.account(&account.jid) {
            account.channel_binding_seen |= saved.channel_binding_seen;
        }
        let mut problem = self.profile.save_account(&account).err();
        let jid = account.jid.clone();
        let remembered = if remember {
            let stored = tauri::async_runtime::spawn_blocking(move || credentials::store_password(&jid, &password)).await;
            match stored.expect("keyring task") {
                Ok(()) => true,
                Err(error) => {
                    problem = problem.or(Some(error));
                    false
                }
            }
        } else {
            if !automatic {
                let _ = tauri::async_runtime::spawn_blocking(move || credentials::delete_password(&jid)).await;
            }
            automatic
        };

        // The tray's unread count starts from the stored conversations; events keep it current.
        match session.conversations().await {
            Ok(conversations) => crate::tray::set_conversations(app, &conversations, true),
            Err(error) => tracing::warn!(%error, "could not read the conversations for the unread count"),
        }
        let forwarder = tauri::async_runtime::spawn(forward_events(app.clone(), events));
        let connection = session.connection_state();
        {
            let mut inner = self.inner.lock().unwrap();
            inner.session = Some(session);
            inner.forwarder = Some(forwarder);
            inner.untrusted = None;
        }
        self.apply_settings(&app.state::<SettingsStore>().get());
        self.update(app, |s| {
            s.phase = Phase::SignedIn;
            s.remembered = remembered;
            s.connection = Some(connection);
            s.error = problem.map(Into::into);
        });
        Ok(self.status())
    }

    /// Disconnects and forgets the session (keeps the account and the keyring entry).
    async fn stop_session(&self) {
        let (session, forwarder) = {
            let mut inner = self.inner.lock().unwrap();
            (inner.session.take(), inner.forwarder.take())
        };
        if let Some(session) = session {
            session.disconnect().await;
        }
        if let Some(forwarder) = forwarder {
            forwarder.abort();
        }
    }

    pub async fn sign_out(&self, app: &AppHandle) -> CommandResult<Status> {
        let _serialised = self.operations.lock().await;
        self.stop_session().await;
        self.update(app, |s| {
            s.phase = Phase::SignedOut;
            s.connection = None;
            s.error = None;
        });
        Ok(self.status())
    }

    /// Removes the account, its keyring entry and, when asked, its local history.
    pub async fn forget_account(&self, app: &AppHandle, jid: &str, delete_history: bool) -> CommandResult<Status> {
        let _serialised = self.operations.lock().await;
        let bare = rapport_engine::config::parse_account_jid(jid)?;
        let jid = bare.to_string();
        let current = self.inner.lock().unwrap().session.as_ref().map(|s| s.account().to_string());
        if current.as_deref() == Some(jid.as_str()) {
            self.stop_session().await;
        }
        let key = jid.clone();
        match tauri::async_runtime::spawn_blocking(move || credentials::delete_password(&key)).await.expect("keyring task") {
            Ok(_) => {}
            // No keyring reachable: nothing can have been stored there by us.
            Err(EngineError::KeyringUnavailable { .. }) => {}
            Err(error) => return Err(error.into()),
        }
        self.profile.remove_account(&jid)?;
        if delete_history {
            self.profile.remove_account_data(&bare)?;
        }
        self.update(app, |s| *s = signed_out_status());
        Ok(self.status())
    }

    /// At start: prefill the form with the saved account and, when its password is in the
    /// keyring, sign in by itself (retrying in the background while the network is down).
    pub async fn auto_sign_in(&self, app: &AppHandle) {
        let _serialised = self.operations.lock().await;
        let account = match self.profile.accounts() {
            Ok(accounts) => accounts.into_iter().next(),
            Err(error) => {
                self.update(app, |s| s.error = Some(error.into()));
                return;
            }
        };
        let Some(account) = account else { return };
        self.update(app, |s| prefill(s, &account));
        let jid = account.jid.clone();
        let password = tauri::async_runtime::spawn_blocking(move || credentials::load_password(&jid)).await.expect("keyring task");
        match password {
            Ok(password) => {
                if let Err(error) = self.start_session(app, account, password, false, true).await {
                    tracing::info!(%error.message, "automatic sign-in failed");
                }
            }
            Err(error) => tracing::info!(%error, "no remembered password; showing the sign-in form"),
        }
    }

    /// On quit: say goodbye to the server.
    pub async fn shutdown(&self) {
        self.stop_session().await;
    }
}

/// Forwards the engine's events to the page, coalesced (see `coalesce`): the first event after
/// a quiet `INTERVAL` goes at once; while events keep coming, what arrives is collected and
/// sent together at most once per `INTERVAL`. Order is kept; nothing is dropped.
async fn forward_events(app: AppHandle, mut events: tokio::sync::broadcast::Receiver<Event>) {
    let mut last_sent: Option<tokio::time::Instant> = None;
    let mut pending = Coalescer::default();
    let mut catch_up = CatchUp::default();
    loop {
        let first = match events.recv().await {
            Ok(event) => event,
            Err(RecvError::Lagged(missed)) => {
                let _ = app.emit(ENGINE_LAGGED, missed);
                continue;
            }
            Err(RecvError::Closed) => break,
        };
        pending.push(first);
        // Under load (the last delivery was less than INTERVAL ago): collect until it is due.
        let due = last_sent
            .map(|at| at + coalesce::INTERVAL)
            .unwrap_or_else(tokio::time::Instant::now);
        let mut lagged = None;
        let mut closed = false;
        loop {
            match events.try_recv() {
                Ok(event) => {
                    pending.push(event);
                    continue;
                }
                Err(TryRecvError::Lagged(missed)) => lagged = Some(missed),
                Err(TryRecvError::Closed) => closed = true,
                Err(TryRecvError::Empty) => {
                    if tokio::time::Instant::now() < due {
                        tokio::select! {
                            received = events.recv() => match received {
                                Ok(event) => {
                                    pending.push(event);
                                    continue;
                                }
                                Err(RecvError::Lagged(missed)) => lagged = Some(missed),
                                Err(RecvError::Closed) => closed = true,
                            },
                            _ = tokio::time::sleep_until(due) => {}
                        }
                    }
                }
            }
            break;
        }
        for event in pending.take() {
            deliver(&app, &event, &mut catch_up);
        }
        last_sent = Some(tokio::time::Instant::now());
        if let Some(missed) = lagged {
            let _ = app.emit(ENGINE_LAGGED, missed);
        }
        if closed {
            break;
        }
    }
}

fn deliver(app: &AppHandle, event: &Event, catch_up: &mut CatchUp) {
    match event {
        Event::ConnectionChanged { state } => {
            let state = state.clone();
            app.state::<AppState>()
                .update(app, |s| s.connection = Some(state));
        }
        Event::MessagesReceived { messages, catch_up: false } => crate::notifications::notify_messages(app, messages),
        // Fetched from the archive after being offline: one summary when the sync is done.
        Event::MessagesReceived { messages, catch_up: true } => catch_up.add(messages),
        Event::SyncStarted => *catch_up = CatchUp::default(),
        Event::SyncFinished { received } => {
            let messages = catch_up.take();
            if *received > 0 {
                crate::notifications::notify_catch_up(app, messages);
            }
        }
        Event::ConversationsChanged { conversations } => {
            crate::tray::set_conversations(app, conversations, false)
        }
        _ => {}
    }
    if let Err(error) = app.emit(ENGINE_EVENT, with_messages(event)) {
        tracing::warn!(%error, "could not forward an engine event");
    }
}
