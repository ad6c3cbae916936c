//! The sync engine's mass-deletion guard, per remote: the deletions it
//! carried out recently (one row per second with a count) and since when it
//! holds deletions back for the user. The engine decides; this only keeps it
//! across restarts.

use crate::{Index, RemoteKey, Result};
use rusqlite::params;

/// What the guard remembers for one remote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncDeletions {
    /// (unix second, deletions carried out then), oldest first.
    pub recent: Vec<(i64, u64)>,
    /// Since when deletions are held back (unix seconds).
    pub held_since: Option<i64>,
}

impl Index {
    pub fn sync_deletions(&self, remote: RemoteKey) -> Result<SyncDeletions> {
        let mut statement = self
            .conn
            .prepare("SELECT at, count FROM sync_deletions WHERE remote_id = ?1 ORDER BY at")?;
        let recent = statement
            .query_map([remote], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))?
            .collect::<rusqlite::Result<_>>()?;
        let held_since = self.conn.query_row(
            "SELECT deletions_held_since FROM remotes WHERE id = ?1",
            [remote],
            |r| r.get(0),
        )?;
        Ok(SyncDeletions { recent, held_since })
    }

    /// One deletion carried out at `at`; rows before `forget_before` go.
    pub fn note_sync_deletion(
        &mut self,
        remote: RemoteKey,
        at: i64,
        forget_before: i64,
    ) -> Result<()> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO sync_deletions (remote_id, at, count) VALUES (?1, ?2, 1)
             ON CONFLICT(remote_id, at) DO UPDATE SET count = count + 1",
            params![remote, at],
        )?;
        tx.execute(
            "DELETE FROM sync_deletions WHERE remote_id = ?1 AND at < ?2",
            params![remote, forget_before],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Hold deletions back since `since`, or (`None`) no longer.
    pub fn set_sync_deletions_held(&mut self, remote: RemoteKey, since: Option<i64>) -> Result<()> {
        self.conn.execute(
            "UPDATE remotes SET deletions_held_since = ?2 WHERE id = ?1",
            params![remote, since],
        )?;
        Ok(())
    }

    /// The user approved: forget the recent deletions and the hold.
    pub fn clear_sync_deletions(&mut self, remote: RemoteKey) -> Result<()> {
        let tx = self.conn.transaction()?;
        tx.execute("DELETE FROM sync_deletions WHERE remote_id = ?1", [remote])?;
        tx.execute(
            "UPDATE remotes SET deletions_held_since = NULL WHERE id = ?1",
            [remote],
        )?;
        tx.commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::Index;

    #[test]
    fn the_guard_state_survives_reopening_and_is_per_remote() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("index.db");
        let mut index = Index::open(&path).unwrap();
        let remote = index
            .ensure_remote("photoproos-storage", "photopro")
            .unwrap();
        let other = index.ensure_remote("dropbox", "dropbox").unwrap();
        index.note_sync_deletion(remote, 100, 0).unwrap();
        index.note_sync_deletion(remote, 100, 0).unwrap();
        index.note_sync_deletion(remote, 130, 0).unwrap();
        index.note_sync_deletion(other, 130, 0).unwrap();
        index.set_sync_deletions_held(remote, Some(140)).unwrap();
        drop(index);

        let mut index = Index::open(&path).unwrap();
        let kept = index.sync_deletions(remote).unwrap();
        assert_eq!(kept.recent, vec![(100, 2), (130, 1)]);
        assert_eq!(kept.held_since, Some(140));
        assert_eq!(index.sync_deletions(other).unwrap().held_since, None);

        // Rows older than the window go as new ones come.
        index.note_sync_deletion(remote, 800, 200).unwrap();
        assert_eq!(index.sync_deletions(remote).unwrap().recent, vec![(800, 1)]);
        index.clear_sync_deletions(remote).unwrap();
        assert_eq!(index.sync_deletions(remote).unwrap(), Default::default());
        assert_eq!(index.sync_deletions(other).unwrap().recent, vec![(130, 1)]);
    }
}
