//! Commands that sign in: send, roster, presence, listen, contacts, subscription, ping, disco,
//! version.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rapport_engine::config::parse_contact_jid;
use rapport_engine::types::{DeliveryState, MessageId, OwnPresence, RosterItem, Subscription};
use rapport_engine::{AccountConfig, ConnectionState, EngineError, Event, Session, SessionOptions, Store};
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::broadcast::Receiver;
use xmpp_parsers::jid::Jid;

use crate::args::{Command, ContactsCommand, Show, SubscriptionAction};
use crate::context::Context;
use crate::exit::{self, CliResult, Failure};
use crate::{input, output};

/// How long to wait for the server to bind the session, answer the roster query, or
/// acknowledge a sent message.
const SERVER_TIMEOUT: Duration = Duration::from_secs(30);
/// `roster` waits this long at most for contacts' presence to arrive…
const PRESENCE_MAX_WAIT: Duration = Duration::from_secs(3);
/// …and stops earlier once presence updates have been quiet this long.
const PRESENCE_QUIET: Duration = Duration::from_millis(500);

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime")
}

pub fn run(context: &Context, command: Command) -> CliResult {
    // Check the arguments before asking for a password or touching the network.
    validate(&command)?;
    let account = context.select_account()?;
    let password = context.password(&account.jid)?;
    let command = match command {
        Command::Send { jid, text, timeout, room } if text == "-" => Command::Send { jid, text: input::read_text()?, timeout, room },
        command => command,
    };
    if let Command::Send { text, .. } = &command {
        if text.trim().is_empty() {
            return Err(Failure::usage("The message is empty."));
        }
    }
    let room_password = match &command {
        Command::Join { room_password_stdin: true, room, .. } => Some(input::read_password(&format!("Password for {room}: "))?),
        _ => None,
    };
    runtime().block_on(run_online(context, account, password, command, room_password))
}

fn validate(command: &Command) -> CliResult {
    let contact = |jid: &str| parse_contact_jid(jid).map(drop).map_err(Failure::from);
    let any = |jid: &str| {
        jid.trim().parse::<Jid>().map(drop).map_err(|e| {
            Failure::from(EngineError::InvalidJid { input: jid.chars().take(200).collect(), reason: e.to_string() })
        })
    };
    match command {
        Command::Send { jid, text, .. } => {
            contact(jid)?;
            if text != "-" && text.trim().is_empty() {
                return Err(Failure::usage("The message is empty."));
            }
            Ok(())
        }
        Command::Contacts(ContactsCommand::Add { jid, .. } | ContactsCommand::Remove { jid } | ContactsCommand::Rename { jid, .. }) => {
            contact(jid)
        }
        Command::Subscription { jid, .. } => contact(jid),
        Command::Join { room, .. } | Command::Leave { room } => contact(room),
        Command::Rooms { service: Some(service), .. } => any(service),
        Command::Ping { jid: Some(jid), .. } | Command::Disco { jid, .. } | Command::Version { jid, .. } => any(jid),
        _ => Ok(()),
    }
}

enum Next {
    Event(Event),
    /// Some events were missed; re-read state.
    Lagged,
    TimedOut,
}

/// A signed-in session and the events received since just after sign-in.
pub(crate) struct Online<'a> {
    pub context: &'a Context,
    pub session: Session,
    events: Receiver<Event>,
}

async fn run_online(context: &Context, account: AccountConfig, password: String, command: Command, room_password: Option<String>) -> CliResult {
    let mut online = sign_in(context, account, password, session_options(&command)).await?;
    let result = match command {
        Command::Listen { json, .. } => listen_loop(&mut online, json).await,
        // `send` does not wait to be online: offline, the message waits in the outbox.
        Command::Send { jid, text, timeout, room: false } => send(&mut online, &jid, &text, Duration::from_secs(timeout)).await,
        Command::Send { jid, text, timeout, room: true } => {
            crate::rooms::send(&mut online, &jid, &text, Duration::from_secs(timeout)).await
        }
        Command::Join { room, nick, json, .. } => match online.wait_online().await {
            Ok(()) => crate::rooms::join(&mut online, &room, nick.as_deref(), room_password.as_deref(), json).await,
            Err(failure) => Err(failure),
        },
        command => match online.wait_online().await {
            Ok(()) => one_shot(&mut online, command).await,
            Err(failure) => Err(failure),
        },
    };
    online.session.disconnect().await;
    result
}

fn session_options(command: &Command) -> SessionOptions {
    match command {
        Command::Listen { keep_trying, presence, status, .. } => SessionOptions {
            keep_trying: *keep_trying,
            initial_presence: (presence.is_some() || status.is_some())
                .then(|| (presence.map_or(OwnPresence::Available, Show::own_presence), status.clone())),
            rejoin_only: None,
        },
        // A network problem must not lose the message: it is stored and queued either way.
        Command::Send { jid, room, .. } => {
            let rejoin_only = Some(if *room { vec![jid.clone()] } else { Vec::new() });
            SessionOptions { keep_trying: true, rejoin_only, ..SessionOptions::default() }
        }
        // One-off commands join no room (the rooms would see us come and go).
        _ => SessionOptions { rejoin_only: Some(Vec::new()), ..SessionOptions::default() },
    }
}

async fn sign_in(context: &Context, account: AccountConfig, password: String, options: SessionOptions) -> CliResult<Online<'_>> {
    let jid = account.jid.clone();
    let session = Session::start(&context.profile, account, password, options)
        .await
        .map_err(|error| sign_in_failure(context, &jid, error))?;
    // Subscribed before the stream is bound: the roster and presence that follow sign-in are
    // all seen.
    let events = session.subscribe();
    Ok(Online { context, session, events })
}

/// The engine's text, plus what to do about it when the CLI knows.
fn sign_in_failure(context: &Context, jid: &str, error: EngineError) -> Failure {
    let hint = match &error {
        EngineError::UntrustedCertificate { fingerprint, .. } if !fingerprint.is_empty() => format!(
            "\nIf you are sure this is your server's certificate (compare the fingerprint with the one your server administrator gives you), trust it with:\n  {} account trust {jid} {fingerprint}",
            context.program()
        ),
        EngineError::WrongPassword => {
            format!(" To store a new password: {} account add {jid} (with the same options as before).", context.program())
        }
        _ => String::new(),
    };
    let mut failure = Failure::from(error);
    failure.message.push_str(&hint);
    failure
}

/// Signs in once to check the password and the server, without touching the profile's files.
pub async fn verify_login(account: AccountConfig, password: String) -> Result<ConnectionState, EngineError> {
    let store = Arc::new(Store::open_in_memory().map_err(EngineError::from)?);
    let session = Session::start_with_store(account, password, store, SessionOptions::default()).await?;
    let result = session.wait_online(SERVER_TIMEOUT).await.map(|()| session.connection_state());
    session.disconnect().await;
    result
}

impl Online<'_> {
    pub(crate) async fn wait_online(&mut self) -> CliResult {
        self.session.wait_online(SERVER_TIMEOUT).await.map_err(|e| sign_in_failure(self.context, &self.session.account().to_string(), e))
    }

    /// The next event before `deadline`, or the failure that ends the session.
    async fn next(&mut self, deadline: Instant) -> CliResult<Next> {
        let remaining = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(remaining, self.events.recv()).await {
            Err(_) => Ok(Next::TimedOut),
            Ok(Ok(Event::ConnectionChanged { state: ConnectionState::Offline { reason } })) => {
                Err(reason.unwrap_or(EngineError::NotConnected).into())
            }
            Ok(Ok(event)) => Ok(Next::Event(event)),
            Ok(Err(RecvError::Lagged(_))) => Ok(Next::Lagged),
            Ok(Err(RecvError::Closed)) => Err(EngineError::NotConnected.into()),
        }
    }

    async fn wait_roster(&mut self) -> CliResult<Vec<RosterItem>> {
        let deadline = Instant::now() + SERVER_TIMEOUT;
        loop {
            match self.next(deadline).await? {
                Next::Event(Event::RosterLoaded { items }) => return Ok(items),
                Next::Event(_) => {}
                // Missed events: the roster may have been among them.
                Next::Lagged => return Ok(self.session.roster()),
                Next::TimedOut => {
                    return Err(EngineError::Timeout { stage: "waiting for the contact list".into() }.into())
                }
            }
        }
    }

    /// Waits until presence updates have been quiet for a moment (a UX wait, not a guarantee).
    async fn settle_presence(&mut self) {
        let started = Instant::now();
        let deadline = started + PRESENCE_MAX_WAIT;
        let mut quiet_since = None::<Instant>;
        loop {
            let now = Instant::now();
            let until = match quiet_since {
                Some(since) => (since + PRESENCE_QUIET).min(deadline),
                None => deadline,
            };
            if now >= until {
                return;
            }
            match tokio::time::timeout(until - now, self.events.recv()).await {
                Err(_) => return,
                Ok(Ok(Event::PresenceChanged { .. })) => quiet_since = Some(Instant::now()),
                Ok(Ok(_)) | Ok(Err(RecvError::Lagged(_))) => {}
                Ok(Err(RecvError::Closed)) => return,
            }
        }
    }

    /// Makes sure what was queued before reached the server: stanzas go out in order, so the
    /// answer to a ping sent after them means they were sent.
    pub(crate) async fn flush(&self) {
        if let Err(error) = self.session.ping(None).await {
            tracing::debug!(%error, "flush ping failed");
        }
    }
}

async fn one_shot(online: &mut Online<'_>, command: Command) -> CliResult {
    match command {
        Command::Roster { json } => roster(online, json).await,
        Command::Presence { show, status } => {
            online.session.set_presence(show.own_presence(), status.as_deref()).await?;
            online.flush().await;
            eprintln!(
                "Presence set to {}. Note: it lasts only while you are connected, and rapport-cli has now signed out. To stay online with it, run `{} listen --presence {}{}`.",
                show_name(show),
                online.context.program(),
                show_name(show),
                status.map(|s| format!(" --status {}", crate::context::shell_quote(&s))).unwrap_or_default()
            );
            Ok(())
        }
        Command::Contacts(command) => contacts(online, command).await,
        Command::Rooms { service, json } => crate::rooms::list(online, service, json).await,
        Command::Leave { room } => crate::rooms::leave(online, &room).await,
        Command::Subscription { action, jid } => subscription(online, action, &jid).await,
        Command::Ping { jid, json } => {
            let rtt = online.session.ping(jid.as_deref()).await?;
            let target = jid.unwrap_or_else(|| online.session.account().domain().to_string());
            let millis = rtt.as_secs_f64() * 1000.0;
            let _ = if json {
                output::emit_json(&json!({ "jid": target, "rtt_ms": (millis * 10.0).round() / 10.0 }))
            } else {
                output::emit(&format!("Answer from {target} in {millis:.1} ms"))
            };
            Ok(())
        }
        Command::Disco { jid, json } => {
            let info = online.session.disco_info(&jid).await?;
            let identities: Vec<_> = info
                .identities
                .iter()
                .map(|i| json!({ "category": i.category, "type": i.type_, "name": i.name, "lang": i.lang }))
                .collect();
            let features: Vec<&String> = info.features.iter().collect();
            if json {
                let _ = output::emit_json(&json!({ "jid": jid, "identities": identities, "features": features }));
            } else {
                let mut lines = vec![format!("{jid}:")];
                for identity in &info.identities {
                    let name = identity.name.as_deref().map(|n| format!(" \"{n}\"")).unwrap_or_default();
                    lines.push(format!("  identity {}/{}{name}", identity.category, identity.type_));
                }
                lines.extend(features.iter().map(|f| format!("  feature {f}")));
                let _ = output::emit(&lines.join("\n"));
            }
            Ok(())
        }
        Command::Version { jid, json } => {
            let version = online.session.software_version(&jid).await?;
            let _ = if json {
                output::emit_json(&json!({ "jid": jid, "name": version.name, "version": version.version, "os": version.os }))
            } else {
                let os = version.os.as_deref().map(|os| format!(" on {os}")).unwrap_or_default();
                output::emit(&format!("{jid}: {} {}{os}", version.name, version.version))
            };
            Ok(())
        }
        Command::Send { .. }
        | Command::Join { .. }
        | Command::Listen { .. }
        | Command::Account(_)
        | Command::History(_)
        | Command::Conversations { .. } => {
            unreachable!("not an online one-shot command")
        }
    }
}

fn show_name(show: Show) -> &'static str {
    match show {
        Show::Available => "available",
        Show::Chat => "chat",
        Show::Away => "away",
        Show::Xa => "xa",
        Show::Dnd => "dnd",
        Show::Invisible => "invisible",
    }
}

// ---- send ----

async fn send(online: &mut Online<'_>, to: &str, text: &str, timeout: Duration) -> CliResult {
    let message = online.session.send_message(to, text).await?;
    tracing::info!(id = message.id, "message stored; waiting for the server's acknowledgement");
    wait_sent(online, message.id, timeout).await
}

/// The session stopped for good (e.g. the password changed) while our message was pending.
fn still_queued(mut failure: Failure) -> Failure {
    failure.message.push_str(" The message was not sent: it stays queued in the local outbox (pending) and is sent the next time this account signs in with this profile.");
    failure
}

/// Waits for `MessageUpdated` (sent, or later) for our message id, or for `timeout`.
pub(crate) async fn wait_sent(online: &mut Online<'_>, id: MessageId, timeout: Duration) -> CliResult {
    let deadline = Instant::now() + timeout;
    let stored_state = |online: &Online<'_>| online.session.store().message(id).ok().flatten().map(|m| m.state);
    let mut last_problem = None::<EngineError>;
    loop {
        let state = match online.next(deadline).await.map_err(still_queued)? {
            Next::Event(Event::MessageUpdated { id: updated, state, .. }) if updated == id => Some(state),
            Next::Event(Event::ConnectionChanged { state: ConnectionState::Reconnecting { reason: Some(reason), .. } }) => {
                last_problem = Some(reason);
                None
            }
            Next::Event(_) => None,
            // Missed events: read the state from the store instead.
            Next::Lagged => stored_state(online),
            Next::TimedOut => return Err(not_confirmed(&online.session.connection_state(), last_problem, timeout)),
        };
        match state {
            Some(DeliveryState::Sent | DeliveryState::Delivered | DeliveryState::Read) => return Ok(()),
            Some(DeliveryState::Failed) => {
                return Err(Failure::failed("The message could not be sent: the server refused it (see `history` for it; it is marked failed)."));
            }
            _ => {}
        }
    }
}

/// Why `send` gave up waiting: online but no confirmation (7), or never reached the server (8).
fn not_confirmed(connection: &ConnectionState, problem: Option<EngineError>, timeout: Duration) -> Failure {
    let seconds = timeout.as_secs();
    if matches!(connection, ConnectionState::Online { .. }) {
        return Failure::new(
            exit::ACK_TIMEOUT,
            format!("The server did not confirm the message within {seconds} seconds; it may or may not have been delivered. It stays queued in the local outbox (pending) and is sent again, without a duplicate, the next time this account signs in with this profile."),
        );
    }
    let why = problem.map(|p| format!(" ({})", p.to_string().trim_end_matches('.'))).unwrap_or_default();
    Failure::new(
        exit::QUEUED_OFFLINE,
        format!("Could not reach the server within {seconds} seconds{why}. The message was not sent: it is queued in the local outbox (pending) and is sent the next time this account signs in with this profile (any rapport-cli command that connects, or the desktop app)."),
    )
}

// ---- roster ----

async fn roster(online: &mut Online<'_>, json: bool) -> CliResult {
    let mut items = online.wait_roster().await?;
    if items.iter().any(|i| matches!(i.subscription, Subscription::To | Subscription::Both)) {
        online.settle_presence().await;
    }
    items.sort_by_cached_key(|i| (i.name.clone().unwrap_or_else(|| i.jid.clone()).to_lowercase(), i.jid.clone()));
    if json {
        let contacts: Vec<_> = items.iter().map(|i| output::contact_json(i, &online.session.presence(&i.jid))).collect();
        let _ = output::emit_json(&serde_json::Value::Array(contacts));
        return Ok(());
    }
    if items.is_empty() {
        eprintln!("No contacts.");
        return Ok(());
    }
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|item| {
            let presence = online.session.presence(&item.jid);
            let subscription = format!("{}{}", item.subscription.as_str(), if item.pending_out { " (asked)" } else { "" });
            vec![
                item.jid.clone(),
                item.name.clone().unwrap_or_default(),
                output::availability_text(presence.availability).into(),
                subscription,
                item.groups.join(", "),
                presence.status.unwrap_or_default(),
            ]
        })
        .collect();
    let _ = output::emit(&output::table(&["JID", "NAME", "PRESENCE", "SUBSCRIPTION", "GROUPS", "STATUS"], &rows));
    Ok(())
}

// ---- contacts and subscriptions ----

async fn contacts(online: &mut Online<'_>, command: ContactsCommand) -> CliResult {
    online.wait_roster().await?;
    let session = &online.session;
    let done = match command {
        ContactsCommand::Add { jid, name, groups } => {
            session.add_contact(&jid, name.as_deref(), &groups).await?;
            format!("Added {} and asked to see their presence.", parse_contact_jid(&jid)?)
        }
        ContactsCommand::Remove { jid } => {
            session.remove_contact(&jid).await?;
            format!("Removed {}.", parse_contact_jid(&jid)?)
        }
        ContactsCommand::Rename { jid, name } => {
            let name = Some(name.trim()).filter(|n| !n.is_empty());
            session.rename_contact(&jid, name).await?;
            match name {
                Some(name) => format!("Renamed {} to {name}.", parse_contact_jid(&jid)?),
                None => format!("Removed the name of {}.", parse_contact_jid(&jid)?),
            }
        }
    };
    online.flush().await;
    let _ = output::emit(&done);
    Ok(())
}

async fn subscription(online: &mut Online<'_>, action: SubscriptionAction, jid: &str) -> CliResult {
    online.wait_roster().await?;
    let session = &online.session;
    let bare = parse_contact_jid(jid)?;
    let done = match action {
        SubscriptionAction::Approve => {
            session.approve_subscription(jid).await?;
            format!("{bare} may now see your presence.")
        }
        SubscriptionAction::Deny => {
            session.deny_subscription(jid).await?;
            format!("{bare} may not see your presence.")
        }
        SubscriptionAction::Request => {
            session.request_subscription(jid).await?;
            format!("Asked {bare} to let you see their presence.")
        }
        SubscriptionAction::Cancel => {
            session.cancel_subscription(jid).await?;
            format!("You no longer ask to see {bare}'s presence.")
        }
    };
    online.flush().await;
    let _ = output::emit(&done);
    Ok(())
}

// ---- listen ----

async fn listen_loop(online: &mut Online<'_>, json: bool) -> CliResult {
    use tokio::signal::unix::{signal, SignalKind};
    let mut terminate = signal(SignalKind::terminate()).map_err(|e| Failure::failed(format!("Cannot handle SIGTERM: {e}")))?;
    let mut interrupt = signal(SignalKind::interrupt()).map_err(|e| Failure::failed(format!("Cannot handle SIGINT: {e}")))?;
    loop {
        let received = tokio::select! {
            _ = terminate.recv() => return Ok(()),
            _ = interrupt.recv() => return Ok(()),
            received = online.events.recv() => received,
        };
        let event = match received {
            Ok(event) => event,
            Err(RecvError::Lagged(missed)) => {
                let shown = if json {
                    output::emit_json(&json!({ "type": "lagged", "missed": missed }))
                } else {
                    output::emit(&format!("* {missed} events were missed (output too slow)."))
                };
                if shown.is_err() {
                    return Ok(());
                }
                continue;
            }
            Err(RecvError::Closed) => return Err(EngineError::NotConnected.into()),
        };
        if print_event(online, json, &event).is_err() {
            // stdout was closed (`| head`): nobody is listening any more.
            return Ok(());
        }
        if let Event::ConnectionChanged { state: ConnectionState::Offline { reason } } = event {
            let error = reason.unwrap_or(EngineError::NotConnected);
            return Err(sign_in_failure(online.context, &online.session.account().to_string(), error));
        }
    }
}

fn print_event(online: &Online<'_>, json: bool, event: &Event) -> Result<(), ()> {
    if json {
        for line in output::event_lines(event) {
            output::emit_json(&line)?;
        }
        return Ok(());
    }
    for line in output::event_text(event, &online.context.program(), |jid| online.session.room(jid).is_some_and(|room| room.jid == jid)) {
        output::emit(&line)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_addresses_are_refused_before_signing_in() {
        let send = |jid: &str, text: &str| validate(&Command::Send { jid: jid.into(), text: text.into(), timeout: 30, room: false });
        assert_eq!(send("not a jid", "hi").unwrap_err().code, exit::USAGE);
        assert_eq!(send("@example.org", "hi").unwrap_err().code, exit::USAGE);
        assert_eq!(send("bob@example.org", "  ").unwrap_err().code, exit::USAGE);
        assert!(send("bob@example.org", "-").is_ok());
        assert!(send("bob@example.org", "hi").is_ok());
        let disco = |jid: &str| validate(&Command::Disco { jid: jid.into(), json: false });
        assert!(disco("example.org").is_ok());
        assert!(disco("bob@example.org/phone").is_ok());
        assert_eq!(disco("a@b@c").unwrap_err().code, exit::USAGE);
        let subscription = validate(&Command::Subscription { action: SubscriptionAction::Approve, jid: "x@".into() });
        assert_eq!(subscription.unwrap_err().code, exit::USAGE);
    }

    #[test]
    fn an_unconfirmed_send_says_whether_the_server_was_reached() {
        let timeout = Duration::from_secs(5);
        let online = ConnectionState::Online { jid: "a@x".into(), sasl_mechanism: "SCRAM-SHA-1".into(), channel_binding: false, resumed: false };
        let failure = not_confirmed(&online, None, timeout);
        assert_eq!(failure.code, exit::ACK_TIMEOUT);
        assert!(failure.message.contains("within 5 seconds") && failure.message.contains("outbox"), "{}", failure.message);

        let reconnecting = ConnectionState::Reconnecting { attempt: 2, retry_in_ms: 4000, reason: None };
        let refused = EngineError::ConnectionRefused { address: "127.0.0.1:5222".into() };
        let failure = not_confirmed(&reconnecting, Some(refused.clone()), timeout);
        assert_eq!(failure.code, exit::QUEUED_OFFLINE);
        let reason = refused.to_string();
        assert!(failure.message.contains(&format!("({})", reason.trim_end_matches('.'))), "{}", failure.message);
        assert!(!failure.message.contains(".)."), "{}", failure.message);
        assert!(failure.message.contains("queued in the local outbox"), "{}", failure.message);
        assert_eq!(not_confirmed(&ConnectionState::Connecting, None, timeout).code, exit::QUEUED_OFFLINE);
    }
}
