//! Command-line arguments (clap derive).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use rapport_engine::types::OwnPresence;

/// Rapport's command-line client: send alerts from scripts, run bots, debug accounts.
///
/// Uses the same accounts, keyring entries and history as the Rapport desktop app.
#[derive(Debug, Parser)]
#[command(name = "rapport-cli", version, max_term_width = 100, after_help = EXIT_CODES)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,

    #[command(subcommand)]
    pub command: Command,
}

pub const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  other failure
  2  usage error (bad argument, invalid address, unknown or ambiguous account)
  3  sign-in refused (wrong password, account disabled)
  4  network problem (unknown host, connection refused, timeout, TLS failure)
  5  the server's certificate is not trusted (see `account trust`)
  6  no password available (keyring unreachable or empty)
  7  send: the server did not confirm the message in time (it stays queued)
  8  send: the server could not be reached; the message is queued in the outbox";

#[derive(Debug, Args)]
pub struct Global {
    /// Keep configuration and data in DIR instead of the standard directories
    /// [env: RAPPORT_PROFILE]
    #[arg(long, global = true, value_name = "DIR")]
    pub profile: Option<PathBuf>,

    /// The account to use when several are configured [env: RAPPORT_ACCOUNT]
    #[arg(long, global = true, value_name = "JID")]
    pub account: Option<String>,

    /// Read the password from the first line of standard input (it is not stored)
    #[arg(long, global = true)]
    pub password_stdin: bool,

    /// Log to standard error (-v info, -vv debug, -vvv trace); RUST_LOG overrides
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Add, list, remove or trust accounts
    #[command(subcommand)]
    Account(AccountCommand),

    /// Send a message and wait until the server has it
    Send {
        /// The recipient's address (with --room: a room you joined)
        jid: String,
        /// The message; `-` reads it from standard input
        text: String,
        /// How long to wait for the connection and the server's confirmation
        #[arg(long, value_name = "SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
        timeout: u64,
        /// JID is a group chat room you joined (see `join`)
        #[arg(long)]
        room: bool,
    },

    /// List the rooms of a group chat service
    Rooms {
        /// The service, e.g. conference.example.org (default: your server's)
        service: Option<String>,
        #[arg(long)]
        json: bool,
    },

    /// Join a group chat room (created if it does not exist) and stay in it: it is joined
    /// again whenever this account signs in, until `leave`
    Join {
        /// The room's address, e.g. team@conference.example.org
        room: String,
        /// Your nickname in the room (default: the name part of your address)
        #[arg(long)]
        nick: Option<String>,
        /// Read the room's password from standard input (after the account's, with
        /// --password-stdin); it is not stored
        #[arg(long)]
        room_password_stdin: bool,
        #[arg(long)]
        json: bool,
    },

    /// Leave a group chat room (it is no longer joined at sign-in)
    Leave {
        room: String,
    },

    /// Show your contacts with their presence
    Roster {
        #[arg(long)]
        json: bool,
    },

    /// Set your presence (it lasts only while you are connected; see `listen --presence`)
    Presence {
        show: Show,
        /// Status message
        #[arg(long)]
        status: Option<String>,
    },

    /// Stay online and print incoming messages and other events as they happen
    Listen {
        /// One JSON object per line
        #[arg(long)]
        json: bool,
        /// Presence to show while listening
        #[arg(long, value_name = "SHOW")]
        presence: Option<Show>,
        /// Status message to show while listening
        #[arg(long)]
        status: Option<String>,
        /// Keep retrying when the first connection fails for a reason a retry may fix
        #[arg(long)]
        keep_trying: bool,
    },

    /// Read the local message history (no network, no password needed)
    History(HistoryArgs),

    /// Conversations in the local history, most recent first
    Conversations {
        #[arg(long)]
        json: bool,
    },

    /// Add, remove or rename contacts
    #[command(subcommand)]
    Contacts(ContactsCommand),

    /// Answer or send presence subscription requests
    Subscription {
        action: SubscriptionAction,
        jid: String,
    },

    /// Measure the round trip to your server or another address (XEP-0199)
    Ping {
        /// Default: your server
        jid: Option<String>,
        #[arg(long)]
        json: bool,
    },

    /// Show what an entity supports (XEP-0030 disco#info)
    Disco {
        jid: String,
        #[arg(long)]
        json: bool,
    },

    /// Ask an entity for its software version (XEP-0092)
    Version {
        jid: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Add an account (or update its server settings). The password is read from standard input
    Add(AccountAddArgs),

    /// List configured accounts
    List {
        #[arg(long)]
        json: bool,
    },

    /// Remove an account: its password from the keyring, its settings and its local history
    Remove {
        jid: String,
        /// Keep the local message history
        #[arg(long)]
        keep_history: bool,
    },

    /// Trust one server certificate for an account, by its SHA-256 fingerprint
    Trust {
        jid: String,
        /// As printed when the certificate was refused (colons and case do not matter)
        #[arg(required_unless_present = "clear")]
        fingerprint: Option<String>,
        /// Stop trusting the pinned certificate (back to the usual CA checks)
        #[arg(long, conflicts_with = "fingerprint")]
        clear: bool,
    },
}

#[derive(Debug, Args)]
pub struct AccountAddArgs {
    /// The account's address, e.g. alice@example.org
    pub jid: String,
    /// Connect to this host instead of looking up the domain's SRV records
    #[arg(long)]
    pub host: Option<String>,
    /// Port (default 5222, or 5223 with --direct-tls)
    #[arg(long)]
    pub port: Option<u16>,
    /// Also trust the CA certificate(s) in this PEM file for this account
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// Use TLS from the first byte (XEP-0368) instead of STARTTLS
    #[arg(long)]
    pub direct_tls: bool,
    /// Trust exactly this server certificate (SHA-256 fingerprint), like `account trust`
    #[arg(long, value_name = "FINGERPRINT")]
    pub trust: Option<String>,
    /// Save without signing in to check the password and the server
    #[arg(long)]
    pub no_verify_login: bool,
    /// Do not store the password in the keyring (give it with --password-stdin or
    /// RAPPORT_PASSWORD each time)
    #[arg(long)]
    pub no_keyring: bool,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// The conversation (contact address); `-` searches all conversations (with --search)
    #[arg(required_unless_present = "all")]
    pub jid: Option<String>,
    /// Search all conversations (with --search)
    #[arg(long, conflicts_with = "jid")]
    pub all: bool,
    /// How many messages at most
    #[arg(long, short = 'n', default_value_t = 20)]
    pub limit: u32,
    /// Only messages older than the message with this id (for paging)
    #[arg(long, value_name = "ID", conflicts_with = "search")]
    pub before: Option<i64>,
    /// Full-text search: messages containing every word
    #[arg(long, value_name = "TEXT")]
    pub search: Option<String>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum ContactsCommand {
    /// Add a contact and ask to see their presence
    Add {
        jid: String,
        /// Display name
        #[arg(long)]
        name: Option<String>,
        /// Group (repeat for several)
        #[arg(long = "group", value_name = "GROUP")]
        groups: Vec<String>,
    },
    /// Remove a contact (also cancels presence subscriptions both ways)
    Remove { jid: String },
    /// Change a contact's display name (an empty NAME removes it)
    Rename { jid: String, name: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SubscriptionAction {
    /// Let the contact see your presence
    Approve,
    /// Refuse a request, or stop the contact from seeing your presence
    Deny,
    /// Ask to see the contact's presence
    Request,
    /// Withdraw your request, or stop seeing the contact's presence
    Cancel,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Show {
    Available,
    Chat,
    Away,
    /// Extended away
    Xa,
    /// Do not disturb
    Dnd,
    /// Appear offline
    Invisible,
}

impl Show {
    pub fn own_presence(self) -> OwnPresence {
        match self {
            Show::Available => OwnPresence::Available,
            Show::Chat => OwnPresence::Chat,
            Show::Away => OwnPresence::Away,
            Show::Xa => OwnPresence::ExtendedAway,
            Show::Dnd => OwnPresence::DoNotDisturb,
            Show::Invisible => OwnPresence::Invisible,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("rapport-cli").chain(args.iter().copied()))
    }

    #[test]
    fn the_command_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn global_options_go_before_or_after_the_command() {
        let cli = parse(&["--profile", "/tmp/p", "send", "bob@example.org", "hi", "--account", "a@example.org"]).unwrap();
        assert_eq!(cli.global.profile.as_deref(), Some(std::path::Path::new("/tmp/p")));
        assert_eq!(cli.global.account.as_deref(), Some("a@example.org"));
        match cli.command {
            Command::Send { jid, text, timeout, .. } => {
                assert_eq!((jid.as_str(), text.as_str(), timeout), ("bob@example.org", "hi", 30))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn send_takes_a_timeout_in_seconds() {
        let cli = parse(&["send", "bob@x", "hi", "--timeout", "5"]).unwrap();
        assert!(matches!(cli.command, Command::Send { timeout: 5, .. }));
        for bad in ["0", "-1", "soon", "3601"] {
            assert!(parse(&["send", "bob@x", "hi", "--timeout", bad]).is_err(), "{bad}");
        }
    }

    #[test]
    fn send_reads_dash_as_stdin_marker_and_verbosity_counts() {
        let cli = parse(&["-vv", "--password-stdin", "send", "bob@x", "-"]).unwrap();
        assert_eq!(cli.global.verbose, 2);
        assert!(cli.global.password_stdin);
        assert!(matches!(cli.command, Command::Send { ref text, .. } if text == "-"));
    }

    #[test]
    fn account_add_takes_server_options() {
        let cli = parse(&[
            "account", "add", "a@example.org", "--host", "127.0.0.1", "--port", "5333", "--ca-file", "/ca.pem",
            "--direct-tls", "--no-verify-login",
        ])
        .unwrap();
        let Command::Account(AccountCommand::Add(add)) = cli.command else { panic!() };
        assert_eq!(add.host.as_deref(), Some("127.0.0.1"));
        assert_eq!(add.port, Some(5333));
        assert!(add.direct_tls && add.no_verify_login);
        assert_eq!(add.ca_file.as_deref(), Some(std::path::Path::new("/ca.pem")));
    }

    #[test]
    fn presence_values_are_the_xmpp_show_names() {
        for (name, expected) in [
            ("available", OwnPresence::Available),
            ("chat", OwnPresence::Chat),
            ("away", OwnPresence::Away),
            ("xa", OwnPresence::ExtendedAway),
            ("dnd", OwnPresence::DoNotDisturb),
            ("invisible", OwnPresence::Invisible),
        ] {
            let cli = parse(&["presence", name, "--status", "x"]).unwrap();
            let Command::Presence { show, status } = cli.command else { panic!() };
            assert_eq!(show.own_presence(), expected);
            assert_eq!(status.as_deref(), Some("x"));
        }
        let error = parse(&["presence", "busy"]).unwrap_err();
        assert_eq!(error.exit_code(), 2);
        let cli = parse(&["listen", "--json", "--presence", "dnd", "--status", "on call"]).unwrap();
        assert!(matches!(cli.command, Command::Listen { json: true, presence: Some(Show::Dnd), .. }));
    }

    #[test]
    fn history_needs_a_jid_or_all_and_before_excludes_search() {
        assert_eq!(parse(&["history"]).unwrap_err().exit_code(), 2);
        assert!(parse(&["history", "--all", "--search", "x"]).is_ok());
        assert!(parse(&["history", "-", "--search", "x"]).is_ok());
        assert_eq!(parse(&["history", "b@x", "--before", "3", "--search", "x"]).unwrap_err().exit_code(), 2);
        assert_eq!(parse(&["history", "b@x", "--limit", "many"]).unwrap_err().exit_code(), 2);
        let cli = parse(&["history", "b@x", "-n", "5", "--before", "42", "--json"]).unwrap();
        let Command::History(history) = cli.command else { panic!() };
        assert_eq!((history.limit, history.before, history.json), (5, Some(42), true));
    }

    #[test]
    fn contacts_add_takes_repeated_groups() {
        let cli = parse(&["contacts", "add", "b@x", "--name", "Bob", "--group", "Work", "--group", "Friends"]).unwrap();
        let Command::Contacts(ContactsCommand::Add { groups, name, .. }) = cli.command else { panic!() };
        assert_eq!(groups, ["Work", "Friends"]);
        assert_eq!(name.as_deref(), Some("Bob"));
    }

    #[test]
    fn subscription_actions_parse() {
        for action in ["approve", "deny", "request", "cancel"] {
            assert!(parse(&["subscription", action, "b@x"]).is_ok(), "{action}");
        }
        assert_eq!(parse(&["subscription", "accept", "b@x"]).unwrap_err().exit_code(), 2);
    }

    #[test]
    fn missing_or_unknown_arguments_are_usage_errors() {
        assert_eq!(parse(&[]).unwrap_err().exit_code(), 2);
        assert_eq!(parse(&["send", "b@x"]).unwrap_err().exit_code(), 2);
        assert_eq!(parse(&["frobnicate"]).unwrap_err().exit_code(), 2);
        assert_eq!(parse(&["account", "add", "a@x", "--port", "99999"]).unwrap_err().exit_code(), 2);
    }
}
