//! The batch stage: raw records ([`RawChunk`]) become typed Arrow [`RecordBatch`]es of one event
//! table, plus [`Rejection`]s for the records that cannot be stored.
//!
//! Per chunk: a key scan ([`scan`]) checks each record's shape, extracts `ts` ([`time`]) and raw
//! JSON fields, and counts unknown fields. Records whose other values are all plain (strings
//! without escapes, numbers, booleans, nulls of the right types) go straight from the scan's
//! spans into Arrow builders ([`fast`]); arrow-json decodes the rest, in one call, against the
//! table's decode schema. Numbers given for integer fields are read from their digits first
//! ([`integer`]): one with a fraction or beyond i64 rejects the record, since arrow-json would
//! truncate or wrap it. The result is validated column by column ([`validate`]).
//! When arrow-json refuses the batch (a wrong type in one record), the batch is bisected until the
//! offending records are isolated, so clean input pays nothing and one bad record never costs its
//! neighbours their place in the lake.

pub mod fast;
pub mod integer;
pub mod rejected;
pub mod scan;
pub mod time;
pub mod validate;

use std::sync::Arc;

use arrow::array::{ArrayRef, StringBuilder, TimestampMicrosecondArray};
use arrow::compute::{concat_batches, filter_record_batch};
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use arrow_json::ReaderBuilder;

pub use rejected::Rejection;

use crate::schema::{FieldKind, TableSchema};
use crate::source::RawChunk;

/// Decoding of one chunk: stored rows, rejections and the chunk's coverage.
#[derive(Debug)]
pub struct DecodedChunk {
    /// Valid rows in the table's stored schema (`None` when every record was rejected).
    pub batch: Option<RecordBatch>,
    pub rejected: Vec<Rejection>,
    /// Unknown top-level field names and how many records carried each.
    pub unknown_fields: Vec<(String, u64)>,
    pub source: Arc<str>,
    pub partition: Option<i32>,
    pub first_index: i64,
    pub last_index: i64,
    /// Records in the chunk (stored + rejected).
    pub records: usize,
    /// Raw bytes of the chunk's records.
    pub bytes: usize,
}

/// Decodes chunks of one table. Cheap to create; one per worker thread.
pub struct Decoder {
    table: Arc<TableSchema>,
    known: Vec<Vec<u8>>,
    want_spans: u64,
    raw_json_fields: Vec<usize>,
    /// Position of each decoded (non-extracted) field in the decode schema, by field index.
    decode_pos: Vec<Option<usize>>,
    /// Indices of the integer fields, whose numbers [`integer`] reads before decoding.
    integer_fields: Vec<usize>,
    /// Indices of the date-time fields other than `ts` (e.g. an incident's `impact_start`),
    /// parsed like `ts` from their spans.
    time_fields: Vec<usize>,
    scanned: scan::Scanned,
    /// Plain records go straight from the scan's spans into columns ([`fast`]); `None` for
    /// tables with map fields, which arrow-json decodes.
    fast: Option<fast::FastColumns>,
}

impl Decoder {
    pub fn new(table: Arc<TableSchema>) -> Decoder {
        let known = table
            .fields
            .iter()
            .map(|f| f.name.as_bytes().to_vec())
            .collect();
        let mut want_spans = 0u64;
        let mut raw_json_fields = Vec::new();
        let mut decode_pos = Vec::new();
        let mut integer_fields = Vec::new();
        let mut time_fields = Vec::new();
        let mut next = 0;
        for (i, f) in table.fields.iter().enumerate() {
            if f.kind == FieldKind::Timestamp && i != table.ts_index {
                time_fields.push(i);
            }
            if f.kind == FieldKind::Integer {
                want_spans |= 1 << i;
                integer_fields.push(i);
            }
            if f.kind.is_extracted() {
                want_spans |= 1 << i;
                if f.kind == FieldKind::RawJson {
                    raw_json_fields.push(i);
                }
                decode_pos.push(None);
            } else {
                decode_pos.push(Some(next));
                next += 1;
            }
        }
        let fast = fast::FastColumns::new(&table);
        if fast.is_some() {
            // The fast path reads every decoded field from its span.
            for (i, p) in decode_pos.iter().enumerate() {
                if p.is_some() {
                    want_spans |= 1 << i;
                }
            }
        }
        Decoder {
            table,
            known,
            want_spans,
            raw_json_fields,
            decode_pos,
            integer_fields,
            time_fields,
            scanned: scan::Scanned::default(),
            fast,
        }
    }

    /// The table this decoder produces.
    pub fn table(&self) -> &Arc<TableSchema> {
        &self.table
    }

    /// Decodes one chunk. `now_micros` is the receive time (stamped on rejections and used for
    /// the "not in the future" check).
    pub fn decode(&mut self, chunk: &RawChunk, now_micros: i64) -> DecodedChunk {
        let mut t = self.triage(chunk, now_micros);
        let fast_rows = std::mem::take(&mut t.fast_rows);
        let mut pieces: Vec<(RecordBatch, Vec<u32>)> = self
            .fast_piece(fast_rows, &mut t.passed)
            .into_iter()
            .collect();
        self.decode_rows(
            chunk,
            &t.passed,
            &t.rewritten,
            &mut pieces,
            &mut t.rejected,
            now_micros,
        );
        // The stored pieces, each with the chunk indices of its rows.
        let mut stored_pieces = Vec::with_capacity(pieces.len());
        for piece in pieces {
            stored_pieces.extend(self.store(chunk, piece, &mut t, now_micros));
        }
        let (batch, unjoined) = combine(&self.table.stored, stored_pieces);
        for (i, reason) in unjoined {
            t.rejected
                .push(rejection(&self.table.name, chunk, i, reason, now_micros));
        }
        t.rejected.sort_by_key(|r| r.position);
        DecodedChunk {
            batch,
            rejected: t.rejected,
            unknown_fields: t
                .unknown
                .into_iter()
                .map(|(k, c)| (String::from_utf8_lossy(&k).into_owned(), c))
                .collect(),
            source: chunk.source.clone(),
            partition: chunk.partition,
            first_index: chunk.first_index,
            last_index: chunk.last_index,
            records: chunk.records.len(),
            bytes: chunk.records.iter().map(|r| r.original_len).sum(),
        }
    }

    /// First step of [`Decoder::decode`]: checks every record of the chunk ([`RecordChecks`]),
    /// rejects those that fail, counts unknown fields, and sends each record that passes to the
    /// fast path or to arrow-json (rewriting its integral numbers as plain digits first).
    fn triage(&mut self, chunk: &RawChunk, now_micros: i64) -> Triage {
        let n = chunk.records.len();
        let Decoder {
            table,
            known,
            want_spans,
            raw_json_fields,
            integer_fields,
            time_fields,
            scanned,
            fast,
            decode_pos: _,
        } = self;
        let mut t = Triage {
            rejected: Vec::new(),
            unknown: Vec::new(),
            ts: vec![0i64; n],
            times: vec![vec![None; n]; time_fields.len()],
            raw_spans: vec![vec![(0, 0); n]; raw_json_fields.len()],
            passed: Vec::with_capacity(n),
            fast_rows: Vec::with_capacity(n),
            rewritten: Vec::new(),
        };
        let mut scratch = RecordScratch::default();
        if let Some(f) = fast {
            f.begin(n);
        }
        let checks = RecordChecks {
            table,
            known: known.iter().map(Vec::as_slice).collect(),
            want_spans: *want_spans,
            integer_fields,
            raw_json_fields,
            time_fields,
            now_micros,
        };
        for i in 0..n {
            let fast_ok = match checks.check(chunk, i, scanned, &mut t, &mut scratch) {
                Ok(fast_ok) => fast_ok,
                Err(reason) => {
                    t.rejected
                        .push(rejection(&table.name, chunk, i as u32, reason, now_micros));
                    continue;
                }
            };
            let bytes = chunk.bytes(i);
            if !scratch.integral.is_empty() {
                // also for records the fast path takes: if its batch failed, arrow-json
                // would decode them after all
                t.rewritten
                    .push((i as u32, with_plain_integers(bytes, &mut scratch.integral)));
            }
            let spans = &scanned.spans;
            if fast_ok && fast.as_mut().is_some_and(|f| f.push(bytes, spans)) {
                t.fast_rows.push(i as u32);
            } else {
                t.passed.push(i as u32);
            }
        }
        t
    }

    /// Second step of [`Decoder::decode`]: the fast path's batch of the records `fast_rows`, with
    /// them. Should the fast columns fail to build, arrow-json decodes those records instead:
    /// they join `passed`.
    fn fast_piece(
        &mut self,
        fast_rows: Vec<u32>,
        passed: &mut Vec<u32>,
    ) -> Option<(RecordBatch, Vec<u32>)> {
        let f = self.fast.as_mut().filter(|f| f.rows() > 0)?;
        match f.finish() {
            Ok(batch) => Some((batch, fast_rows)),
            // Cannot happen (the columns follow the decode schema); if it did, arrow-json
            // decodes those records instead.
            Err(_) => {
                passed.extend(fast_rows);
                passed.sort_unstable();
                None
            }
        }
    }

    /// Fourth step of [`Decoder::decode`] (after arrow-json, [`Decoder::decode_rows`]): one
    /// decoded piece (with the chunk indices of its rows) as stored rows. Builds the
    /// stored-schema batch ([`Decoder::assemble`]), validates it and keeps the valid rows;
    /// rejects the invalid ones, or every row when the batch cannot be built (then `None`).
    fn store(
        &self,
        chunk: &RawChunk,
        (decoded, rows): (RecordBatch, Vec<u32>),
        t: &mut Triage,
        now_micros: i64,
    ) -> Option<(RecordBatch, Vec<u32>)> {
        let table_name = self.table.name.as_str();
        let stored = match self.assemble(chunk, &decoded, &rows, t) {
            Ok(stored) => stored,
            Err(e) => {
                for &i in &rows {
                    let reason = format!("cannot build the row: {e}");
                    t.rejected
                        .push(rejection(table_name, chunk, i, reason, now_micros));
                }
                return None;
            }
        };
        let (keep, reasons) = validate::validate(&self.table, &stored);
        for (row, reason) in reasons {
            t.rejected
                .push(rejection(table_name, chunk, rows[row], reason, now_micros));
        }
        let (kept, kept_rows) = match keep {
            None => (Ok(stored), rows),
            Some(mask) => (
                filter_record_batch(&stored, &mask),
                rows.iter()
                    .zip(mask.values().iter())
                    .filter_map(|(&r, keep)| keep.then_some(r))
                    .collect(),
            ),
        };
        let kept = kept
            .and_then(|b| RecordBatch::try_new(self.table.stored.clone(), b.columns().to_vec()));
        match kept {
            Ok(b) => Some((b, kept_rows)),
            // validation guarantees the strict schema holds; if it does not, that is a bug
            Err(e) => panic!("validated batch does not fit the stored schema: {e}"),
        }
    }

    /// Decodes the records `rows` with arrow-json, those in `rewritten` (by record index) from
    /// their rewritten bytes; on failure, bisects until each failing record is alone and rejects
    /// it with arrow-json's message.
    fn decode_rows(
        &self,
        chunk: &RawChunk,
        rows: &[u32],
        rewritten: &[(u32, Vec<u8>)],
        out: &mut Vec<(RecordBatch, Vec<u32>)>,
        rejected: &mut Vec<Rejection>,
        now_micros: i64,
    ) {
        if rows.is_empty() {
            return;
        }
        match self.try_decode(chunk, rows, rewritten) {
            Ok(batch) => out.push((batch, rows.to_vec())),
            Err(reason) if rows.len() == 1 => {
                let i = rows[0] as usize;
                rejected.push(Rejection::new(
                    &self.table.name,
                    chunk,
                    &chunk.records[i],
                    chunk.bytes(i),
                    reason,
                    now_micros,
                ));
            }
            Err(_) => {
                let (a, b) = rows.split_at(rows.len() / 2);
                self.decode_rows(chunk, a, rewritten, out, rejected, now_micros);
                self.decode_rows(chunk, b, rewritten, out, rejected, now_micros);
            }
        }
    }

    fn try_decode(
        &self,
        chunk: &RawChunk,
        rows: &[u32],
        rewritten: &[(u32, Vec<u8>)],
    ) -> Result<RecordBatch, String> {
        let clean = |e: arrow::error::ArrowError| {
            let msg = e.to_string();
            let msg = msg.strip_prefix("Json error: ").unwrap_or(&msg).to_string();
            format!("wrong type or invalid JSON: {msg}")
        };
        let mut decoder = ReaderBuilder::new(self.table.decode.clone())
            .with_batch_size(rows.len() + 1)
            .with_strict_mode(false)
            .build_decoder()
            .map_err(clean)?;
        let rewritten_bytes = |row: u32| {
            rewritten
                .binary_search_by_key(&row, |(r, _)| *r)
                .ok()
                .map(|k| rewritten[k].1.as_slice())
        };
        // Feed maximal runs of consecutive records as one slice (the whole buffer when nothing
        // was rejected by the scan nor rewritten); a rewritten record on its own.
        let mut k = 0;
        while k < rows.len() {
            let mut buf = match rewritten_bytes(rows[k]) {
                Some(bytes) => {
                    k += 1;
                    bytes
                }
                None => {
                    let mut j = k;
                    while j + 1 < rows.len()
                        && rows[j + 1] == rows[j] + 1
                        && rewritten_bytes(rows[j + 1]).is_none()
                    {
                        j += 1;
                    }
                    let start = chunk.records[rows[k] as usize].start;
                    let end = chunk.records[rows[j] as usize].end + 1; // include the newline
                    k = j + 1;
                    &chunk.data[start..end]
                }
            };
            while !buf.is_empty() {
                let used = decoder.decode(buf).map_err(clean)?;
                if used == 0 {
                    return Err("more than one JSON value on one line".into());
                }
                buf = &buf[used..];
            }
        }
        let batch = decoder
            .flush()
            .map_err(clean)?
            .ok_or_else(|| "the record decoded to no row".to_string())?;
        if batch.num_rows() != rows.len() {
            return Err(format!(
                "{} records decoded to {} rows: a record spans lines or holds several values",
                rows.len(),
                batch.num_rows()
            ));
        }
        Ok(batch)
    }

    /// Builds the stored-schema batch from the decoded columns and the extracted ones.
    fn assemble(
        &self,
        chunk: &RawChunk,
        decoded: &RecordBatch,
        rows: &[u32],
        t: &Triage,
    ) -> Result<RecordBatch, String> {
        let (ts, raw_spans) = (&t.ts, &t.raw_spans);
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(self.table.fields.len());
        for (f, spec) in self.table.fields.iter().enumerate() {
            let col: ArrayRef = match (spec.kind, self.decode_pos[f]) {
                (FieldKind::Timestamp, _) if f == self.table.ts_index => Arc::new(
                    TimestampMicrosecondArray::from_iter_values(
                        rows.iter().map(|&r| ts[r as usize]),
                    )
                    .with_timezone(crate::schema::UTC),
                ),
                (FieldKind::Timestamp, _) => {
                    let k = self
                        .time_fields
                        .iter()
                        .position(|&x| x == f)
                        .ok_or("date-time field without values")?;
                    Arc::new(
                        TimestampMicrosecondArray::from_iter(
                            rows.iter().map(|&r| t.times[k][r as usize]),
                        )
                        .with_timezone(crate::schema::UTC),
                    )
                }
                (FieldKind::RawJson, _) => {
                    let k = self
                        .raw_json_fields
                        .iter()
                        .position(|&x| x == f)
                        .ok_or("raw JSON field without spans")?;
                    let mut b = StringBuilder::with_capacity(rows.len(), 64 * rows.len());
                    for &r in rows {
                        let r = r as usize;
                        let (s, e) = raw_spans[k][r];
                        if s == e {
                            b.append_null();
                        } else {
                            let base = chunk.records[r].start;
                            let text = std::str::from_utf8(&chunk.data[base + s..base + e])
                                .map_err(|e| {
                                    format!("field `{}` is not valid UTF-8: {e}", spec.name)
                                })?;
                            b.append_value(text);
                        }
                    }
                    Arc::new(b.finish())
                }
                (_, Some(p)) => decoded.column(p).clone(),
                (_, None) => return Err(format!("field `{}` has no decoded column", spec.name)),
            };
            columns.push(col);
        }
        RecordBatch::try_new(self.stored_nullable(), columns).map_err(|e| e.to_string())
    }

    /// The stored schema with every field nullable: required fields are checked by
    /// [`validate`] afterwards and the batch is cast back to the strict schema there.
    fn stored_nullable(&self) -> SchemaRef {
        validate::relaxed(&self.table.stored)
    }
}

/// What the per-record pass over one chunk ([`Decoder::triage`]) found, for the decoding steps
/// after it.
struct Triage {
    rejected: Vec<Rejection>,
    /// Unknown top-level field names (as written) and how many records carried each.
    unknown: Vec<(Vec<u8>, u64)>,
    /// Each record's `ts`, by record index.
    ts: Vec<i64>,
    /// Per other date-time field, each record's value (`None`: null or absent), by record index.
    times: Vec<Vec<Option<i64>>>,
    /// Per raw JSON field, each record's value span, by record index (`(0, 0)`: null or absent).
    raw_spans: Vec<Vec<(usize, usize)>>,
    /// Records for arrow-json.
    passed: Vec<u32>,
    /// Records the fast path took.
    fast_rows: Vec<u32>,
    /// Records holding integral numbers such as `2e2` for integer fields, rewritten with plain
    /// digits for arrow-json, by record index (ascending).
    rewritten: Vec<(u32, Vec<u8>)>,
}

/// Buffers of one record's checks, reused from record to record.
#[derive(Default)]
struct RecordScratch {
    /// The spans and values of the integral numbers given for integer fields.
    integral: Vec<(usize, usize, i64)>,
    /// The field and value span of each escaped spelling of an integer field's name.
    escaped: Vec<(usize, scan::Span)>,
}

/// The checks of one record before it is decoded, with the table layout they read (borrowed
/// from the [`Decoder`]) and the receive time.
struct RecordChecks<'a> {
    table: &'a TableSchema,
    known: Vec<&'a [u8]>,
    want_spans: u64,
    integer_fields: &'a [usize],
    raw_json_fields: &'a [usize],
    time_fields: &'a [usize],
    now_micros: i64,
}

impl RecordChecks<'_> {
    /// All checks of record `i`, in order: size, key scan, `ts`, integer fields, raw JSON fields.
    /// Returns whether the record may take the fast path, or why it is rejected. Leaves the
    /// record's spans in `scanned`, its `ts` and raw JSON spans in `t`, and its integral numbers
    /// in `scratch`.
    fn check(
        &self,
        chunk: &RawChunk,
        i: usize,
        scanned: &mut scan::Scanned,
        t: &mut Triage,
        scratch: &mut RecordScratch,
    ) -> Result<bool, String> {
        let rec = &chunk.records[i];
        if rec.is_oversized() {
            return Err(format!(
                "record is {} bytes, over the limit of {} bytes",
                rec.original_len,
                rec.end - rec.start
            ));
        }
        let bytes = chunk.bytes(i);
        let has_unknown = self.scan_keys(bytes, scanned, &mut t.unknown, &mut scratch.escaped)?;
        t.ts[i] = self.ts(bytes, &scanned.spans)?;
        for (k, &f) in self.time_fields.iter().enumerate() {
            t.times[k][i] = self.time(bytes, &scanned.spans, f)?;
        }
        self.integers(bytes, &scanned.spans, scratch)?;
        // The fast path reads only the decoded fields' spans; arrow-json also checks every
        // other value of the record. So a record goes the fast way only when nothing else
        // needs checking: no unknown key (nor an escaped spelling of a known one) and raw
        // JSON fields that are valid JSON.
        self.raw_json(bytes, &scanned.spans, i, &mut t.raw_spans, !has_unknown)
    }

    /// The key scan ([`scan::scan`]): the record's shape and field spans. Counts its unknown
    /// keys in `unknown` and notes in `escaped` the values given under an escaped spelling of an
    /// integer field's name. Returns whether the record has an unknown key.
    fn scan_keys(
        &self,
        bytes: &[u8],
        scanned: &mut scan::Scanned,
        unknown: &mut Vec<(Vec<u8>, u64)>,
        escaped: &mut Vec<(usize, scan::Span)>,
    ) -> Result<bool, String> {
        let mut has_unknown = false;
        escaped.clear();
        let mut saw_unknown = |k: &[u8], value: scan::Span| {
            has_unknown = true;
            match unknown.iter_mut().find(|(name, _)| name == k) {
                Some((_, c)) => *c += 1,
                None => unknown.push((k.to_vec(), 1)),
            }
            // arrow-json unescapes key names: `st\u0061tus` is `status` to it
            if memchr::memchr(b'\\', k).is_some() {
                let name = unescape_key(k);
                if let Some(&f) = self
                    .integer_fields
                    .iter()
                    .find(|&&f| name.as_deref() == Some(self.table.fields[f].name.as_str()))
                {
                    escaped.push((f, value));
                }
            }
        };
        scan::scan(
            bytes,
            &self.known,
            self.want_spans,
            scanned,
            &mut saw_unknown,
        )
        .map_err(|e| e.to_string())?;
        Ok(has_unknown)
    }

    /// The record's `ts`: present, readable and plausible at the receive time.
    fn ts(&self, bytes: &[u8], spans: &[scan::Span]) -> Result<i64, String> {
        let (s, e) = spans[self.table.ts_index];
        if s == e {
            Err("missing required field `ts`".to_string())
        } else {
            match time::parse_ts_value(&bytes[s..e]) {
                Ok(Some(t)) => time::check_plausible(t, self.now_micros).map(|_| t),
                Ok(None) => Err("missing required field `ts`".to_string()),
                Err(why) => Err(why),
            }
        }
    }

    /// The value of date-time field `f` (not `ts`): absent or null is `None` (an error when the
    /// field is required), else an RFC 3339 string or epoch milliseconds as for `ts`.
    fn time(&self, bytes: &[u8], spans: &[scan::Span], f: usize) -> Result<Option<i64>, String> {
        let spec = &self.table.fields[f];
        let (s, e) = spans[f];
        let value = if s == e {
            None
        } else {
            time::parse_ts_value(&bytes[s..e])
                .map_err(|why| why.replace("field `ts`", &format!("field `{}`", spec.name)))?
        };
        if value.is_none() && spec.required {
            return Err(format!("missing required field `{}`", spec.name));
        }
        Ok(value)
    }

    /// Every number given for an integer field, under its name or an escaped spelling of it
    /// (arrow-json keeps the last of duplicates; all are checked), must be an integer
    /// ([`integer::check`]); the integral ones not written as plain digits go to
    /// `scratch.integral`.
    fn integers(
        &self,
        bytes: &[u8],
        spans: &[scan::Span],
        scratch: &mut RecordScratch,
    ) -> Result<(), String> {
        scratch.integral.clear();
        let given = self
            .integer_fields
            .iter()
            .map(|&f| (f, spans[f]))
            .chain(scratch.escaped.iter().copied());
        for (f, (s, e)) in given {
            if s == e {
                continue;
            }
            match integer::check(&self.table.fields[f].name, &bytes[s..e]) {
                Ok(integer::Literal::Integral(x)) => scratch.integral.push((s, e, x)),
                Ok(_) => {}
                Err(why) => return Err(why),
            }
        }
        Ok(())
    }

    /// Raw JSON fields must hold an object (or null); their spans go to `raw_spans` for record
    /// `i`. Returns `fast_ok` (whether the record may take the fast path) still true only if
    /// each of them is valid JSON.
    fn raw_json(
        &self,
        bytes: &[u8],
        spans: &[scan::Span],
        i: usize,
        raw_spans: &mut [Vec<(usize, usize)>],
        mut fast_ok: bool,
    ) -> Result<bool, String> {
        for (k, &f) in self.raw_json_fields.iter().enumerate() {
            let (s, e) = spans[f];
            let v = &bytes[s..e];
            if s != e && v != b"null" {
                if v[0] != b'{' {
                    return Err(format!(
                        "field `{}` must be a JSON object, got `{}`",
                        self.table.fields[f].name,
                        String::from_utf8_lossy(&v[..v.len().min(32)])
                    ));
                }
                raw_spans[k][i] = (s, e);
                fast_ok = fast_ok && fast::is_valid_json(v);
            }
        }
        Ok(fast_ok)
    }
}

/// The rejection of record `i` of `chunk` for `table`, received at `now_micros`.
fn rejection(table: &str, chunk: &RawChunk, i: u32, reason: String, now_micros: i64) -> Rejection {
    let i = i as usize;
    Rejection::new(
        table,
        chunk,
        &chunk.records[i],
        chunk.bytes(i),
        reason,
        now_micros,
    )
}

/// The record `bytes` with each integral number of `integral` (its span and value) written as
/// plain digits, and a newline: arrow-json reads `200.0` or `9007199254740993.0` through an
/// f64, plain digits exactly.
fn with_plain_integers(bytes: &[u8], integral: &mut [(usize, usize, i64)]) -> Vec<u8> {
    integral.sort_unstable_by_key(|&(s, _, _)| s);
    let mut out = Vec::with_capacity(bytes.len() + 1);
    let mut at = 0;
    for &(s, e, x) in integral.iter() {
        out.extend_from_slice(&bytes[at..s]);
        out.extend_from_slice(x.to_string().as_bytes());
        at = e;
    }
    out.extend_from_slice(&bytes[at..]);
    out.push(b'\n');
    out
}

/// A key name with JSON escapes, unescaped (`None` when the escapes are invalid: arrow-json then
/// rejects the record).
fn unescape_key(raw: &[u8]) -> Option<String> {
    let mut quoted = Vec::with_capacity(raw.len() + 2);
    quoted.push(b'"');
    quoted.extend_from_slice(raw);
    quoted.push(b'"');
    serde_json::from_slice(&quoted).ok()
}

/// Joins the stored pieces of a chunk (each with the chunk indices of its rows) into one batch.
///
/// Returns the batch and, should joining fail, the records left out with the reason, to be
/// rejected: rows are never dropped without a trace. Joining does not fail in practice: every
/// piece was checked against `schema` when it was built, so the columns agree in type, and the
/// remaining cause, a string column passing the 2 GiB that Utf8's i32 offsets address, needs a
/// chunk over 2 GiB (its strings are copies of its records' text, which unescaping only
/// shortens). If it ever does fail, the largest piece is kept, which fits on its own.
fn combine(
    schema: &SchemaRef,
    mut pieces: Vec<(RecordBatch, Vec<u32>)>,
) -> (Option<RecordBatch>, Vec<(u32, String)>) {
    pieces.retain(|(b, _)| b.num_rows() > 0);
    if pieces.len() <= 1 {
        return (pieces.pop().map(|(b, _)| b), Vec::new());
    }
    match concat_batches(schema, pieces.iter().map(|(b, _)| b)) {
        Ok(b) => (Some(b), Vec::new()),
        Err(e) => {
            let largest = (0..pieces.len())
                .max_by_key(|&k| pieces[k].0.num_rows())
                .unwrap_or_default();
            let (kept, _) = pieces.swap_remove(largest);
            let reason = format!("decoded, but cannot be stored with the rest of its chunk: {e}");
            let left_out = pieces
                .into_iter()
                .flat_map(|(_, rows)| rows)
                .map(|r| (r, reason.clone()))
                .collect();
            (Some(kept), left_out)
        }
    }
}

#[cfg(test)]
mod tests;
