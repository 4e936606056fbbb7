//! Cached roster (RFC 6121) with its version, so reconnects can ask only for changes.

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::{Store, StoreError};
use crate::types::{RosterItem, Subscription};

impl Store {
    /// Replaces the whole cached roster and its version. Items with subscription `Remove` are
    /// skipped; for repeated JIDs the last item wins.
    pub fn save_roster(
        &self,
        version: Option<&str>,
        items: &[RosterItem],
    ) -> Result<(), StoreError> {
        let mut conn = self.writer();
        let tx = conn.transaction()?;
        tx.execute("DELETE FROM roster_items", [])?;
        for item in items {
            apply_item(&tx, item)?;
        }
        set_version(&tx, version)?;
        tx.commit()?;
        Ok(())
    }

    /// Applies one roster push: inserts or replaces the item, or deletes it when its
    /// subscription is `Remove`; the stored version becomes `version`.
    pub fn apply_roster_item(
        &self,
        version: Option<&str>,
        item: &RosterItem,
    ) -> Result<(), StoreError> {
        let mut conn = self.writer();
        let tx = conn.transaction()?;
        apply_item(&tx, item)?;
        set_version(&tx, version)?;
        tx.commit()?;
        Ok(())
    }

    /// The cached roster version and items (sorted by JID).
    pub fn roster(&self) -> Result<(Option<String>, Vec<RosterItem>), StoreError> {
        let conn = self.reader();
        let version: Option<String> = conn
            .prepare_cached("SELECT version FROM roster_meta WHERE id = 0")?
            .query_row([], |row| row.get(0))
            .optional()?
            .flatten();
        let mut stmt = conn.prepare_cached(
            "SELECT jid, name, groups, subscription, pending_out FROM roster_items ORDER BY jid",
        )?;
        let rows = stmt.query_map([], item_from_row)?;
        let items = rows.collect::<Result<Vec<_>, _>>()?;
        Ok((version, items))
    }
}

fn apply_item(conn: &Connection, item: &RosterItem) -> Result<(), StoreError> {
    if item.subscription == Subscription::Remove {
        conn.prepare_cached("DELETE FROM roster_items WHERE jid = ?1")?
            .execute([&item.jid])?;
        return Ok(());
    }
    let groups = serde_json::to_string(&item.groups)
        .map_err(|err| StoreError::Invalid(format!("roster groups of {}: {err}", item.jid)))?;
    conn.prepare_cached(
        "INSERT OR REPLACE INTO roster_items (jid, name, groups, subscription, pending_out) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        item.jid,
        item.name,
        groups,
        item.subscription.as_str(),
        item.pending_out
    ])?;
    Ok(())
}

fn set_version(conn: &Connection, version: Option<&str>) -> Result<(), StoreError> {
    conn.prepare_cached("INSERT OR REPLACE INTO roster_meta (id, version) VALUES (0, ?1)")?
        .execute([version])?;
    Ok(())
}

fn item_from_row(row: &Row<'_>) -> rusqlite::Result<RosterItem> {
    let groups: String = row.get(2)?;
    let groups = serde_json::from_str(&groups).map_err(|err| {
        rusqlite::Error::FromSqlConversionFailure(2, rusqlite::types::Type::Text, Box::new(err))
    })?;
    let subscription: String = row.get(3)?;
    Ok(RosterItem {
        jid: row.get(0)?,
        name: row.get(1)?,
        groups,
        subscription: Subscription::parse(&subscription),
        pending_out: row.get(4)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(jid: &str, subscription: Subscription) -> RosterItem {
        RosterItem {
            jid: jid.to_owned(),
            name: Some(format!("Name of {jid}")),
            groups: vec![
                "Friends".to_owned(),
                "Ünïcode \"quoted\" [group]".to_owned(),
            ],
            subscription,
            pending_out: false,
        }
    }

    #[test]
    fn empty_roster_has_no_version() {
        let store = Store::open_in_memory().unwrap();
        assert_eq!(store.roster().unwrap(), (None, Vec::new()));
    }

    #[test]
    fn roster_round_trips() {
        let store = Store::open_in_memory().unwrap();
        let mut bob = item("bob@example.org", Subscription::To);
        bob.name = None;
        bob.groups.clear();
        bob.pending_out = true;
        let items = vec![
            item("alice@example.org", Subscription::Both),
            bob,
            item("carol@example.org", Subscription::None),
        ];
        store.save_roster(Some("ver1"), &items).unwrap();
        assert_eq!(store.roster().unwrap(), (Some("ver1".to_owned()), items));
    }

    #[test]
    fn save_roster_replaces_everything() {
        let store = Store::open_in_memory().unwrap();
        store
            .save_roster(
                Some("v1"),
                &[
                    item("a@x", Subscription::Both),
                    item("b@x", Subscription::Both),
                ],
            )
            .unwrap();
        store
            .save_roster(
                None,
                &[
                    item("c@x", Subscription::From),
                    item("gone@x", Subscription::Remove),
                ],
            )
            .unwrap();
        let (version, items) = store.roster().unwrap();
        assert_eq!(version, None);
        assert_eq!(items, vec![item("c@x", Subscription::From)]);
    }

    #[test]
    fn pushes_upsert_and_remove() {
        let store = Store::open_in_memory().unwrap();
        store
            .save_roster(Some("v1"), &[item("a@x", Subscription::To)])
            .unwrap();

        let mut renamed = item("a@x", Subscription::Both);
        renamed.name = Some("Alice".into());
        store.apply_roster_item(Some("v2"), &renamed).unwrap();
        store
            .apply_roster_item(Some("v3"), &item("b@x", Subscription::None))
            .unwrap();
        assert_eq!(
            store.roster().unwrap(),
            (
                Some("v3".into()),
                vec![renamed.clone(), item("b@x", Subscription::None)]
            )
        );

        store
            .apply_roster_item(Some("v4"), &item("b@x", Subscription::Remove))
            .unwrap();
        assert_eq!(store.roster().unwrap(), (Some("v4".into()), vec![renamed]));
        // Removing an unknown contact is harmless.
        store
            .apply_roster_item(Some("v5"), &item("nobody@x", Subscription::Remove))
            .unwrap();
        assert_eq!(store.roster().unwrap().1.len(), 1);
    }

    #[test]
    fn roster_survives_reopen() {
        let tmp = tempfile::tempdir().unwrap();
        let db = tmp.path().join("h.db");
        Store::open(&db)
            .unwrap()
            .save_roster(Some("v9"), &[item("a@x", Subscription::Both)])
            .unwrap();
        let (version, items) = Store::open(&db).unwrap().roster().unwrap();
        assert_eq!(version.as_deref(), Some("v9"));
        assert_eq!(items, vec![item("a@x", Subscription::Both)]);
    }

    #[test]
    fn corrupt_groups_are_an_error_not_a_panic() {
        let store = Store::open_in_memory().unwrap();
        store
            .save_roster(None, &[item("a@x", Subscription::Both)])
            .unwrap();
        store
            .writer()
            .execute("UPDATE roster_items SET groups = 'not json'", [])
            .unwrap();
        assert!(matches!(store.roster(), Err(StoreError::Sqlite(_))));
    }
}
