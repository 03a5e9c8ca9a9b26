//! NDJSON files (plain or gzip) and stdin as a source. Reading is streaming: memory is bounded by
//! the chunk size and the record-size limit, whatever the size of the input or of one line.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

pub use super::ChunkLimits;
use super::RawChunk;

/// Errors of the file source.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("cannot open `{path}`: {source}")]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read `{path}` after line {line}: {source}")]
    Read {
        path: String,
        line: i64,
        source: std::io::Error,
    },
    #[error(transparent)]
    Stopped(#[from] super::Stopped),
}

/// An opened input file with its identity in the commit log.
pub struct FileInput {
    /// What the user named (`-` for stdin).
    pub display: String,
    /// Identity recorded in the commit log: canonical path plus a fingerprint of the first 64 KiB,
    /// so re-ingesting the same file skips what is stored, and a different file that reuses the
    /// path is a new source. Stdin gets a unique key per run (it cannot be recognised again).
    pub source_key: Arc<str>,
    /// Size on disk, for progress; `None` for stdin.
    pub total_bytes: Option<u64>,
    /// Bytes read from disk so far (compressed bytes for `.gz`).
    pub bytes_read: Arc<AtomicU64>,
    pub reader: Box<dyn BufRead + Send>,
}

struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

const BUF: usize = 256 << 10;

/// FNV-1a, a stable hash (std's hasher may change between Rust releases).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Opens a path (`-` is stdin); gzip is recognised by its magic bytes.
pub fn open(path: &Path) -> Result<FileInput, SourceError> {
    let bytes_read = Arc::new(AtomicU64::new(0));
    if path == Path::new("-") {
        let micros = chrono::Utc::now().timestamp_micros();
        let reader = Counting {
            inner: std::io::stdin(),
            count: bytes_read.clone(),
        };
        return Ok(FileInput {
            display: "-".into(),
            source_key: format!("stdin:{micros}").into(),
            total_bytes: None,
            bytes_read,
            reader: Box::new(BufReader::with_capacity(BUF, maybe_gunzip(reader)?)),
        });
    }
    let open_err = |source| SourceError::Open {
        path: path.to_path_buf(),
        source,
    };
    let canonical = std::fs::canonicalize(path).map_err(open_err)?;
    let mut file = File::open(&canonical).map_err(open_err)?;
    let meta = file.metadata().map_err(open_err)?;
    if meta.is_dir() {
        return Err(open_err(std::io::Error::other(
            "is a directory, expected an NDJSON file",
        )));
    }
    let mut head = vec![0u8; 64 << 10];
    let mut n = 0;
    while n < head.len() {
        let got = file.read(&mut head[n..]).map_err(open_err)?;
        if got == 0 {
            break;
        }
        n += got;
    }
    let key = format!("file:{}#{:016x}", canonical.display(), fnv1a(&head[..n]));
    let file = File::open(&canonical).map_err(open_err)?;
    let reader = Counting {
        inner: file,
        count: bytes_read.clone(),
    };
    Ok(FileInput {
        display: path.display().to_string(),
        source_key: key.into(),
        total_bytes: Some(meta.len()),
        bytes_read,
        reader: Box::new(BufReader::with_capacity(
            BUF,
            maybe_gunzip(reader).map_err(|e| match e {
                SourceError::Open { source, .. } => open_err(source),
                other => other,
            })?,
        )),
    })
}

fn maybe_gunzip<R: Read + Send + 'static>(inner: R) -> Result<Box<dyn Read + Send>, SourceError> {
    let mut buffered = BufReader::with_capacity(BUF, inner);
    let head = buffered.fill_buf().map_err(|source| SourceError::Open {
        path: PathBuf::from("-"),
        source,
    })?;
    if head.starts_with(&[0x1f, 0x8b]) {
        Ok(Box::new(flate2::bufread::MultiGzDecoder::new(buffered)))
    } else {
        Ok(Box::new(buffered))
    }
}

/// What reading one input did.
#[derive(Debug, Default, Clone, Copy)]
pub struct ReadStats {
    /// Lines seen (including blank and skipped ones).
    pub lines: i64,
    /// Non-blank lines handed on as records.
    pub records: u64,
    /// Non-blank lines skipped because the lake already holds them.
    pub skipped: u64,
}

/// Cuts `reader` into chunks of NDJSON records and hands each to `emit`. Lines for which
/// `already_stored(line)` holds are skipped (resuming an interrupted or repeated ingest); blank
/// lines are not records. A trailing `\r` is removed.
pub fn read_chunks(
    input: &mut FileInput,
    limits: ChunkLimits,
    already_stored: &dyn Fn(i64) -> bool,
    emit: &mut dyn FnMut(RawChunk) -> Result<(), super::Stopped>,
) -> Result<ReadStats, SourceError> {
    let mut stats = ReadStats::default();
    let mut chunk = RawChunk::new(input.source_key.clone(), None, 1);
    // The line being read is appended to `chunk.data` directly (no second copy), capped at the
    // record limit; `line_len` counts its real length.
    let mut line_start = 0usize;
    let mut line_len = 0usize;
    let mut in_line = false;
    loop {
        let buf = match input.reader.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(source) => {
                return Err(SourceError::Read {
                    path: input.display.clone(),
                    line: stats.lines,
                    source,
                })
            }
        };
        if buf.is_empty() {
            if in_line
                && finish_line(
                    &mut chunk,
                    &mut stats,
                    line_start,
                    line_len,
                    limits,
                    already_stored,
                ) == Line::Stored
            {
                restart_after(&mut chunk, stats.lines, emit)?;
            }
            break;
        }
        let (piece, consumed, ends_line) = match memchr::memchr(b'\n', buf) {
            Some(i) => (&buf[..i], i + 1, true),
            None => (buf, buf.len(), false),
        };
        if !in_line {
            line_start = chunk.data.len();
            line_len = 0;
            in_line = true;
        }
        let room = limits.max_record_bytes.saturating_sub(line_len);
        chunk
            .data
            .extend_from_slice(&piece[..piece.len().min(room)]);
        line_len += piece.len();
        input.reader.consume(consumed);
        if ends_line {
            in_line = false;
            let line = finish_line(
                &mut chunk,
                &mut stats,
                line_start,
                line_len,
                limits,
                already_stored,
            );
            if line == Line::Stored {
                restart_after(&mut chunk, stats.lines, emit)?;
            } else if chunk.is_full(&limits) {
                let next = RawChunk::new(input.source_key.clone(), None, stats.lines + 1);
                emit(std::mem::replace(&mut chunk, next))?;
            }
        }
    }
    if chunk.last_index >= chunk.first_index {
        emit(chunk)?;
    }
    Ok(stats)
}

/// What a line turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Line {
    /// A record, now in the chunk.
    Record,
    /// Blank: covered by the chunk, no record.
    Blank,
    /// Already in the lake: skipped, and not covered by the chunk.
    Stored,
}

/// Ends `chunk` before `line`, a line the lake already holds ([`RawChunk::split_before_stored`]),
/// handing the finished part on.
fn restart_after(
    chunk: &mut RawChunk,
    line: i64,
    emit: &mut dyn FnMut(RawChunk) -> Result<(), super::Stopped>,
) -> Result<(), SourceError> {
    match chunk.split_before_stored(line) {
        Some(done) => Ok(emit(done)?),
        None => Ok(()),
    }
}

fn finish_line(
    chunk: &mut RawChunk,
    stats: &mut ReadStats,
    start: usize,
    mut len: usize,
    limits: ChunkLimits,
    already_stored: &dyn Fn(i64) -> bool,
) -> Line {
    stats.lines += 1;
    let line = stats.lines;
    let mut end = chunk.data.len();
    if end > start && chunk.data[end - 1] == b'\r' && len <= limits.max_record_bytes {
        end -= 1;
        len -= 1;
        chunk.data.truncate(end);
    }
    let blank = chunk.data[start..end].iter().all(u8::is_ascii_whitespace);
    if blank {
        chunk.last_index = line;
        chunk.data.truncate(start);
        return Line::Blank;
    }
    if already_stored(line) {
        stats.skipped += 1;
        chunk.data.truncate(start);
        return Line::Stored;
    }
    chunk.last_index = line;
    chunk.data.push(b'\n');
    chunk.records.push(super::RawRecord {
        start,
        end,
        index: line,
        original_len: len,
    });
    stats.records += 1;
    Line::Record
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(bytes: &'static [u8]) -> FileInput {
        FileInput {
            display: "test".into(),
            source_key: "test".into(),
            total_bytes: None,
            bytes_read: Arc::default(),
            reader: Box::new(BufReader::with_capacity(7, bytes)),
        }
    }

    fn chunks(
        bytes: &'static [u8],
        limits: ChunkLimits,
        skip: &dyn Fn(i64) -> bool,
    ) -> Vec<RawChunk> {
        let mut out = Vec::new();
        read_chunks(&mut input(bytes), limits, skip, &mut |c| {
            out.push(c);
            Ok(())
        })
        .unwrap();
        out
    }

    #[test]
    fn lines_keep_their_numbers_across_blank_and_skipped_lines() {
        let limits = ChunkLimits::default();
        let c = chunks(b"{\"a\":1}\r\n\n  \n{\"b\":2}\n{\"c\":3}", limits, &|l| {
            l == 4
        });
        // line 4 is in the lake: the chunks end before it and start after it, so that what a
        // chunk covers is exactly what its commit may claim (blank lines 2-3 included)
        let ranges: Vec<_> = c.iter().map(|c| (c.first_index, c.last_index)).collect();
        assert_eq!(ranges, vec![(1, 3), (5, 5)]);
        let indexes: Vec<_> = c.iter().flat_map(|c| &c.records).map(|r| r.index).collect();
        assert_eq!(indexes, vec![1, 5]);
        assert_eq!(c[0].bytes(0), b"{\"a\":1}");
        assert_eq!(c[1].bytes(0), b"{\"c\":3}");
        assert_eq!(&c[0].data, b"{\"a\":1}\n");
        // a run of stored lines at the start yields no empty chunk
        let c = chunks(b"1\n2\n3\n4\n", limits, &|l| l <= 3);
        let ranges: Vec<_> = c.iter().map(|c| (c.first_index, c.last_index)).collect();
        assert_eq!(ranges, vec![(4, 4)]);
    }

    #[test]
    fn oversized_lines_are_truncated_but_keep_their_real_length() {
        let limits = ChunkLimits {
            max_record_bytes: 4,
            ..Default::default()
        };
        let c = chunks(b"0123456789\nab\n", limits, &|_| false);
        let r = c[0].records[0];
        assert!(r.is_oversized());
        assert_eq!((r.original_len, c[0].bytes(0)), (10, &b"0123"[..]));
        assert!(!c[0].records[1].is_oversized());
    }

    #[test]
    fn chunks_split_on_record_count_and_cover_contiguous_ranges() {
        let limits = ChunkLimits {
            chunk_records: 2,
            ..Default::default()
        };
        let c = chunks(b"1\n2\n3\n\n5\n", limits, &|_| false);
        let ranges: Vec<_> = c.iter().map(|c| (c.first_index, c.last_index)).collect();
        assert_eq!(ranges, vec![(1, 2), (3, 5)]);
    }

    #[test]
    fn gzip_input_is_recognised_by_magic_bytes() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.ndjson.gz");
        let mut gz =
            flate2::write::GzEncoder::new(File::create(&path).unwrap(), Default::default());
        gz.write_all(b"{\"a\":1}\n{\"a\":2}\n").unwrap();
        gz.finish().unwrap();
        let mut inp = open(&path).unwrap();
        assert!(inp.source_key.starts_with("file:/"));
        let mut n = 0;
        read_chunks(&mut inp, ChunkLimits::default(), &|_| false, &mut |c| {
            n += c.records.len();
            Ok(())
        })
        .unwrap();
        assert_eq!(n, 2);
    }
}
