//! Finding the server's group chat service (XEP-0045 §6.1): the first item of the domain's
//! disco#items whose disco#info says `conference/text`.

use xmpp_parsers::disco::{DiscoInfoResult, DiscoItemsQuery, DiscoItemsResult};
use xmpp_parsers::jid::Jid;

use super::Session;
use crate::error::{EngineError, Result};

/// Items of the domain asked for their identity, at most (servers list a handful).
const ITEMS_ASKED: usize = 20;

impl Session {
    /// The address of our server's group chat service (e.g. `conference.example.org`), or
    /// `None` when the server announces none.
    pub async fn muc_service(&self) -> Result<Option<String>> {
        let domain = Jid::from(self.account().domain().to_owned());
        let answer = self.iq(Some(domain), false, DiscoItemsQuery { node: None, rsm: None }.into()).await?;
        let items = answer.ok_or_else(|| EngineError::protocol("empty disco#items answer"))?;
        let items = DiscoItemsResult::try_from(items).map_err(EngineError::protocol)?;
        for item in items.items.into_iter().take(ITEMS_ASKED) {
            let Ok(info) = self.disco_info(item.jid.as_str()).await else { continue };
            if is_group_chat_service(&info) {
                return Ok(Some(item.jid.to_string()));
            }
        }
        Ok(None)
    }
}

fn is_group_chat_service(info: &DiscoInfoResult) -> bool {
    info.identities.iter().any(|identity| identity.category == "conference" && identity.type_ == "text")
}
