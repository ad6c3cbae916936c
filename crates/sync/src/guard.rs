//! The mass-deletion guard: deletions wait for the user once too many happen
//! within a short time — counted over a rolling window, not per pass.
//!
//! A deletion the daemon sees in slices (a script removing files one by one,
//! a failing disk, a drive half unmounted) comes in as many small passes,
//! each woken by the watcher. Counted per pass, every slice stayed under the
//! threshold and all of it reached the server and the other devices. Counted
//! over the window, the deletions already carried out plus those planned now
//! are compared with the threshold; once over it, every further deletion is
//! held back until the user approves (`photopro sync --approve-deletions`, or
//! the app), even after the window has passed — a hold never lifts by itself,
//! only when nothing is left to delete (the files came back) or by approval.
//! Approval forgets the window: what the user approved is not counted again.
//!
//! The decision ([`GuardCheck::must_hold`]) is a pure function of counts; the
//! engine supplies them, with the time from its [`crate::engine::Clock`], and
//! keeps the [`DeletionLog`] in its store beside the merge base, so a restart
//! does not reset the window.

/// How far back carried-out deletions count: 10 minutes.
///
/// Long enough that a slow deletion is seen whole: a failing disk or a script
/// deleting a few files a second for minutes, a drive unmounting folder by
/// folder, and at least one of the daemon's periodic passes (every 5 minutes)
/// fall inside it. Short enough that a photographer culling a shoot by hand —
/// a few deletions a minute — is never stopped: that stays far below the
/// threshold (50 files, or a fifth of the library) within any 10 minutes.
pub const DELETION_WINDOW_SECS: i64 = 600;

/// What the guard remembers between passes and restarts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeletionLog {
    /// Deletions carried out without an approval, as (unix second, how many),
    /// oldest first. Entries older than the window are dropped as new ones
    /// come.
    pub recent: Vec<(i64, u64)>,
    /// Since when deletions are held back for the user (unix seconds).
    pub holding_since: Option<i64>,
}

impl DeletionLog {
    /// Deletions carried out at or after `since` (unix seconds).
    pub fn count_since(&self, since: i64) -> usize {
        self.recent
            .iter()
            .filter(|(at, _)| *at >= since)
            .map(|(_, count)| *count as usize)
            .sum()
    }

    /// One deletion carried out at `at`; entries before `forget_before` go.
    pub fn note(&mut self, at: i64, forget_before: i64) {
        self.recent.retain(|(when, _)| *when >= forget_before);
        match self.recent.last_mut() {
            Some((when, count)) if *when == at => *count += 1,
            _ => self.recent.push((at, 1)),
        }
        self.recent.sort_by_key(|(when, _)| *when);
    }

    pub fn holding(&self) -> bool {
        self.holding_since.is_some()
    }
}

/// The counts the guard decides on, for one round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuardCheck {
    /// Deletions the plan would carry out now (both directions).
    pub planned: usize,
    /// Deletions carried out within the window (both directions).
    pub recent: usize,
    /// Files in the merge base now (after the recent deletions).
    pub synced_files: usize,
    /// The guard tripped earlier and the user has not approved yet.
    pub holding: bool,
}

impl GuardCheck {
    /// Deletions within the window, counting those planned now.
    pub fn in_window(&self) -> usize {
        self.recent.saturating_add(self.planned)
    }

    /// Whether the planned deletions must wait for the user: more than
    /// `max_deletions` within the window, or (more than 5 and) more than
    /// `max_ratio` of the files synced when the window began — or the guard
    /// is already holding. Nothing planned, nothing to hold.
    pub fn must_hold(&self, max_deletions: usize, max_ratio: f64) -> bool {
        if self.planned == 0 {
            return false;
        }
        if self.holding {
            return true;
        }
        let total = self.in_window();
        // The recent deletions were files of the tree too: the share is of
        // the tree as it was when the window began.
        let base = self.synced_files.saturating_add(self.recent).max(1);
        total > max_deletions || (total > 5 && total as f64 / base as f64 > max_ratio)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(planned: usize, recent: usize, synced_files: usize) -> GuardCheck {
        GuardCheck {
            planned,
            recent,
            synced_files,
            holding: false,
        }
    }

    #[test]
    fn slices_add_up_within_the_window() {
        // 300 files, 10 deleted at a time: the sixth slice crosses 50.
        assert!(!check(10, 30, 270).must_hold(50, 0.2));
        assert!(!check(10, 40, 260).must_hold(50, 0.2));
        assert!(check(10, 50, 250).must_hold(50, 0.2));
        // The share is of the tree before the window: 100 files, 10 a time.
        assert!(!check(10, 10, 90).must_hold(50, 0.2));
        assert!(check(10, 20, 80).must_hold(50, 0.2));
        // A few deletions in a tiny library are not a mass deletion.
        assert!(!check(2, 3, 5).must_hold(50, 0.2));
    }

    #[test]
    fn a_hold_stays_until_nothing_is_left_to_delete() {
        let holding = GuardCheck {
            holding: true,
            ..check(1, 0, 1000)
        };
        assert!(holding.must_hold(50, 0.2));
        assert!(!GuardCheck {
            planned: 0,
            ..holding
        }
        .must_hold(50, 0.2));
    }

    #[test]
    fn the_log_counts_per_second_and_forgets_what_left_the_window() {
        let mut log = DeletionLog::default();
        log.note(100, 0);
        log.note(100, 0);
        log.note(160, 0);
        assert_eq!(log.recent, vec![(100, 2), (160, 1)]);
        assert_eq!(log.count_since(100), 3);
        assert_eq!(log.count_since(101), 1);
        log.note(800, 200);
        assert_eq!(log.recent, vec![(800, 1)]);
    }

    #[test]
    fn a_disabled_guard_never_holds() {
        assert!(!check(usize::MAX, usize::MAX, 1).must_hold(usize::MAX, f64::INFINITY));
    }
}
