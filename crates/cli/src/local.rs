//! Commands that read the local store only: no network, no password.

use rapport_engine::config::{parse_account_jid, parse_contact_jid};
use rapport_engine::store::StoreError;
use rapport_engine::{EngineError, Store};

use crate::args::HistoryArgs;
use crate::context::Context;
use crate::exit::{CliResult, Failure};
use crate::output;

/// The chosen account's history, or `None` when nothing was ever stored for it.
fn open_store(context: &Context) -> CliResult<Option<Store>> {
    let account = context.select_account()?;
    let path = context.profile.history_path(&parse_account_jid(&account.jid)?);
    if !path.exists() {
        return Ok(None);
    }
    Store::open(&path).map(Some).map_err(|e| EngineError::from(e).into())
}

pub fn history(context: &Context, args: HistoryArgs) -> CliResult {
    let all = args.all || args.jid.as_deref() == Some("-");
    let conversation = if all { None } else { Some(parse_contact_jid(args.jid.as_deref().unwrap_or_default())?.to_string()) };
    if conversation.is_none() && args.search.is_none() {
        return Err(Failure::usage("Reading all conversations at once needs --search TEXT; give a JID to read one conversation."));
    }
    let store = open_store(context)?;
    if let Some(query) = &args.search {
        let hits = match &store {
            Some(store) => store.search(query, conversation.as_deref(), args.limit).map_err(EngineError::from)?,
            None => Vec::new(),
        };
        if args.json {
            let _ = output::emit_json(&serde_json::to_value(&hits).expect("hits serialize"));
        } else {
            for hit in &hits {
                let _ = output::emit(&output::search_line(hit));
            }
        }
        return Ok(());
    }
    let conversation = conversation.expect("checked above");
    let messages = match &store {
        Some(store) => store.history(&conversation, args.before, args.limit).map_err(|error| match error {
            StoreError::NotFound(_) => Failure::usage(format!("There is no message with id {}.", args.before.unwrap_or_default())),
            other => EngineError::from(other).into(),
        })?,
        None => Vec::new(),
    };
    if args.json {
        let _ = output::emit_json(&serde_json::to_value(&messages).expect("messages serialize"));
    } else {
        for message in &messages {
            let _ = output::emit(&output::history_line(message));
        }
    }
    Ok(())
}

pub fn conversations(context: &Context, json: bool) -> CliResult {
    let conversations = match open_store(context)? {
        Some(store) => store.conversations().map_err(EngineError::from)?,
        None => Vec::new(),
    };
    if json {
        let _ = output::emit_json(&serde_json::to_value(&conversations).expect("conversations serialize"));
    } else {
        for conversation in &conversations {
            let _ = output::emit(&output::conversation_line(conversation));
        }
    }
    Ok(())
}
