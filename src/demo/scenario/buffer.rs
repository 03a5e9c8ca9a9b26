//! Per-table buffers: the records of one table not yet handed to the sink.
//!
//! Generators write each record's bytes into a [`Pending`] and commit it with its
//! emission time; once an hour is generated, [`super::generate`] flushes every buffer
//! up to the hour's end, in `(time, creation order)` order, so that records of later
//! hours (session events, late arrivals) wait and memory stays around one hour of
//! data. [`Emitted`] counts what went out, for the summary.

use anyhow::Result;

use super::{LATE_FRACTION, MAX_LATENESS_MS, SECOND};
use crate::demo::rng::Rng;

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum RecKind {
    OnTime,
    Late,
    Malformed,
}

#[derive(Clone, Copy)]
struct Rec {
    /// Emission time: `ts`, or later for a late record.
    key: i64,
    /// Creation order, to break ties deterministically.
    seq: u64,
    start: usize,
    end: usize,
    kind: RecKind,
}

/// Records of one table not yet emitted; their bytes live in one reused arena.
#[derive(Default)]
pub(super) struct Pending {
    pub(super) arena: Vec<u8>,
    spare: Vec<u8>,
    recs: Vec<Rec>,
    seq: u64,
}

/// What one table handed to the sink: lines in all, and how many were late or malformed.
#[derive(Default, Clone, Copy)]
pub(super) struct Emitted {
    pub(super) lines: u64,
    pub(super) late: u64,
    pub(super) malformed: u64,
}

impl Pending {
    /// Starts a record: returns its offset in the arena.
    pub(super) fn begin(&mut self) -> usize {
        self.arena.len()
    }

    /// Ends the record started at `start`, to be emitted in `ts` order.
    pub(super) fn commit(&mut self, start: usize, ts: i64) {
        self.commit_as(start, ts, RecKind::OnTime);
    }

    /// Ends the record started at `start`; with probability [`LATE_FRACTION`] it is
    /// emitted up to [`MAX_LATENESS_MS`] after its `ts`.
    pub(super) fn commit_maybe_late(&mut self, start: usize, ts: i64, rng: &mut Rng) {
        if rng.bernoulli(LATE_FRACTION) {
            let delay = SECOND + rng.below((MAX_LATENESS_MS - SECOND) as u64) as i64;
            self.commit_as(start, ts + delay, RecKind::Late);
        } else {
            self.commit_as(start, ts, RecKind::OnTime);
        }
    }

    pub(super) fn commit_as(&mut self, start: usize, key: i64, kind: RecKind) {
        self.recs.push(Rec {
            key,
            seq: self.seq,
            start,
            end: self.arena.len(),
            kind,
        });
        self.seq += 1;
    }

    /// Emits, in order, the records due before `limit`, keeping the rest.
    pub(super) fn flush(
        &mut self,
        limit: i64,
        table: &str,
        sink: &mut dyn FnMut(&str, &[u8]) -> Result<()>,
        emitted: &mut Emitted,
    ) -> Result<()> {
        self.recs.sort_unstable_by_key(|r| (r.key, r.seq));
        let due = self.recs.partition_point(|r| r.key < limit);
        for r in &self.recs[..due] {
            sink(table, &self.arena[r.start..r.end])?;
            emitted.lines += 1;
            match r.kind {
                RecKind::OnTime => {}
                RecKind::Late => emitted.late += 1,
                RecKind::Malformed => emitted.malformed += 1,
            }
        }
        self.spare.clear();
        for r in &mut self.recs[due..] {
            let start = self.spare.len();
            self.spare.extend_from_slice(&self.arena[r.start..r.end]);
            r.start = start;
            r.end = self.spare.len();
        }
        self.recs.drain(..due);
        std::mem::swap(&mut self.arena, &mut self.spare);
        Ok(())
    }

    pub(super) fn clear(&mut self) {
        self.arena.clear();
        self.recs.clear();
    }
}
