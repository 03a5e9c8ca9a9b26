//! The batch stage: raw records ([`RawChunk`]) become typed Arrow [`RecordBatch`]es of one event
//! table, plus [`Rejection`]s for the records that cannot be stored.
//!
//! Per chunk: a key scan ([`scan`]) checks each record's shape, extracts `ts` ([`time`]) and raw
//! JSON fields, and counts unknown fields. Records whose other values are all plain (strings
//! without escapes, numbers, booleans, nulls of the right types) go straight from the scan's
//! spans into Arrow builders ([`fast`]); arrow-json decodes the rest, in one call, against the
//! table's decode schema. The result is validated column by column ([`validate`]).
//! When arrow-json refuses the batch (a wrong type in one record), the batch is bisected until the
//! offending records are isolated, so clean input pays nothing and one bad record never costs its
//! neighbours their place in the lake.

pub mod fast;
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
        let mut next = 0;
        for (i, f) in table.fields.iter().enumerate() {
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
        let n = chunk.records.len();
        let mut rejected = Vec::new();
        let mut unknown: Vec<(Vec<u8>, u64)> = Vec::new();
        let mut ts = vec![0i64; n];
        let mut raw_spans: Vec<Vec<(usize, usize)>> =
            vec![vec![(0, 0); n]; self.raw_json_fields.len()];
        // Records for arrow-json, and those the fast path took.
        let mut passed: Vec<u32> = Vec::with_capacity(n);
        let mut fast_rows: Vec<u32> = Vec::with_capacity(n);
        if let Some(f) = &mut self.fast {
            f.begin(n);
        }
        let known: Vec<&[u8]> = self.known.iter().map(Vec::as_slice).collect();
        let table_name = self.table.name.as_str();
        let ts_index = self.table.ts_index;

        for (i, rec) in chunk.records.iter().enumerate() {
            let bytes = chunk.bytes(i);
            let reject =
                |reason: String| Rejection::new(table_name, chunk, rec, bytes, reason, now_micros);
            if rec.is_oversized() {
                rejected.push(reject(format!(
                    "record is {} bytes, over the limit of {} bytes",
                    rec.original_len,
                    rec.end - rec.start
                )));
                continue;
            }
            let mut has_unknown = false;
            let mut saw_unknown = |k: &[u8]| {
                has_unknown = true;
                match unknown.iter_mut().find(|(name, _)| name == k) {
                    Some((_, c)) => *c += 1,
                    None => unknown.push((k.to_vec(), 1)),
                }
            };
            if let Err(e) = scan::scan(
                bytes,
                &known,
                self.want_spans,
                &mut self.scanned,
                &mut saw_unknown,
            ) {
                rejected.push(reject(e.to_string()));
                continue;
            }
            let (s, e) = self.scanned.spans[ts_index];
            let parsed = if s == e {
                Err("missing required field `ts`".to_string())
            } else {
                match time::parse_ts_value(&bytes[s..e]) {
                    Ok(Some(t)) => time::check_plausible(t, now_micros).map(|_| t),
                    Ok(None) => Err("missing required field `ts`".to_string()),
                    Err(why) => Err(why),
                }
            };
            match parsed {
                Ok(t) => ts[i] = t,
                Err(why) => {
                    rejected.push(reject(why));
                    continue;
                }
            }
            let mut raw_ok = true;
            // The fast path reads only the decoded fields' spans; arrow-json also checks every
            // other value of the record. So a record goes the fast way only when nothing else
            // needs checking: no unknown key (nor an escaped spelling of a known one) and raw
            // JSON fields that are valid JSON.
            let mut fast_ok = !has_unknown;
            for (k, &f) in self.raw_json_fields.iter().enumerate() {
                let (s, e) = self.scanned.spans[f];
                let v = &bytes[s..e];
                if s != e && v != b"null" {
                    if v[0] != b'{' {
                        rejected.push(reject(format!(
                            "field `{}` must be a JSON object, got `{}`",
                            self.table.fields[f].name,
                            String::from_utf8_lossy(&v[..v.len().min(32)])
                        )));
                        raw_ok = false;
                        break;
                    }
                    raw_spans[k][i] = (s, e);
                    fast_ok = fast_ok && fast::is_valid_json(v);
                }
            }
            if raw_ok {
                let spans = &self.scanned.spans;
                if fast_ok && self.fast.as_mut().is_some_and(|f| f.push(bytes, spans)) {
                    fast_rows.push(i as u32);
                } else {
                    passed.push(i as u32);
                }
            }
        }

        let mut pieces = Vec::new();
        if let Some(f) = self.fast.as_mut().filter(|f| f.rows() > 0) {
            match f.finish() {
                Ok(batch) => pieces.push((batch, fast_rows)),
                // Cannot happen (the columns follow the decode schema); if it did, arrow-json
                // decodes those records instead.
                Err(_) => {
                    passed.extend(fast_rows);
                    passed.sort_unstable();
                }
            }
        }
        self.decode_rows(chunk, &passed, &mut pieces, &mut rejected, now_micros);

        let mut batches = Vec::with_capacity(pieces.len());
        for (decoded, rows) in pieces {
            match self.assemble(chunk, &decoded, &rows, &ts, &raw_spans) {
                Ok(stored) => {
                    let (keep, reasons) = validate::validate(&self.table, &stored);
                    for (row, reason) in reasons {
                        let i = rows[row] as usize;
                        rejected.push(Rejection::new(
                            table_name,
                            chunk,
                            &chunk.records[i],
                            chunk.bytes(i),
                            reason,
                            now_micros,
                        ));
                    }
                    let kept = match keep {
                        None => Ok(stored),
                        Some(mask) => filter_record_batch(&stored, &mask),
                    }
                    .and_then(|b| {
                        RecordBatch::try_new(self.table.stored.clone(), b.columns().to_vec())
                    });
                    match kept {
                        Ok(b) => batches.push(b),
                        // validation guarantees the strict schema holds; if it does not, that is a bug
                        Err(e) => panic!("validated batch does not fit the stored schema: {e}"),
                    }
                }
                Err(e) => {
                    for &i in &rows {
                        let i = i as usize;
                        rejected.push(Rejection::new(
                            table_name,
                            chunk,
                            &chunk.records[i],
                            chunk.bytes(i),
                            format!("cannot build the row: {e}"),
                            now_micros,
                        ));
                    }
                }
            }
        }
        batches.retain(|b| b.num_rows() > 0);
        let batch = match batches.len() {
            0 => None,
            1 => batches.pop(),
            _ => concat_batches(&self.table.stored, &batches).ok(),
        };
        rejected.sort_by_key(|r| r.position);
        DecodedChunk {
            batch,
            rejected,
            unknown_fields: unknown
                .into_iter()
                .map(|(k, c)| (String::from_utf8_lossy(&k).into_owned(), c))
                .collect(),
            source: chunk.source.clone(),
            partition: chunk.partition,
            first_index: chunk.first_index,
            last_index: chunk.last_index,
            records: n,
            bytes: chunk.records.iter().map(|r| r.original_len).sum(),
        }
    }

    /// Decodes the records `rows` with arrow-json; on failure, bisects until each failing record
    /// is alone and rejects it with arrow-json's message.
    fn decode_rows(
        &self,
        chunk: &RawChunk,
        rows: &[u32],
        out: &mut Vec<(RecordBatch, Vec<u32>)>,
        rejected: &mut Vec<Rejection>,
        now_micros: i64,
    ) {
        if rows.is_empty() {
            return;
        }
        match self.try_decode(chunk, rows) {
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
                self.decode_rows(chunk, a, out, rejected, now_micros);
                self.decode_rows(chunk, b, out, rejected, now_micros);
            }
        }
    }

    fn try_decode(&self, chunk: &RawChunk, rows: &[u32]) -> Result<RecordBatch, String> {
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
        // Feed maximal runs of consecutive records as one slice (the whole buffer when nothing
        // was rejected by the scan).
        let mut k = 0;
        while k < rows.len() {
            let mut j = k;
            while j + 1 < rows.len() && rows[j + 1] == rows[j] + 1 {
                j += 1;
            }
            let start = chunk.records[rows[k] as usize].start;
            let end = chunk.records[rows[j] as usize].end + 1; // include the newline
            let mut buf = &chunk.data[start..end];
            while !buf.is_empty() {
                let used = decoder.decode(buf).map_err(clean)?;
                if used == 0 {
                    return Err("more than one JSON value on one line".into());
                }
                buf = &buf[used..];
            }
            k = j + 1;
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
        ts: &[i64],
        raw_spans: &[Vec<(usize, usize)>],
    ) -> Result<RecordBatch, String> {
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(self.table.fields.len());
        for (f, spec) in self.table.fields.iter().enumerate() {
            let col: ArrayRef = match (spec.kind, self.decode_pos[f]) {
                (FieldKind::Timestamp, _) => Arc::new(
                    TimestampMicrosecondArray::from_iter_values(
                        rows.iter().map(|&r| ts[r as usize]),
                    )
                    .with_timezone(crate::schema::UTC),
                ),
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

#[cfg(test)]
mod tests;
