//! The commit log of one table: `<lake>/<table>/_log/<version>.json`, one JSON file per commit,
//! numbered from 1 without gaps. A commit lists the data files it adds and removes and the source
//! positions (file lines or Kafka offsets) whose records those files hold, rejected ones included.
//!
//! Protocol (see `docs/DESIGN.md`): data files are written under temporary names and fsynced; the
//! commit file is published atomically with `link(2)`, which fails if that version exists (another
//! writer won: re-read, check for overlap, retry); only then are the data files renamed to their
//! final names. A crash before the link leaves invisible temporary files (removed later); a crash
//! after it is rolled forward by [`TableLog::recover`]. Readers that list folders therefore only
//! ever see committed, complete files.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::layout::{sync_dir, temp_path};
use super::LakeError;

/// A data file as recorded in the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Path relative to the lake root, e.g. `requests/date=2026-11-27/hour=13/part-….parquet`.
    pub path: String,
    pub rows: u64,
    pub bytes: u64,
    /// Smallest and largest `ts` (µs) in the file.
    pub min_ts: i64,
    pub max_ts: i64,
}

/// Source positions covered by a commit (inclusive range): the commit holds the records of these
/// positions, stored or rejected, and nothing else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceRange {
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<i32>,
    pub first: i64,
    pub last: i64,
    /// Records of the range that the commit's files hold (stored rows plus `_rejected` rows;
    /// positions without a record, such as blank lines or Kafka transaction markers, count
    /// nothing). Written by every ingest commit; `None` only in logs of older versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub records: Option<u64>,
}

/// One commit file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Commit {
    pub version: u64,
    pub committed_at: String,
    /// `ingest` or `compact`.
    pub operation: String,
    /// Host and process that wrote it.
    pub writer: String,
    #[serde(default)]
    pub add: Vec<FileEntry>,
    #[serde(default)]
    pub remove: Vec<String>,
    #[serde(default)]
    pub sources: Vec<SourceRange>,
}

impl Commit {
    /// A commit of `operation` (the version is assigned when it is published).
    pub fn new(
        operation: &str,
        add: Vec<FileEntry>,
        remove: Vec<String>,
        sources: Vec<SourceRange>,
    ) -> Commit {
        Commit {
            version: 0,
            committed_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            operation: operation.to_string(),
            writer: writer_id().to_string(),
            add,
            remove,
            sources,
        }
    }
}

/// `host:pid` of this process, as recorded in its commits: the machine's real host name, so that
/// writers on different machines sharing one lake can be told apart.
pub fn writer_id() -> &'static str {
    static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ID.get_or_init(|| {
        let host = gethostname::gethostname().to_string_lossy().into_owned();
        let host = if host.is_empty() {
            "unknown-host".into()
        } else {
            host
        };
        format!("{host}:{}", std::process::id())
    })
}

/// Disjoint, sorted, inclusive ranges of positions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RangeSet(Vec<(i64, i64)>);

impl RangeSet {
    /// Adds `first..=last`, merging with overlapping or adjacent ranges.
    pub fn insert(&mut self, first: i64, last: i64) {
        if first > last {
            return;
        }
        let (mut lo, mut hi) = (first, last);
        let mut kept = Vec::with_capacity(self.0.len() + 1);
        for &(a, b) in &self.0 {
            if b.saturating_add(1) < lo || a > hi.saturating_add(1) {
                kept.push((a, b));
            } else {
                lo = lo.min(a);
                hi = hi.max(b);
            }
        }
        kept.push((lo, hi));
        kept.sort_unstable();
        self.0 = kept;
    }

    pub fn contains(&self, x: i64) -> bool {
        let i = self.0.partition_point(|&(_, b)| b < x);
        self.0.get(i).is_some_and(|&(a, _)| a <= x)
    }

    /// Whether any position of `first..=last` is in the set.
    pub fn overlaps(&self, first: i64, last: i64) -> bool {
        let i = self.0.partition_point(|&(_, b)| b < first);
        self.0.get(i).is_some_and(|&(a, _)| a <= last)
    }

    /// The parts of `first..=last` that are not in the set.
    pub fn missing(&self, first: i64, last: i64) -> Vec<(i64, i64)> {
        let mut out = Vec::new();
        let mut lo = first;
        for &(a, b) in &self.0 {
            if b < lo {
                continue;
            }
            if a > last {
                break;
            }
            if a > lo {
                out.push((lo, a - 1));
            }
            lo = b.saturating_add(1);
            if lo > last {
                return out;
            }
        }
        if lo <= last {
            out.push((lo, last));
        }
        out
    }

    /// The ranges.
    pub fn ranges(&self) -> &[(i64, i64)] {
        &self.0
    }
}

/// What [`TableLog::recover`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Recovery {
    /// Committed files whose rename was rolled forward.
    pub rolled_forward: usize,
    /// Files removed by a committed compaction that were still on disk, now deleted.
    pub removed_leftovers: usize,
    /// Uncommitted temporary files older than the grace period, deleted.
    pub orphans_deleted: usize,
}

/// Temporary files younger than this may belong to a writer that is still running.
pub const ORPHAN_GRACE: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// The state of one table, replayed from its log.
#[derive(Debug)]
pub struct TableLog {
    lake: PathBuf,
    table: String,
    version: u64,
    files: BTreeMap<String, FileEntry>,
    removed: Vec<String>,
    coverage: HashMap<(String, Option<i32>), RangeSet>,
}

impl TableLog {
    fn log_dir(&self) -> PathBuf {
        self.lake.join(&self.table).join("_log")
    }

    /// Opens (and replays) the log of `table`; an absent log is an empty table.
    pub fn open(lake: &Path, table: &str) -> Result<TableLog, LakeError> {
        let mut log = TableLog {
            lake: lake.to_path_buf(),
            table: table.to_string(),
            version: 0,
            files: BTreeMap::new(),
            removed: Vec::new(),
            coverage: HashMap::new(),
        };
        log.refresh()?;
        Ok(log)
    }

    /// Reads commits newer than the ones already replayed.
    pub fn refresh(&mut self) -> Result<Vec<Commit>, LakeError> {
        let mut new = Vec::new();
        loop {
            let path = self
                .log_dir()
                .join(format!("{:020}.json", self.version + 1));
            let text = match std::fs::read_to_string(&path) {
                Ok(t) => t,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
                Err(source) => return Err(LakeError::Io { path, source }),
            };
            let commit: Commit = serde_json::from_str(&text).map_err(|e| LakeError::Log {
                path: path.clone(),
                message: e.to_string(),
            })?;
            if commit.version != self.version + 1 {
                return Err(LakeError::Log {
                    path,
                    message: format!(
                        "holds version {}, expected {}",
                        commit.version,
                        self.version + 1
                    ),
                });
            }
            self.apply(&commit);
            new.push(commit);
        }
        Ok(new)
    }

    fn apply(&mut self, c: &Commit) {
        self.version = c.version;
        for r in &c.remove {
            self.files.remove(r);
            self.removed.push(r.clone());
        }
        for f in &c.add {
            self.files.insert(f.path.clone(), f.clone());
        }
        for s in &c.sources {
            self.coverage
                .entry((s.source.clone(), s.partition))
                .or_default()
                .insert(s.first, s.last);
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// Latest replayed version (0 for an empty table).
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Live data files (paths relative to the lake root), including `_rejected` files this table
    /// owns.
    pub fn files(&self) -> impl Iterator<Item = &FileEntry> {
        self.files.values()
    }

    /// Positions of `source` (and Kafka partition) already in the lake.
    pub fn coverage(&self, source: &str, partition: Option<i32>) -> Option<&RangeSet> {
        self.coverage.get(&(source.to_string(), partition))
    }

    /// Every covered source, for `postlaunch` status output and tests.
    pub fn sources(&self) -> impl Iterator<Item = (&(String, Option<i32>), &RangeSet)> {
        self.coverage.iter()
    }

    /// Publishes `commit` (assigning its version) and then makes its files visible.
    ///
    /// The commit is checked against every commit in the log, including those another writer
    /// published since this one last looked (the check is repeated after a lost publishing race):
    /// - [`LakeError::Conflict`] (the caller re-reads and retries or gives the positions up) when
    ///   a claimed source range overlaps committed positions, when a Kafka partition's claim does
    ///   not continue the partition's committed positions without a gap (the writer read from a
    ///   position that is no longer the lake's: it lost the partition), or when a file it removes
    ///   is no longer live;
    /// - [`LakeError::Refused`] (a writer bug, never retried) when its rows are not exactly the
    ///   records of the ranges it claims: see [`TableLog::check_rows`].
    ///
    /// On an error the caller discards its temporary files.
    pub fn commit(&mut self, mut commit: Commit) -> Result<u64, LakeError> {
        let dir = self.log_dir();
        std::fs::create_dir_all(&dir).map_err(LakeError::io(&dir))?;
        loop {
            self.check_positions(&commit)?;
            self.check_rows(&commit)?;
            commit.version = self.version + 1;
            let final_path = dir.join(format!("{:020}.json", commit.version));
            let tmp = dir.join(format!(
                ".{:020}.{}.tmp",
                commit.version,
                std::process::id()
            ));
            let text = serde_json::to_vec_pretty(&commit).map_err(|e| LakeError::Log {
                path: tmp.clone(),
                message: e.to_string(),
            })?;
            {
                use std::io::Write;
                let mut f = std::fs::File::create(&tmp).map_err(LakeError::io(&tmp))?;
                f.write_all(&text).map_err(LakeError::io(&tmp))?;
                f.sync_all().map_err(LakeError::io(&tmp))?;
            }
            let linked = std::fs::hard_link(&tmp, &final_path);
            let _ = std::fs::remove_file(&tmp);
            match linked {
                Ok(()) => break,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    tracing::debug!(table = %self.table, version = commit.version, "Lost a commit race; re-reading the log.");
                    self.refresh()?;
                }
                Err(source) => {
                    return Err(LakeError::Io {
                        path: final_path,
                        source,
                    })
                }
            }
        }
        sync_dir(&dir)?;
        self.apply(&commit);
        self.finalize(&commit)?;
        Ok(commit.version)
    }

    /// Claimed positions against the log: no overlap with committed ones (nor within the
    /// commit), and a Kafka partition's claims continue its committed positions without a gap.
    fn check_positions(&self, commit: &Commit) -> Result<(), LakeError> {
        let conflict = |message: String| LakeError::Conflict {
            table: self.table.clone(),
            message,
        };
        // Positions claimed earlier in this commit, and the next position each Kafka partition
        // must continue from.
        let mut claimed: HashMap<(&str, Option<i32>), RangeSet> = HashMap::new();
        let mut next: HashMap<(&str, Option<i32>), i64> = HashMap::new();
        for s in &commit.sources {
            let key = (s.source.as_str(), s.partition);
            let committed = self.coverage(&s.source, s.partition);
            if committed.is_some_and(|r| r.overlaps(s.first, s.last)) {
                return Err(conflict(format!(
                    "positions {}..={} of `{}`{} are already committed (by another writer?)",
                    s.first,
                    s.last,
                    s.source,
                    partition_label(s.partition)
                )));
            }
            let mine = claimed.entry(key).or_default();
            if mine.overlaps(s.first, s.last) {
                return Err(LakeError::Refused {
                    table: self.table.clone(),
                    message: format!(
                        "it claims positions {}..={} of `{}`{} twice",
                        s.first,
                        s.last,
                        s.source,
                        partition_label(s.partition)
                    ),
                });
            }
            mine.insert(s.first, s.last);
            if s.partition.is_some() {
                let expected = next.get(&key).copied().or_else(|| {
                    committed.and_then(|c| c.ranges().last().map(|&(_, last)| last + 1))
                });
                if let Some(expected) = expected.filter(|&e| e != s.first) {
                    return Err(conflict(format!(
                        "offsets {}..={} of `{}`{} do not continue the committed ones (next is {expected}): this writer read from a position that is no longer the lake's",
                        s.first,
                        s.last,
                        s.source,
                        partition_label(s.partition)
                    )));
                }
                next.insert(key, s.last + 1);
            }
        }
        if let Some(gone) = commit.remove.iter().find(|r| !self.files.contains_key(*r)) {
            return Err(conflict(format!("file `{gone}` is no longer live")));
        }
        Ok(())
    }

    /// A commit's rows are exactly the records of the source ranges it claims:
    /// - `ingest`: each claimed range says how many records it holds (at most one per position),
    ///   and the rows of the files it adds (data and `_rejected`) add up to exactly that; a commit
    ///   that adds rows without claiming positions is refused;
    /// - `compact`: claims nothing and adds exactly the rows it removes;
    /// - `derive` (derived tables, recomputed from other tables): claims nothing.
    pub fn check_rows(&self, commit: &Commit) -> Result<(), LakeError> {
        let refused = |message: String| {
            Err(LakeError::Refused {
                table: self.table.clone(),
                message,
            })
        };
        let added: u64 = commit.add.iter().map(|f| f.rows).sum();
        match commit.operation.as_str() {
            "ingest" => {
                if added > 0 && commit.sources.is_empty() {
                    return refused(format!(
                        "it adds {added} rows and claims no source positions"
                    ));
                }
                if !commit.remove.is_empty() {
                    return refused("an ingest commit removes files".into());
                }
                let mut claimed = 0u64;
                for s in &commit.sources {
                    let span = (s.last - s.first + 1).max(0) as u64;
                    match s.records {
                        Some(n) if n <= span => claimed += n,
                        Some(n) => {
                            return refused(format!(
                                "it says positions {}..={} of `{}` hold {n} records, more than the {span} positions",
                                s.first, s.last, s.source
                            ))
                        }
                        None => {
                            return refused(format!(
                                "positions {}..={} of `{}` are claimed without a record count",
                                s.first, s.last, s.source
                            ))
                        }
                    }
                }
                if claimed != added {
                    return refused(format!(
                        "it adds {added} rows but the source ranges it claims hold {claimed} records"
                    ));
                }
            }
            operation => {
                if !commit.sources.is_empty() {
                    return refused(format!("a `{operation}` commit claims source positions"));
                }
                if operation == "compact" {
                    let removed: u64 = commit
                        .remove
                        .iter()
                        .filter_map(|r| self.files.get(r))
                        .map(|f| f.rows)
                        .sum();
                    if removed != added {
                        return refused(format!(
                            "the compaction adds {added} rows and removes {removed}"
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// Renames the committed files to their final names and deletes removed ones (idempotent).
    fn finalize(&self, commit: &Commit) -> Result<(), LakeError> {
        let mut dirs = Vec::new();
        for f in &commit.add {
            let final_path = self.lake.join(&f.path);
            let tmp = temp_path(&final_path, &self.table);
            match std::fs::rename(&tmp, &final_path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && final_path.exists() => {}
                Err(source) => return Err(LakeError::Io { path: tmp, source }),
            }
            if let Some(d) = final_path.parent() {
                if !dirs.contains(&d.to_path_buf()) {
                    dirs.push(d.to_path_buf());
                }
            }
        }
        for d in &dirs {
            sync_dir(d)?;
        }
        for r in &commit.remove {
            let p = self.lake.join(r);
            match std::fs::remove_file(&p) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => return Err(LakeError::Io { path: p, source }),
            }
        }
        Ok(())
    }

    /// Brings the folders in line with the log after a crash: committed temporary files are
    /// renamed, files removed by a committed compaction are deleted, and temporary files of this
    /// table that no commit mentions and that are older than [`ORPHAN_GRACE`] are deleted.
    pub fn recover(&self) -> Result<Recovery, LakeError> {
        let mut report = Recovery::default();
        for f in self.files.values() {
            let final_path = self.lake.join(&f.path);
            if final_path.exists() {
                continue;
            }
            let tmp = temp_path(&final_path, &self.table);
            if tmp.exists() {
                std::fs::rename(&tmp, &final_path).map_err(LakeError::io(&tmp))?;
                report.rolled_forward += 1;
            } else {
                return Err(LakeError::Inconsistent(format!(
                    "committed file `{}` of table `{}` is missing",
                    f.path, self.table
                )));
            }
        }
        for r in &self.removed {
            if self.files.contains_key(r) {
                continue;
            }
            if std::fs::remove_file(self.lake.join(r)).is_ok() {
                report.removed_leftovers += 1;
            }
        }
        let suffix = format!(".{}.tmp", self.table);
        let now = std::time::SystemTime::now();
        for top in [self.table.as_str(), crate::batch::rejected::REJECTED_TABLE] {
            for path in walk_files(&self.lake.join(top)) {
                let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                    continue;
                };
                if !(name.starts_with('.') && name.ends_with(&suffix)) {
                    continue;
                }
                let old = std::fs::metadata(&path)
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|m| now.duration_since(m).ok())
                    .is_some_and(|age| age > ORPHAN_GRACE);
                if old && std::fs::remove_file(&path).is_ok() {
                    report.orphans_deleted += 1;
                }
            }
        }
        Ok(report)
    }
}

/// `" partition N"` for a Kafka partition, nothing for a file.
fn partition_label(partition: Option<i32>) -> String {
    partition.map_or_else(String::new, |p| format!(" partition {p}"))
}

/// Every file under `dir` (recursively), skipping `_log`.
pub fn walk_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            match e.file_type() {
                Ok(t) if t.is_dir() => {
                    if p.file_name().is_some_and(|n| n != "_log") {
                        stack.push(p);
                    }
                }
                Ok(_) => out.push(p),
                Err(_) => {}
            }
        }
    }
    out
}

/// The commits of `table` with a version above `after`, oldest first, read straight from the
/// log folder (used to find which hours changed since a derived result was computed).
pub fn commits_after(lake: &Path, table: &str, after: u64) -> Result<Vec<Commit>, LakeError> {
    let dir = lake.join(table).join("_log");
    let mut versions: Vec<(u64, PathBuf)> = Vec::new();
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(LakeError::Io { path: dir, source }),
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(v) = name
            .to_str()
            .and_then(|n| n.strip_suffix(".json"))
            .and_then(|n| n.parse::<u64>().ok())
        else {
            continue;
        };
        if v > after {
            versions.push((v, e.path()));
        }
    }
    versions.sort();
    versions
        .into_iter()
        .map(|(_, path)| {
            let bytes = std::fs::read(&path).map_err(LakeError::io(&path))?;
            serde_json::from_slice(&bytes).map_err(|e| LakeError::Log {
                path: path.clone(),
                message: e.to_string(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_set_merges_and_answers_membership() {
        let mut r = RangeSet::default();
        r.insert(10, 20);
        r.insert(1, 5);
        r.insert(6, 9); // adjacent on both sides: one range
        assert_eq!(r.ranges(), &[(1, 20)]);
        r.insert(30, 40);
        assert!(r.contains(1) && r.contains(20) && r.contains(35));
        assert!(!r.contains(0) && !r.contains(21) && !r.contains(41));
        assert!(r.overlaps(15, 25) && r.overlaps(25, 30) && !r.overlaps(21, 29));
        assert_eq!(r.missing(0, 50), vec![(0, 0), (21, 29), (41, 50)]);
        assert_eq!(r.missing(2, 20), vec![]);
        assert_eq!(r.missing(15, 35), vec![(21, 29)]);
    }

    fn entry(path: &str) -> FileEntry {
        FileEntry {
            path: path.into(),
            rows: 1,
            bytes: 1,
            min_ts: 0,
            max_ts: 0,
        }
    }

    #[test]
    fn commits_replay_and_overlapping_sources_conflict() {
        let dir = tempfile::tempdir().unwrap();
        let lake = dir.path();
        std::fs::create_dir_all(lake.join("t/date=2026-01-01/hour=00")).unwrap();
        let p = "t/date=2026-01-01/hour=00/a.parquet";
        std::fs::write(temp_path(&lake.join(p), "t"), b"x").unwrap();
        let mut log = TableLog::open(lake, "t").unwrap();
        let src = |a, b, records| SourceRange {
            source: "s".into(),
            partition: None,
            first: a,
            last: b,
            records: Some(records),
        };
        assert_eq!(
            log.commit(Commit::new(
                "ingest",
                vec![entry(p)],
                vec![],
                vec![src(1, 10, 1)]
            ))
            .unwrap(),
            1
        );
        assert!(lake.join(p).exists(), "commit renames the file into place");

        // a second writer that still believes the log is empty loses the race and sees the overlap
        let mut stale = TableLog::open(lake, "t").unwrap();
        stale.version = 0;
        stale.coverage.clear();
        let err = stale
            .commit(Commit::new("ingest", vec![], vec![], vec![src(5, 12, 0)]))
            .unwrap_err();
        assert!(matches!(err, LakeError::Conflict { .. }), "{err}");

        let again = TableLog::open(lake, "t").unwrap();
        assert_eq!(again.version(), 1);
        assert!(again.coverage("s", None).unwrap().contains(10));
        assert_eq!(again.files().count(), 1);
    }

    fn claim(partition: Option<i32>, first: i64, last: i64, records: u64) -> SourceRange {
        SourceRange {
            source: "kafka:t".into(),
            partition,
            first,
            last,
            records: Some(records),
        }
    }

    fn rows(path: &str, rows: u64) -> FileEntry {
        FileEntry {
            rows,
            ..entry(path)
        }
    }

    /// Regression (issue 12): a writer that had lost a partition committed its buffered rows
    /// with the overlapping positions left out of its claim: 165 rows claiming nothing.
    #[test]
    fn a_commit_holds_exactly_the_records_it_claims() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = TableLog::open(dir.path(), "t").unwrap();
        let refused = |log: &mut TableLog, c: Commit, needle: &str| {
            let err = log.commit(c).unwrap_err();
            assert!(matches!(err, LakeError::Refused { .. }), "{err}");
            assert!(err.to_string().contains(needle), "`{needle}` not in: {err}");
        };
        let ingest = |add, sources| Commit::new("ingest", add, vec![], sources);
        refused(
            &mut log,
            ingest(vec![rows("t/a", 165)], vec![]),
            "adds 165 rows and claims no source positions",
        );
        refused(
            &mut log,
            ingest(
                vec![rows("t/a", 165)],
                vec![claim(Some(2), 1882, 2045, 164)],
            ),
            "adds 165 rows but the source ranges it claims hold 164",
        );
        refused(
            &mut log,
            ingest(vec![rows("t/a", 11)], vec![claim(Some(2), 0, 9, 11)]),
            "hold 11 records, more than the 10 positions",
        );
        let mut unknown = claim(Some(2), 0, 9, 10);
        unknown.records = None;
        refused(
            &mut log,
            ingest(vec![rows("t/a", 10)], vec![unknown]),
            "without a record count",
        );
        refused(
            &mut log,
            ingest(
                vec![rows("t/a", 10)],
                vec![claim(None, 0, 9, 5), claim(None, 5, 9, 5)],
            ),
            "claims positions 5..=9",
        );
        assert_eq!(log.version(), 0, "nothing refused was published");
        // rows and rejections together (files of both tables) equal the claimed records; a
        // Kafka range may hold fewer records than positions (transaction markers)
        let ok = ingest(
            vec![rows("t/a", 7), rows("_rejected/b", 1)],
            vec![claim(Some(2), 0, 9, 8)],
        );
        assert_eq!(log.check_rows(&ok).map_err(|e| e.to_string()), Ok(()));
        // a compaction adds exactly what it removes; a derived table claims nothing
        log.files.insert("t/x".into(), rows("t/x", 4));
        let compact = |n| Commit::new("compact", vec![rows("t/y", n)], vec!["t/x".into()], vec![]);
        assert!(log.check_rows(&compact(4)).is_ok());
        assert!(log.check_rows(&compact(3)).is_err());
        let derive = Commit::new(
            "derive",
            vec![rows("t/z", 9)],
            vec![],
            vec![claim(None, 0, 0, 0)],
        );
        assert!(log.check_rows(&derive).is_err());
    }

    /// A Kafka partition's commits continue each other: a writer whose data starts anywhere but
    /// at the lake's next offset read from a stale position (it lost the partition), and its
    /// commit is refused, also when it overlaps nothing.
    #[test]
    fn kafka_claims_must_continue_the_committed_offsets() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = TableLog::open(dir.path(), "t").unwrap();
        let commit = |sources| Commit::new("ingest", vec![], vec![], sources);
        // the first claim of a partition may start anywhere (kafka.start_from)
        log.commit(commit(vec![claim(Some(0), 100, 199, 0)]))
            .unwrap();
        for (first, last) in [(150, 250), (201, 300), (50, 99)] {
            let err = log
                .commit(commit(vec![claim(Some(0), first, last, 0)]))
                .unwrap_err();
            assert!(matches!(err, LakeError::Conflict { .. }), "{err}");
        }
        // two claims of one commit chain; another partition is independent
        log.commit(commit(vec![
            claim(Some(0), 200, 249, 0),
            claim(Some(0), 250, 299, 0),
            claim(Some(1), 7, 9, 0),
        ]))
        .unwrap();
        let err = log
            .commit(commit(vec![
                claim(Some(0), 300, 309, 0),
                claim(Some(0), 311, 320, 0),
            ]))
            .unwrap_err();
        assert!(err.to_string().contains("next is 310"), "{err}");
        // a file's lines may have holes (lines already stored were skipped)
        log.commit(commit(vec![claim(None, 10, 19, 0)])).unwrap();
        log.commit(commit(vec![claim(None, 1, 5, 0)])).unwrap();
        assert_eq!(
            TableLog::open(dir.path(), "t")
                .unwrap()
                .coverage("kafka:t", Some(0))
                .unwrap()
                .ranges(),
            &[(100, 299)]
        );
    }

    #[test]
    fn recovery_rolls_committed_temp_files_forward() {
        let dir = tempfile::tempdir().unwrap();
        let lake = dir.path();
        let p = "t/date=2026-01-01/hour=00/a.parquet";
        std::fs::create_dir_all(lake.join("t/date=2026-01-01/hour=00")).unwrap();
        let mut log = TableLog::open(lake, "t").unwrap();
        std::fs::write(temp_path(&lake.join(p), "t"), b"x").unwrap();
        log.commit(Commit::new("derive", vec![entry(p)], vec![], vec![]))
            .unwrap();
        // simulate a crash between the commit and the rename
        std::fs::rename(lake.join(p), temp_path(&lake.join(p), "t")).unwrap();
        let report = TableLog::open(lake, "t").unwrap().recover().unwrap();
        assert_eq!(report.rolled_forward, 1);
        assert!(lake.join(p).exists());
    }
}
