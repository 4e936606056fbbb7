//! Reading passwords and message text from standard input.

use std::io::{BufRead, IsTerminal, Read};

use crate::exit::{CliResult, Failure};

/// Reads one password: without echo from the terminal when stdin is one, else the first line
/// of standard input (the line ending is removed, nothing else).
pub fn read_password(prompt: &str) -> CliResult<String> {
    let stdin = std::io::stdin();
    let password = if stdin.is_terminal() {
        rpassword::prompt_password(prompt).map_err(|e| Failure::failed(format!("Could not read the password: {e}")))?
    } else {
        let mut line = String::new();
        stdin.lock().read_line(&mut line).map_err(|e| Failure::failed(format!("Could not read the password: {e}")))?;
        strip_line_ending(&line).to_owned()
    };
    if password.is_empty() {
        return Err(Failure::usage("No password on standard input (expected it on the first line)."));
    }
    Ok(password)
}

/// Reads the rest of standard input as a message (one final line ending is removed).
pub fn read_text() -> CliResult<String> {
    let mut text = String::new();
    std::io::stdin()
        .lock()
        .read_to_string(&mut text)
        .map_err(|e| Failure::usage(format!("Could not read the message from standard input: {e}")))?;
    Ok(strip_line_ending(&text).to_owned())
}

pub fn strip_line_ending(line: &str) -> &str {
    let line = line.strip_suffix('\n').unwrap_or(line);
    line.strip_suffix('\r').unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_line_ending_is_removed() {
        assert_eq!(strip_line_ending("secret\n"), "secret");
        assert_eq!(strip_line_ending("secret\r\n"), "secret");
        assert_eq!(strip_line_ending(" spaced pass \n"), " spaced pass ");
        assert_eq!(strip_line_ending("two\nlines\n"), "two\nlines");
        assert_eq!(strip_line_ending("no ending"), "no ending");
    }
}
