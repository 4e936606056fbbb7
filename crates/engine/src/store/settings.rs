//! A small key/value table for engine state such as the last archive (MAM) id.

use rusqlite::OptionalExtension;

use super::{Store, StoreError};

impl Store {
    pub fn get_setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        let conn = self.reader();
        let value = conn
            .prepare_cached("SELECT value FROM settings WHERE key = ?1")?
            .query_row([key], |row| row.get(0))
            .optional()?;
        Ok(value)
    }

    pub fn delete_setting(&self, key: &str) -> Result<(), StoreError> {
        self.writer().prepare_cached("DELETE FROM settings WHERE key = ?1")?.execute([key])?;
        Ok(())
    }

    pub fn set_setting(&self, key: &str, value: &str) -> Result<(), StoreError> {
        let conn = self.writer();
        conn.prepare_cached("INSERT OR REPLACE INTO settings (key, value) VALUES (?1, ?2)")?
            .execute([key, value])?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_round_trip_and_overwrite() {
        let store = Store::open_in_memory().unwrap();
        assert_eq!(store.get_setting("mam.last_id").unwrap(), None);
        store.set_setting("mam.last_id", "abc").unwrap();
        store.set_setting("other", "").unwrap();
        assert_eq!(
            store.get_setting("mam.last_id").unwrap().as_deref(),
            Some("abc")
        );
        store.set_setting("mam.last_id", "def").unwrap();
        assert_eq!(
            store.get_setting("mam.last_id").unwrap().as_deref(),
            Some("def")
        );
        assert_eq!(store.get_setting("other").unwrap().as_deref(), Some(""));
    }

    #[test]
    fn settings_persist_in_files() {
        let tmp = tempfile::tempdir().unwrap();
        let db = tmp.path().join("h.db");
        Store::open(&db)
            .unwrap()
            .set_setting("k", "v\u{0}w")
            .unwrap();
        assert_eq!(
            Store::open(&db)
                .unwrap()
                .get_setting("k")
                .unwrap()
                .as_deref(),
            Some("v\u{0}w")
        );
    }
}
