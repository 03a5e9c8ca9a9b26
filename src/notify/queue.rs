//! The notification queue on disk: `<lake>/.notify/queue/` holds one JSON file per notification
//! to send (written to a temporary file, synced and renamed into place before the transition is
//! considered handed over), `<lake>/.notify/sent/` the ones done. A crash between the decision
//! and the delivery therefore loses nothing — the next start sends what is queued — and a
//! transition decided again after a restart (the engine re-reads the events the lake had not
//! committed) has the same file name, finds it queued or sent, and is not sent twice.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Alert, Channel, NotifyError};

/// One notification of one alert on one channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    /// The file name: a hash of the channel and the transition.
    pub id: String,
    pub channel: Channel,
    pub alert: Alert,
    /// Wall time (µs) it was queued.
    pub enqueued: i64,
    pub attempts: u32,
    /// Wall time (µs) of the next attempt.
    pub next_attempt: i64,
    pub last_error: Option<String>,
}

/// FNV-1a, 64 bits: a stable file name for a transition.
fn hash(s: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// The queue of a lake.
#[derive(Debug, Clone)]
pub struct Queue {
    dir: PathBuf,
}

impl Queue {
    /// Opens (creating) the queue of `lake`.
    pub fn open(lake: &Path) -> Result<Queue, NotifyError> {
        Queue::open_dir(&lake.join(".notify"))
    }

    /// Opens (creating) a queue in folder `dir`.
    pub fn open_dir(dir: &Path) -> Result<Queue, NotifyError> {
        let dir = dir.to_path_buf();
        for d in [dir.join("queue"), dir.join("sent")] {
            std::fs::create_dir_all(&d).map_err(|source| NotifyError::Queue { path: d, source })?;
        }
        Ok(Queue { dir })
    }

    fn io(&self, path: &Path) -> impl FnOnce(std::io::Error) -> NotifyError + '_ {
        let path = path.to_path_buf();
        move |source| NotifyError::Queue { path, source }
    }

    fn write(&self, path: &Path, item: &Item) -> Result<(), NotifyError> {
        use std::io::Write;
        let tmp = path.with_extension("tmp");
        let text = serde_json::to_vec(item).map_err(|e| NotifyError::Queue {
            path: path.to_path_buf(),
            source: std::io::Error::other(e),
        })?;
        let mut f = std::fs::File::create(&tmp).map_err(self.io(&tmp))?;
        f.write_all(&text).map_err(self.io(&tmp))?;
        f.sync_all().map_err(self.io(&tmp))?;
        std::fs::rename(&tmp, path).map_err(self.io(path))
    }

    /// Queues `alert` for `channel` at wall time `now` (µs); `false` when this transition was
    /// queued or sent on this channel before.
    pub fn enqueue(&self, channel: Channel, alert: Alert, now: i64) -> Result<bool, NotifyError> {
        let id = hash(&format!("{}|{}", channel.name(), alert.transition_key()));
        let name = format!("{id}.json");
        let queued = self.dir.join("queue").join(&name);
        if queued.exists() || self.dir.join("sent").join(&name).exists() {
            return Ok(false);
        }
        let item = Item {
            id,
            channel,
            alert,
            enqueued: now,
            attempts: 0,
            next_attempt: now,
            last_error: None,
        };
        self.write(&queued, &item)?;
        Ok(true)
    }

    /// Every queued item, oldest first (unreadable files are skipped with an error logged).
    pub fn pending(&self) -> Result<Vec<Item>, NotifyError> {
        let dir = self.dir.join("queue");
        let mut out = Vec::new();
        for e in std::fs::read_dir(&dir).map_err(self.io(&dir))?.flatten() {
            let p = e.path();
            if p.extension().is_none_or(|x| x != "json") {
                continue;
            }
            match std::fs::read(&p)
                .map_err(|e| e.to_string())
                .and_then(|b| serde_json::from_slice::<Item>(&b).map_err(|e| e.to_string()))
            {
                Ok(item) => out.push(item),
                Err(e) => {
                    tracing::error!(file = %p.display(), error = %e, "Skipping an unreadable queued notification.")
                }
            }
        }
        out.sort_by(|a, b| (a.enqueued, &a.id).cmp(&(b.enqueued, &b.id)));
        Ok(out)
    }

    /// Saves an item's new attempt count and next attempt.
    pub fn update(&self, item: &Item) -> Result<(), NotifyError> {
        self.write(
            &self.dir.join("queue").join(format!("{}.json", item.id)),
            item,
        )
    }

    /// Moves a sent (or given up) item out of the queue.
    pub fn done(&self, item: &Item) -> Result<(), NotifyError> {
        let name = format!("{}.json", item.id);
        let (from, to) = (
            self.dir.join("queue").join(&name),
            self.dir.join("sent").join(&name),
        );
        std::fs::rename(&from, &to).map_err(self.io(&from))
    }

    /// Forgets sent items older than `age_us` (wall µs before `now`).
    pub fn prune(&self, now: i64, age_us: i64) {
        let dir = self.dir.join("sent");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return;
        };
        let limit = std::time::SystemTime::UNIX_EPOCH
            + std::time::Duration::from_micros(u64::try_from(now - age_us).unwrap_or(0));
        for e in entries.flatten() {
            if e.metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|m| m < limit)
            {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::Severity;
    use crate::notify::route::tests::alert;

    #[test]
    fn a_transition_is_queued_once_per_channel_and_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let q = Queue::open(dir.path()).unwrap();
        let a = alert("error_rate", "checkout", Severity::P1, true);
        assert!(q.enqueue(Channel::Pagerduty, a.clone(), 10).unwrap());
        assert!(
            !q.enqueue(Channel::Pagerduty, a.clone(), 11).unwrap(),
            "queued already"
        );
        assert!(q.enqueue(Channel::Slack, a.clone(), 12).unwrap());
        // a crash: a new process opens the queue and finds both
        let q = Queue::open(dir.path()).unwrap();
        let items = q.pending().unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].channel, Channel::Pagerduty);
        let mut first = items[0].clone();
        first.attempts = 1;
        first.next_attempt = 99;
        q.update(&first).unwrap();
        assert_eq!(q.pending().unwrap()[0].next_attempt, 99);
        q.done(&first).unwrap();
        assert_eq!(q.pending().unwrap().len(), 1);
        // sent: the same transition decided again is not queued again
        assert!(!q.enqueue(Channel::Pagerduty, a.clone(), 13).unwrap());
        // its resolution is another transition
        let mut r = a;
        r.firing = false;
        r.change = "resolved".into();
        assert!(q.enqueue(Channel::Pagerduty, r, 14).unwrap());
    }
}
