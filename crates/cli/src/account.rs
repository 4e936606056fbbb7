//! `account add | list | remove | trust`.

use rapport_engine::connection::tls;
use rapport_engine::{credentials, AccountConfig, ConnectionState, EngineError};

use crate::args::{AccountAddArgs, AccountCommand};
use crate::context::{account_jid, shell_quote, Context};
use crate::exit::{self, CliResult, Failure};
use crate::{input, online, output};

pub fn run(context: &Context, command: AccountCommand) -> CliResult {
    match command {
        AccountCommand::Add(args) => add(context, args),
        AccountCommand::List { json } => list(context, json),
        AccountCommand::Remove { jid, keep_history } => remove(context, &jid, keep_history),
        AccountCommand::Trust { jid, fingerprint, clear } => trust(context, &jid, fingerprint.as_deref(), clear),
    }
}

fn existing_account(context: &Context, jid: &str) -> CliResult<Option<AccountConfig>> {
    match context.profile.account(jid) {
        Ok(account) => Ok(Some(account)),
        Err(EngineError::UnknownAccount { .. }) => Ok(None),
        Err(error) => Err(error.into()),
    }
}

fn add(context: &Context, args: AccountAddArgs) -> CliResult {
    let jid = account_jid(&args.jid)?;
    let existing = existing_account(context, &jid)?;
    // Re-adding keeps what was learnt about the server (pinned certificate, channel binding).
    let mut account = existing.clone().map_or_else(|| AccountConfig::new(&jid), Ok)?;
    account.host = args.host.as_deref().map(str::trim).filter(|h| !h.is_empty()).map(String::from);
    account.port = args.port;
    account.direct_tls = args.direct_tls;
    account.ca_file = match &args.ca_file {
        Some(path) => Some(std::path::absolute(path).map_err(|e| Failure::usage(format!("{}: {e}", path.display())))?),
        None => None,
    };
    if let Some(fingerprint) = &args.trust {
        account.pinned_certificate = Some(tls::normalize_fingerprint(fingerprint)?);
    }
    // Checks the CA file before asking for a password.
    tls::client_config(&account)?;

    let needs_password = !(args.no_verify_login && args.no_keyring);
    let password = if needs_password { input::read_password(&format!("Password for {jid}: "))? } else { String::new() };

    let mut how = String::new();
    if !args.no_verify_login {
        let state = online::runtime().block_on(online::verify_login(account.clone(), password.clone()));
        match state {
            Ok(ConnectionState::Online { sasl_mechanism, channel_binding, .. }) => {
                account.channel_binding_seen |= channel_binding;
                let binding = if channel_binding { " with channel binding" } else { "" };
                how = format!(" (signed in with {sasl_mechanism}{binding})");
            }
            Ok(_) => {}
            Err(error @ EngineError::UntrustedCertificate { .. }) => {
                return Err(untrusted_on_add(context, &args, &jid, error));
            }
            Err(error) => {
                let mut failure = Failure::from(error);
                failure.message.push_str(" Nothing was saved.");
                return Err(failure);
            }
        }
    }
    if !args.no_keyring {
        credentials::store_password(&jid, &password).map_err(|error| {
            Failure::new(
                exit::code_for(&error),
                format!(
                    "{error} Nothing was saved. To save the account without storing its password, add --no-keyring, and give the password with --password-stdin or RAPPORT_PASSWORD each time you use it."
                ),
            )
        })?;
    }
    context.profile.save_account(&account)?;
    let verb = if existing.is_some() { "Updated" } else { "Added" };
    let stored = if args.no_keyring { "; password not stored" } else { "" };
    let _ = output::emit(&format!("{verb} {jid}{how}{stored}."));
    Ok(())
}

/// The refusal, the fingerprint, and the `account add … --trust` line that would accept it.
fn untrusted_on_add(context: &Context, args: &AccountAddArgs, jid: &str, error: EngineError) -> Failure {
    let EngineError::UntrustedCertificate { fingerprint, .. } = &error else { unreachable!() };
    let mut command = format!("{} account add {jid}", context.program());
    if let Some(host) = &args.host {
        command.push_str(&format!(" --host {}", shell_quote(host)));
    }
    if let Some(port) = args.port {
        command.push_str(&format!(" --port {port}"));
    }
    if let Some(ca_file) = &args.ca_file {
        command.push_str(&format!(" --ca-file {}", shell_quote(&ca_file.to_string_lossy())));
    }
    if args.direct_tls {
        command.push_str(" --direct-tls");
    }
    if args.no_keyring {
        command.push_str(" --no-keyring");
    }
    command.push_str(&format!(" --trust {fingerprint}"));
    Failure::new(
        exit::UNTRUSTED_CERTIFICATE,
        format!(
            "{error}\nNothing was saved. If you are sure this is your server's certificate (compare the fingerprint with the one your server administrator gives you), trust it by adding the account with:\n  {command}"
        ),
    )
}

fn list(context: &Context, json: bool) -> CliResult {
    let accounts = context.profile.accounts()?;
    if json {
        let _ = output::emit_json(&serde_json::to_value(&accounts).expect("accounts serialize"));
        return Ok(());
    }
    if accounts.is_empty() {
        eprintln!("No accounts. Add one with `{} account add JID`.", context.program());
    }
    for account in &accounts {
        let _ = output::emit(&describe(account));
    }
    Ok(())
}

/// `alice@example.org  server: 127.0.0.1:5222, direct TLS, CA file /x.pem, pinned certificate AB:…`
fn describe(account: &AccountConfig) -> String {
    let server = match (&account.host, account.port) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.clone(),
        (None, Some(port)) => format!("(SRV lookup):{port}"),
        (None, None) => "(SRV lookup)".into(),
    };
    let mut details = vec![format!("server: {server}"), if account.direct_tls { "direct TLS" } else { "STARTTLS" }.into()];
    if let Some(ca_file) = &account.ca_file {
        details.push(format!("CA file {}", ca_file.display()));
    }
    if let Some(pinned) = &account.pinned_certificate {
        details.push(format!("pinned certificate {pinned}"));
    }
    if account.channel_binding_seen {
        details.push("channel binding required".into());
    }
    format!("{}  {}", account.jid, details.join(", "))
}

fn remove(context: &Context, jid: &str, keep_history: bool) -> CliResult {
    let jid = account_jid(jid)?;
    let bare = rapport_engine::config::parse_account_jid(&jid)?;
    let had_password = match credentials::delete_password(&jid) {
        Ok(had) => had,
        Err(error) => {
            eprintln!("rapport-cli: warning: the password could not be removed from the keyring: {error}");
            false
        }
    };
    let had_config = context.profile.remove_account(&jid)?;
    let history_path = context.profile.account_data_dir(&bare);
    let had_history = history_path.exists();
    if !had_config && !had_password && !had_history {
        return Err(EngineError::UnknownAccount { jid }.into());
    }
    let mut removed = Vec::new();
    if had_password {
        removed.push("password");
    }
    if had_config {
        removed.push("settings");
    }
    if had_history && !keep_history {
        context.profile.remove_account_data(&bare)?;
        removed.push("local history");
    }
    let kept = if had_history && keep_history { format!("; history kept in {}", history_path.display()) } else { String::new() };
    let _ = output::emit(&format!("Removed {jid} ({}){kept}.", if removed.is_empty() { "nothing".into() } else { removed.join(", ") }));
    Ok(())
}

fn trust(context: &Context, jid: &str, fingerprint: Option<&str>, clear: bool) -> CliResult {
    let jid = account_jid(jid)?;
    let pinned = match fingerprint {
        Some(fingerprint) if !clear => Some(tls::normalize_fingerprint(fingerprint)?),
        _ => None,
    };
    let Some(mut account) = existing_account(context, &jid)? else {
        let mut message = EngineError::UnknownAccount { jid: jid.clone() }.to_string();
        if let Some(pinned) = &pinned {
            message.push_str(&format!(
                " To add it and trust this certificate: {} account add {jid} --trust {pinned}",
                context.program()
            ));
        }
        return Err(Failure::usage(message));
    };
    account.pinned_certificate = pinned.clone();
    context.profile.save_account(&account)?;
    let _ = output::emit(&match pinned {
        Some(pinned) => format!("{jid} now trusts only the server certificate {pinned}."),
        None => format!("{jid} no longer pins a certificate; the usual CA checks apply."),
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_descriptions() {
        let mut account = AccountConfig::new("alice@example.org").unwrap();
        assert_eq!(describe(&account), "alice@example.org  server: (SRV lookup), STARTTLS");
        account.host = Some("127.0.0.1".into());
        account.port = Some(5223);
        account.direct_tls = true;
        account.pinned_certificate = Some("AB:CD".into());
        assert_eq!(
            describe(&account),
            "alice@example.org  server: 127.0.0.1:5223, direct TLS, pinned certificate AB:CD"
        );
    }
}
