//! The profile, the chosen account and its password.


use rapport_engine::config::parse_account_jid;
use rapport_engine::{credentials, AccountConfig, EngineError, Profile};

use crate::args::Global;
use crate::exit::{CliResult, Failure};
use crate::input;

/// Environment variable that selects the account (same as `--account`).
pub const ACCOUNT_ENV: &str = "RAPPORT_ACCOUNT";
/// Environment variable holding the password (not stored anywhere).
pub const PASSWORD_ENV: &str = "RAPPORT_PASSWORD";

pub struct Context {
    pub profile: Profile,
    pub global: Global,
}

impl Context {
    pub fn new(global: Global) -> CliResult<Context> {
        let profile = match &global.profile {
            Some(dir) => Profile::at(dir),
            None => Profile::from_env_or_default()?,
        };
        Ok(Context { profile, global })
    }

    /// `rapport-cli`, with `--profile DIR` when one was given, for hints that show a command.
    pub fn program(&self) -> String {
        match &self.global.profile {
            Some(dir) => format!("rapport-cli --profile {}", shell_quote(&dir.to_string_lossy())),
            None => "rapport-cli".into(),
        }
    }

    fn requested_account(&self) -> Option<String> {
        self.global
            .account
            .clone()
            .or_else(|| std::env::var(ACCOUNT_ENV).ok())
            .filter(|jid| !jid.trim().is_empty())
    }

    /// The account named by `--account`, or the only one configured.
    pub fn select_account(&self) -> CliResult<AccountConfig> {
        if let Some(jid) = self.requested_account() {
            return self.profile.account(&jid).map_err(|error| match error {
                EngineError::UnknownAccount { .. } => {
                    let mut failure = Failure::from(error);
                    failure.message.push_str(&format!(" Add it with `{} account add {jid}`.", self.program()));
                    failure
                }
                other => other.into(),
            });
        }
        let mut accounts = self.profile.accounts()?;
        match accounts.len() {
            0 => Err(Failure::usage(format!(
                "No account is configured. Add one with `{} account add JID`.",
                self.program()
            ))),
            1 => Ok(accounts.remove(0)),
            _ => {
                let names: Vec<_> = accounts.iter().map(|a| a.jid.as_str()).collect();
                Err(Failure::usage(format!(
                    "Several accounts are configured ({}); choose one with --account JID.",
                    names.join(", ")
                )))
            }
        }
    }

    /// The password for signing in: `--password-stdin`, else `RAPPORT_PASSWORD`, else the keyring.
    pub fn password(&self, jid: &str) -> CliResult<String> {
        if self.global.password_stdin {
            return input::read_password(&format!("Password for {jid}: "));
        }
        if let Ok(password) = std::env::var(PASSWORD_ENV) {
            if !password.is_empty() {
                return Ok(password);
            }
        }
        credentials::load_password(jid).map_err(|error| {
            let mut failure = Failure::from(error.clone());
            if let EngineError::NoPassword { .. } = error {
                failure.message = format!(
                    "{error} Store it with `{} account add {jid}`, or give it with --password-stdin or RAPPORT_PASSWORD.",
                    self.program()
                );
            }
            failure
        })
    }
}

/// Validates an account address (exit code 2 when it is not one).
pub fn account_jid(input: &str) -> CliResult<String> {
    Ok(parse_account_jid(input)?.to_string())
}

/// Quotes a word for a POSIX shell when it needs it.
pub fn shell_quote(word: &str) -> String {
    let safe = !word.is_empty()
        && word.chars().all(|c| c.is_ascii_alphanumeric() || "@%+=:,./_-".contains(c));
    if safe {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(dir: &std::path::Path, account: Option<&str>) -> Context {
        Context::new(Global {
            profile: Some(dir.to_path_buf()),
            account: account.map(String::from),
            password_stdin: false,
            verbose: 0,
        })
        .unwrap()
    }

    #[test]
    fn the_only_account_is_the_default_and_several_need_a_choice() {
        let dir = std::env::temp_dir().join(format!("rapport-cli-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let none = context(&dir, None).select_account().unwrap_err();
        assert_eq!(none.code, crate::exit::USAGE);
        assert!(none.message.contains("account add"), "{}", none.message);

        let ctx = context(&dir, None);
        ctx.profile.save_account(&AccountConfig::new("alice@example.org").unwrap()).unwrap();
        assert_eq!(ctx.select_account().unwrap().jid, "alice@example.org");

        ctx.profile.save_account(&AccountConfig::new("bob@example.org").unwrap()).unwrap();
        let several = ctx.select_account().unwrap_err();
        assert_eq!(several.code, crate::exit::USAGE);
        assert!(several.message.contains("alice@example.org, bob@example.org"), "{}", several.message);

        assert_eq!(context(&dir, Some("Bob@Example.org")).select_account().unwrap().jid, "bob@example.org");
        let unknown = context(&dir, Some("carol@example.org")).select_account().unwrap_err();
        assert_eq!(unknown.code, crate::exit::USAGE);
        let invalid = context(&dir, Some("not a jid@@")).select_account().unwrap_err();
        assert_eq!(invalid.code, crate::exit::USAGE);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn shell_quoting() {
        assert_eq!(shell_quote("/tmp/profile"), "/tmp/profile");
        assert_eq!(shell_quote("/tmp/my profile"), "'/tmp/my profile'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }
}
