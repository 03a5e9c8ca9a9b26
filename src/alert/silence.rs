//! Silences: `postlaunch alerts silence --match service=checkout --for 2h --reason "…"` keeps
//! the matching alerts from people for a while. A silenced alert still changes state — its
//! transitions are stored in the `alerts` table and logged, with the silence's ID in `silenced`
//! — it is only not notified: the delivery thread marks each transition before handing it on,
//! and a [`super::live::Deliver`] that reaches people skips the marked ones.
//!
//! The silences of a lake live in `<lake>/_silences.json` (a file, not a table: the live daemon
//! re-reads it when it changes, so a silence takes effect without a restart). Writes go to a
//! temporary file renamed over it, under an exclusive lock file, so concurrent commands do not
//! lose each other's silences.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::Transition;

/// The file of a lake's silences.
pub fn path(lake: &Path) -> PathBuf {
    lake.join("_silences.json")
}

/// One `key=value` (or `key!=value`) condition on a transition. Keys: `rule`, `severity`,
/// `entity`, the entity's kind (`service=checkout`, `host=web-1`), and the rule's labels. `*` in
/// a value matches any run of characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Matcher {
    pub key: String,
    pub value: String,
    /// `!=`: the transition must not match.
    #[serde(default)]
    pub negate: bool,
}

impl std::str::FromStr for Matcher {
    type Err = String;

    fn from_str(s: &str) -> Result<Matcher, String> {
        let (key, value, negate) = match s.split_once("!=") {
            Some((k, v)) => (k, v, true),
            None => match s.split_once('=') {
                Some((k, v)) => (k, v, false),
                None => {
                    return Err(format!(
                        "`{s}`: expected KEY=VALUE or KEY!=VALUE, e.g. service=checkout"
                    ))
                }
            },
        };
        let key = key.trim();
        if key.is_empty()
            || !key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(format!(
                "`{s}`: the key `{key}` is not a label name (letters, digits, `_`): expected e.g. service, host, rule, severity"
            ));
        }
        Ok(Matcher {
            key: key.to_string(),
            value: value.trim().to_string(),
            negate,
        })
    }
}

impl std::fmt::Display for Matcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let op = if self.negate { "!=" } else { "=" };
        write!(f, "{}{op}{}", self.key, self.value)
    }
}

/// Whether `text` matches `pattern`, where `*` matches any run of characters.
fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() || !text.ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for p in &parts[1..parts.len() - 1] {
        match rest.find(p) {
            Some(i) => rest = &rest[i + p.len()..],
            None => return false,
        }
    }
    true
}

impl Matcher {
    /// The transition's value for this key, if it has one.
    fn lookup<'a>(&self, t: &'a Transition) -> Option<std::borrow::Cow<'a, str>> {
        use std::borrow::Cow;
        match self.key.as_str() {
            "rule" => Some(Cow::Borrowed(&t.rule)),
            "severity" => Some(Cow::Owned(t.severity.to_string())),
            "entity" => Some(Cow::Borrowed(&t.entity)),
            k if k == t.entity_kind => Some(Cow::Borrowed(&t.entity)),
            k => t.labels.get(k).map(|v| Cow::Borrowed(v.as_str())),
        }
    }

    pub fn matches(&self, t: &Transition) -> bool {
        let hit = self.lookup(t).is_some_and(|v| glob(&self.value, &v));
        hit != self.negate
    }
}

/// One silence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Silence {
    /// `s-` and 8 hex digits.
    pub id: String,
    /// Every matcher must hold.
    pub matchers: Vec<Matcher>,
    /// Wall time, µs since the epoch: active in [starts, ends).
    pub starts: i64,
    pub ends: i64,
    pub reason: String,
    pub created_by: String,
    /// Set by `alerts unsilence`: when it was ended early (µs).
    #[serde(default)]
    pub expired: Option<i64>,
}

impl Silence {
    /// Whether it silences transitions at wall time `now` (µs).
    pub fn active(&self, now: i64) -> bool {
        self.starts <= now && now < self.ends && self.expired.is_none_or(|e| now < e)
    }

    pub fn matches(&self, t: &Transition) -> bool {
        !self.matchers.is_empty() && self.matchers.iter().all(|m| m.matches(t))
    }

    /// `active`, `pending` (starts later) or `expired`.
    pub fn status(&self, now: i64) -> &'static str {
        if self.active(now) {
            "active"
        } else if now < self.starts && self.expired.is_none() {
            "pending"
        } else {
            "expired"
        }
    }
}

/// Errors of the silences file.
#[derive(Debug, thiserror::Error)]
pub enum SilenceError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a silences file: {source} (fix or remove it)")]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("no silence `{0}` (see `postlaunch alerts silences --all`)")]
    Unknown(String),
    #[error("another `postlaunch alerts` command holds {0}; if none runs, remove that file")]
    Locked(PathBuf),
}

/// The silences of a lake.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Silences {
    pub silences: Vec<Silence>,
}

impl Silences {
    /// Reads the lake's silences (none when the file does not exist).
    pub fn load(lake: &Path) -> Result<Silences, SilenceError> {
        let p = path(lake);
        match std::fs::read(&p) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|source| SilenceError::Parse { path: p, source }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Silences::default()),
            Err(source) => Err(SilenceError::Io { path: p, source }),
        }
    }

    /// The first active silence matching `t` at wall time `now`.
    pub fn silencing(&self, t: &Transition, now: i64) -> Option<&Silence> {
        self.silences.iter().find(|s| s.active(now) && s.matches(t))
    }

    /// Changes the lake's silences under the lock: `change` gets them as they are on disk.
    pub fn update<T>(
        lake: &Path,
        change: impl FnOnce(&mut Silences) -> Result<T, SilenceError>,
    ) -> Result<T, SilenceError> {
        std::fs::create_dir_all(lake).map_err(|source| SilenceError::Io {
            path: lake.to_path_buf(),
            source,
        })?;
        let lock = lake.join("_silences.lock");
        let mut tries = 0;
        let _guard = loop {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&lock)
            {
                Ok(_) => break LockGuard(lock.clone()),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && tries < 50 => {
                    tries += 1;
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    return Err(SilenceError::Locked(lock))
                }
                Err(source) => return Err(SilenceError::Io { path: lock, source }),
            }
        };
        let mut all = Silences::load(lake)?;
        let out = change(&mut all)?;
        let p = path(lake);
        let tmp = lake.join("_silences.json.tmp");
        let io = |source| SilenceError::Io {
            path: p.clone(),
            source,
        };
        let text = serde_json::to_vec_pretty(&all).map_err(|e| io(std::io::Error::other(e)))?;
        std::fs::write(&tmp, text).map_err(io)?;
        std::fs::rename(&tmp, &p).map_err(io)?;
        Ok(out)
    }

    /// Adds a silence; returns it.
    pub fn add(
        lake: &Path,
        matchers: Vec<Matcher>,
        starts: i64,
        ends: i64,
        reason: String,
        created_by: String,
    ) -> Result<Silence, SilenceError> {
        Silences::update(lake, |all| {
            let seed = format!("{starts}{ends}{reason}{}", all.silences.len());
            let mut h: u32 = 0x811c_9dc5;
            for b in seed.bytes().chain(
                SystemTime::now()
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos())
                    .to_le_bytes(),
            ) {
                h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
            }
            let s = Silence {
                id: format!("s-{h:08x}"),
                matchers,
                starts,
                ends,
                reason,
                created_by,
                expired: None,
            };
            all.silences.push(s.clone());
            Ok(s)
        })
    }

    /// Ends silence `id` at `now` (µs); returns it.
    pub fn expire(lake: &Path, id: &str, now: i64) -> Result<Silence, SilenceError> {
        Silences::update(lake, |all| {
            let s = all
                .silences
                .iter_mut()
                .find(|s| s.id == id)
                .ok_or_else(|| SilenceError::Unknown(id.to_string()))?;
            if s.expired.is_none() && now < s.ends {
                s.expired = Some(now);
            }
            Ok(s.clone())
        })
    }
}

impl Silences {
    /// The silences as a record batch for `postlaunch alerts silences`: those active or still to
    /// start at wall time `now` (µs), the expired ones too with `all`.
    pub fn to_batch(
        &self,
        now: i64,
        all: bool,
    ) -> (
        arrow::datatypes::SchemaRef,
        arrow::record_batch::RecordBatch,
    ) {
        use arrow::array::{ArrayRef, StringArray, TimestampMicrosecondArray};
        use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
        use std::sync::Arc;
        let shown: Vec<&Silence> = self
            .silences
            .iter()
            .filter(|s| all || s.status(now) != "expired")
            .collect();
        let time = |name: &str| {
            Field::new(
                name,
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                true,
            )
        };
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Utf8, false),
            Field::new("status", DataType::Utf8, false),
            Field::new("matchers", DataType::Utf8, false),
            time("starts"),
            time("ends"),
            time("expired"),
            Field::new("reason", DataType::Utf8, false),
            Field::new("created_by", DataType::Utf8, false),
        ]));
        let text = |f: &dyn Fn(&Silence) -> String| -> ArrayRef {
            Arc::new(StringArray::from_iter_values(shown.iter().map(|s| f(s))))
        };
        let times = |f: &dyn Fn(&Silence) -> Option<i64>| -> ArrayRef {
            Arc::new(
                TimestampMicrosecondArray::from_iter(shown.iter().map(|s| f(s)))
                    .with_timezone("UTC"),
            )
        };
        let columns: Vec<ArrayRef> = vec![
            text(&|s| s.id.clone()),
            text(&|s| s.status(now).to_string()),
            text(&|s| {
                s.matchers
                    .iter()
                    .map(|m| m.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            }),
            times(&|s| Some(s.starts)),
            times(&|s| Some(s.ends)),
            times(&|s| s.expired),
            text(&|s| s.reason.clone()),
            text(&|s| s.created_by.clone()),
        ];
        let batch = arrow::record_batch::RecordBatch::try_new(schema.clone(), columns)
            .expect("the columns are built to the schema above");
        (schema, batch)
    }
}

/// Removes the lock file when the update is done (or failed).
struct LockGuard(PathBuf);

impl Drop for LockGuard {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The delivery thread's view of a lake's silences: re-read when the file changes.
#[derive(Debug)]
pub struct Silencer {
    lake: PathBuf,
    seen: Option<SystemTime>,
    current: Silences,
}

impl Silencer {
    pub fn new(lake: PathBuf) -> Silencer {
        Silencer {
            lake,
            seen: None,
            current: Silences::default(),
        }
    }

    /// Marks `t` with the ID of the silence that silences it now, if any.
    pub fn mark(&mut self, t: &mut Transition) {
        let modified = std::fs::metadata(path(&self.lake))
            .and_then(|m| m.modified())
            .ok();
        if modified != self.seen {
            match Silences::load(&self.lake) {
                Ok(s) => self.current = s,
                Err(e) => {
                    tracing::error!(error = %e, "Could not read the silences; keeping the ones read before.")
                }
            }
            self.seen = modified;
        }
        let now = chrono::Utc::now().timestamp_micros();
        t.silenced = self.current.silencing(t, now).map(|s| s.id.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::{Change, Severity};

    fn transition(rule: &str, kind: &str, entity: &str, sev: Severity) -> Transition {
        Transition {
            event_time: 0,
            rule: rule.into(),
            entity_kind: kind.into(),
            entity: entity.into(),
            change: Change::Firing,
            severity: sev,
            previous: None,
            value: None,
            threshold: 0.0,
            window_s: 300.0,
            requests: 0,
            bad: 0,
            statistic: None,
            onset: None,
            labels: [("team".to_string(), "payments".to_string())].into(),
            annotations: Default::default(),
            runbook: None,
            silenced: None,
        }
    }

    #[test]
    fn matchers_parse_and_match_as_documented() {
        let m = |s: &str| s.parse::<Matcher>().unwrap();
        let checkout = transition("error_rate", "service", "checkout", Severity::P2);
        assert!(m("service=checkout").matches(&checkout));
        assert!(!m("service=search").matches(&checkout));
        assert!(
            !m("host=checkout").matches(&checkout),
            "the key is the entity's kind"
        );
        assert!(m("entity=check*").matches(&checkout));
        assert!(m("rule=*rate").matches(&checkout));
        assert!(m("severity!=P1").matches(&checkout));
        assert!(m("team=payments").matches(&checkout));
        assert!(!m("team!=payments").matches(&checkout));
        assert!(!m("missing=x").matches(&checkout));
        assert!(m("missing!=x").matches(&checkout));
        assert!(m("entity=*").matches(&checkout) && m("entity=c*k*t").matches(&checkout));
        assert!(!m("entity=c*x*t").matches(&checkout));
        for bad in ["service", "=checkout", "ser vice=x"] {
            let e = bad.parse::<Matcher>().unwrap_err();
            assert!(e.contains(bad.trim()), "{e}");
        }
    }

    #[test]
    fn silences_are_stored_expire_and_silence_only_while_active() {
        let dir = tempfile::tempdir().unwrap();
        let lake = dir.path();
        let hour = 3_600_000_000;
        let s = Silences::add(
            lake,
            vec!["service=checkout".parse().unwrap()],
            10 * hour,
            12 * hour,
            "payment provider maintenance".into(),
            "sre".into(),
        )
        .unwrap();
        let other = Silences::add(
            lake,
            vec!["host=web-*".parse().unwrap()],
            10 * hour,
            11 * hour,
            "reboots".into(),
            "sre".into(),
        )
        .unwrap();
        assert_ne!(s.id, other.id);
        let all = Silences::load(lake).unwrap();
        assert_eq!(all.silences.len(), 2);
        let t = transition("error_rate", "service", "checkout", Severity::P1);
        assert_eq!(all.silencing(&t, 11 * hour).map(|x| &x.id), Some(&s.id));
        assert!(all.silencing(&t, 9 * hour).is_none(), "not yet");
        assert!(all.silencing(&t, 12 * hour).is_none(), "over");
        let web = transition("host_cpu", "host", "web-1", Severity::P2);
        assert_eq!(
            all.silencing(&web, 10 * hour).map(|x| &x.id),
            Some(&other.id)
        );
        // unsilence: over from now on
        let e = Silences::expire(lake, &s.id, 11 * hour).unwrap();
        assert_eq!(e.expired, Some(11 * hour));
        let all = Silences::load(lake).unwrap();
        assert!(all.silencing(&t, 11 * hour + 1).is_none());
        assert_eq!(all.silences[0].status(11 * hour + 1), "expired");
        assert!(matches!(
            Silences::expire(lake, "s-nothere", 0),
            Err(SilenceError::Unknown(_))
        ));
        assert!(!lake.join("_silences.lock").exists());
    }
}
