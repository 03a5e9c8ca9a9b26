//! The SQL files of `sql/`, one query per file, compiled into the binary (the installed binary
//! needs no source tree) and run by every analysis through this one module.
//!
//! A file opens with a header of `--` comment lines; these are its contract:
//! - `-- Tables: a, b`: the lake tables it reads. A lake without one of them cannot run it
//!   ([`SqlFile::missing_table`] says which, so a job can skip the file with a reason).
//! - `-- Parameters: …`: prose naming each `{name}` placeholder of the text.
//! - `-- Example: name = <SQL>; other = <SQL>`: a value for each placeholder (the demo's), so that
//!   `postlaunch sql -f FILE` runs the file as it is, and the tests run every file.
//! - `-- Columns: a, b, …` (continued on `--   ` lines): the columns it returns, in order.
//!
//! Parameters have one style: a `{name}` placeholder (lower-case letters and `_`) anywhere in the
//! text, replaced by the SQL rendering of a typed [`Param`] — a quoted string, a timestamp, a
//! number, or a fragment of SQL built by postlaunch itself (partition predicates). A file never
//! quotes a placeholder: `WHERE ts >= {from}`, not `'{from}'`. Other braces (`map {'a': 1}`) are
//! left alone. A placeholder without a value is an error naming it and the file, so a typo never
//! reaches DataFusion as odd SQL.

use std::sync::Arc;

use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType, Float64Type, Int64Type, SchemaRef, TimeUnit};
use arrow::record_batch::RecordBatch;
use chrono::{DateTime, Utc};

use super::{LakeSession, QueryError};

/// A SQL file of `sql/`, built into the binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SqlFile {
    /// Path in the repository, e.g. `sql/hourly/service_metrics.sql` (for messages).
    pub path: &'static str,
    /// The file's text.
    pub text: &'static str,
}

/// `sql_file!("sql/hourly/service_metrics.sql")`: that file, compiled in.
macro_rules! sql_file {
    ($path:literal) => {
        $crate::query::sql::SqlFile {
            path: $path,
            text: include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/", $path)),
        }
    };
}
pub(crate) use sql_file;

/// Errors of preparing or running a SQL file.
#[derive(Debug, thiserror::Error)]
pub enum SqlError {
    #[error("`{file}` uses parameter `{{{name}}}`, which is not set (give it with --param {name}=<SQL>, or an `-- Example:` value in the file)")]
    MissingParam { file: String, name: String },
    #[error(
        "`{file}` cannot run on this lake: it reads table `{table}`, which the lake does not have"
    )]
    MissingTable { file: String, table: String },
    #[error("running `{file}`: {source}")]
    Query { file: String, source: QueryError },
    #[error("`{file}` returned no column `{column}` of a usable type")]
    Column {
        file: &'static str,
        column: &'static str,
    },
    #[error("`{file}` returned no column `{column}`, which its `-- Columns:` header names")]
    MissingColumn { file: &'static str, column: String },
    #[error("`{file}`: its `-- Example:` header is malformed at `{part}`, expected `name = <SQL>` pairs separated by `;`")]
    Example { file: String, part: String },
}

/// A parameter value, rendered as SQL.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    /// A string literal, quoted (`'` doubled).
    Text(String),
    /// A UTC timestamp literal with microsecond precision, the lake's `ts` type.
    Time(DateTime<Utc>),
    /// An integer literal.
    Int(i64),
    /// A float literal (its shortest exact representation).
    Float(f64),
    /// A fragment of SQL built by postlaunch (a predicate, an expression), inserted verbatim.
    /// Never a value from a user or an event.
    Sql(String),
}

impl Param {
    /// The parameter as SQL text.
    pub fn render(&self) -> String {
        match self {
            Param::Text(s) => quote(s),
            Param::Time(t) => format!(
                "to_timestamp_micros({})",
                quote(&t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
            ),
            Param::Int(n) => n.to_string(),
            Param::Float(x) => {
                let s = format!("{x:?}");
                if s.contains(['.', 'e', 'E']) || !x.is_finite() {
                    s
                } else {
                    format!("{s}.0")
                }
            }
            Param::Sql(s) => s.clone(),
        }
    }
}

/// A SQL string literal.
pub fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

impl SqlFile {
    /// The file name without `.sql` (e.g. the result table's suffix of a job query).
    pub fn name(&self) -> &'static str {
        let base = self.path.rsplit('/').next().unwrap_or(self.path);
        base.strip_suffix(".sql").unwrap_or(base)
    }

    /// The tables of the `-- Tables:` header.
    pub fn tables(&self) -> Vec<String> {
        header_list(self.text, "-- Tables:")
    }

    /// The columns of the `-- Columns:` header.
    pub fn columns(&self) -> Vec<String> {
        header_list(self.text, "-- Columns:")
    }

    /// Why the file cannot run on a lake holding `tables`: the first table of its `-- Tables:`
    /// header that is missing; `None` when all are there.
    pub fn missing_table(&self, tables: &[String]) -> Option<SqlError> {
        self.tables()
            .into_iter()
            .find(|t| !tables.contains(t))
            .map(|table| SqlError::MissingTable {
                file: self.path.to_string(),
                table,
            })
    }

    /// The `{name}` placeholders of the text, in order of first use.
    pub fn placeholders(&self) -> Vec<&'static str> {
        placeholders(self.text)
    }

    /// The values of the `-- Example:` header, as SQL text.
    pub fn example(&self) -> Result<Vec<(String, Param)>, SqlError> {
        example(self.path, self.text)
    }

    /// The text with every `{name}` replaced by the rendering of its value in `params`.
    pub fn render<K: AsRef<str>>(&self, params: &[(K, Param)]) -> Result<String, SqlError> {
        render(self.path, self.text, params)
    }

    /// Renders the file with `params` and runs it; fails with [`SqlError::MissingTable`] first
    /// when the lake lacks a table it reads.
    pub async fn run<K: AsRef<str>>(
        &self,
        session: &LakeSession,
        params: &[(K, Param)],
    ) -> Result<(SchemaRef, Vec<RecordBatch>), SqlError> {
        if let Some(missing) = self.missing_table(&session.tables) {
            return Err(missing);
        }
        let sql = self.render(params)?;
        session.query(&sql).await.map_err(|source| SqlError::Query {
            file: self.path.to_string(),
            source,
        })
    }

    /// [`SqlFile::batches`], or `None` with the reason added to `skipped` when the lake lacks a
    /// table the file reads (a job or report then goes on without it).
    pub async fn batches_or_skip<K: AsRef<str>>(
        &self,
        session: &LakeSession,
        params: &[(K, Param)],
        skipped: &mut Vec<String>,
    ) -> Result<Option<Vec<RecordBatch>>, SqlError> {
        match self.batches(session, params).await {
            Ok(batches) => Ok(Some(batches)),
            Err(why @ SqlError::MissingTable { .. }) => {
                skipped.push(why.to_string());
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// [`SqlFile::batches`], or `None` when the lake lacks a table the file reads (the caller
    /// says what is missing and goes on).
    pub async fn batches_if_present<K: AsRef<str>>(
        &self,
        session: &LakeSession,
        params: &[(K, Param)],
    ) -> Result<Option<Vec<RecordBatch>>, SqlError> {
        match self.batches(session, params).await {
            Ok(batches) => Ok(Some(batches)),
            Err(SqlError::MissingTable { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// [`SqlFile::run`], the batches only.
    pub async fn batches<K: AsRef<str>>(
        &self,
        session: &LakeSession,
        params: &[(K, Param)],
    ) -> Result<Vec<RecordBatch>, SqlError> {
        Ok(self.run(session, params).await?.1)
    }
}

// Reading results into plain values: a column by name, cast to the type wanted. `source` names
// where the batch came from (a SQL file's path, or a stored table) for the error. NULLs are `None`
// (`0.0` for floats, which are sums and moments).

fn column(
    source: &'static str,
    batch: &RecordBatch,
    name: &'static str,
    to: &DataType,
) -> Result<Arc<dyn Array>, SqlError> {
    let err = || SqlError::Column {
        file: source,
        column: name,
    };
    let c = batch.column_by_name(name).ok_or_else(err)?;
    arrow::compute::cast(c, to).map_err(|_| err())
}

/// The `{from}` and `{to}` parameters of a range `[from, to)`.
pub fn time_range(from: DateTime<Utc>, to: DateTime<Utc>) -> [(&'static str, Param); 2] {
    [("from", Param::Time(from)), ("to", Param::Time(to))]
}

/// Column `name` as floats (NULL as 0).
pub fn f64s(
    source: &'static str,
    b: &RecordBatch,
    name: &'static str,
) -> Result<Vec<f64>, SqlError> {
    let a = column(source, b, name, &DataType::Float64)?;
    let a = a.as_primitive::<Float64Type>();
    Ok((0..a.len())
        .map(|i| if a.is_null(i) { 0.0 } else { a.value(i) })
        .collect())
}

/// Column `name` as floats, NULL as `None`.
pub fn opt_f64s(
    source: &'static str,
    b: &RecordBatch,
    name: &'static str,
) -> Result<Vec<Option<f64>>, SqlError> {
    let a = column(source, b, name, &DataType::Float64)?;
    let a = a.as_primitive::<Float64Type>();
    Ok((0..a.len())
        .map(|i| (!a.is_null(i)).then(|| a.value(i)))
        .collect())
}

/// Column `name` as integers.
pub fn i64s(
    source: &'static str,
    b: &RecordBatch,
    name: &'static str,
) -> Result<Vec<Option<i64>>, SqlError> {
    let a = column(source, b, name, &DataType::Int64)?;
    let a = a.as_primitive::<Int64Type>();
    Ok((0..a.len())
        .map(|i| (!a.is_null(i)).then(|| a.value(i)))
        .collect())
}

/// Column `name` as timestamps (µs since the epoch, UTC).
pub fn times(
    source: &'static str,
    b: &RecordBatch,
    name: &'static str,
) -> Result<Vec<Option<i64>>, SqlError> {
    let a = column(
        source,
        b,
        name,
        &DataType::Timestamp(TimeUnit::Microsecond, None),
    )?;
    let a = arrow::compute::cast(&a, &DataType::Int64).map_err(|_| SqlError::Column {
        file: source,
        column: name,
    })?;
    let a = a.as_primitive::<Int64Type>();
    Ok((0..a.len())
        .map(|i| (!a.is_null(i)).then(|| a.value(i)))
        .collect())
}

/// Column `name` as strings.
pub fn strings(
    source: &'static str,
    b: &RecordBatch,
    name: &'static str,
) -> Result<Vec<Option<String>>, SqlError> {
    let a = column(source, b, name, &DataType::Utf8)?;
    let a = a.as_string::<i32>();
    Ok((0..a.len())
        .map(|i| (!a.is_null(i)).then(|| a.value(i).to_string()))
        .collect())
}

/// The `{name}` placeholders of `text`, in order of first use.
pub fn placeholders(text: &str) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    scan(text, |piece| {
        if let Piece::Placeholder(name) = piece {
            if !out.contains(&name) {
                out.push(name);
            }
        }
    });
    out
}

/// The values of the `-- Example:` header of `text` (the file `path`), as SQL text.
pub fn example(path: &str, text: &str) -> Result<Vec<(String, Param)>, SqlError> {
    let mut out = Vec::new();
    for part in header_text(text, "-- Example:")
        .split(';')
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let (name, value) = part.split_once('=').ok_or_else(|| SqlError::Example {
            file: path.to_string(),
            part: part.to_string(),
        })?;
        out.push((
            name.trim().to_string(),
            Param::Sql(value.trim().to_string()),
        ));
    }
    Ok(out)
}

/// `text` (of the file `path`) with every `{name}` replaced by the rendering of its value in
/// `params`.
pub fn render<K: AsRef<str>>(
    path: &str,
    text: &str,
    params: &[(K, Param)],
) -> Result<String, SqlError> {
    let mut out = String::with_capacity(text.len() + 256);
    let mut missing = None;
    scan(text, |piece| match piece {
        Piece::Text(t) => out.push_str(t),
        Piece::Placeholder(name) => match params.iter().find(|(k, _)| k.as_ref() == name) {
            Some((_, v)) => out.push_str(&v.render()),
            None => {
                missing.get_or_insert(name);
            }
        },
    });
    match missing {
        Some(name) => Err(SqlError::MissingParam {
            file: path.to_string(),
            name: name.to_string(),
        }),
        None => Ok(out),
    }
}

/// A query a person gives (`postlaunch sql -f FILE`, or inline with `--param`): its `{name}`
/// placeholders take the values of `overrides` (SQL text), else of its `-- Example:` header. A
/// text without placeholders and without overrides is returned as it is.
pub fn fill(path: &str, text: &str, overrides: &[(String, String)]) -> Result<String, SqlError> {
    if overrides.is_empty() && placeholders(text).is_empty() {
        return Ok(text.to_string());
    }
    let mut params = example(path, text)?;
    for (name, value) in overrides {
        let value = Param::Sql(value.clone());
        match params.iter_mut().find(|(k, _)| k == name) {
            Some(p) => p.1 = value,
            None => params.push((name.clone(), value)),
        }
    }
    render(path, text, &params)
}

enum Piece<'a> {
    Text(&'a str),
    Placeholder(&'a str),
}

/// Splits `text` into literal text and `{name}` placeholders. Whole-line `--` comments are
/// literal text: a header may mention `{name}` without the file needing a value for it.
fn scan<'a>(text: &'a str, mut f: impl FnMut(Piece<'a>)) {
    for line in text.split_inclusive('\n') {
        if line.trim_start().starts_with("--") {
            f(Piece::Text(line));
            continue;
        }
        let mut rest = line;
        while let Some(open) = rest.find('{') {
            f(Piece::Text(&rest[..open]));
            let after = &rest[open + 1..];
            let close = after.find('}').filter(|&c| {
                c > 0
                    && after[..c]
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b == b'_')
            });
            match close {
                Some(c) => {
                    f(Piece::Placeholder(&after[..c]));
                    rest = &after[c + 1..];
                }
                None => {
                    f(Piece::Text("{"));
                    rest = after;
                }
            }
        }
        f(Piece::Text(rest));
    }
}

/// The text of a header line and its `--   ` continuation lines.
fn header_text(text: &str, prefix: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for line in text.lines() {
        let rest = if let Some(r) = line.strip_prefix(prefix) {
            inside = true;
            r
        } else if inside && line.starts_with("--   ") {
            &line[2..]
        } else {
            if inside {
                break;
            }
            continue;
        };
        out.push(' ');
        out.push_str(rest.trim());
    }
    out
}

/// A comma-separated header list.
fn header_list(text: &str, prefix: &str) -> Vec<String> {
    header_text(text, prefix)
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: SqlFile = SqlFile {
        path: "sql/t.sql",
        text: "-- Tables: a, b\n-- Parameters: {date}, {hour}; {unused} in a comment needs no value\n-- Columns: x,\n--   y\n-- Example: date = '2026-11-27'; hour = 13\nSELECT {date} AS d, map {'a': 1} FROM a WHERE h = {hour} AND {date} <> ''",
    };

    #[test]
    fn headers_placeholders_and_rendering() {
        assert_eq!(T.name(), "t");
        assert_eq!(T.tables(), ["a", "b"]);
        assert_eq!(T.columns(), ["x", "y"]);
        assert_eq!(T.placeholders(), ["date", "hour"]);
        let sql = T
            .render(&[
                ("date", Param::Text("it's".into())),
                ("hour", Param::Int(13)),
            ])
            .unwrap();
        assert!(
            sql.ends_with(
                "SELECT 'it''s' AS d, map {'a': 1} FROM a WHERE h = 13 AND 'it''s' <> ''"
            ),
            "{sql}"
        );
        let err = T.render(&[("date", Param::Int(1))]).unwrap_err();
        assert!(err.to_string().contains("{hour}") && err.to_string().contains("sql/t.sql"));
        let example = T.example().unwrap();
        assert_eq!(
            example,
            [
                ("date".to_string(), Param::Sql("'2026-11-27'".into())),
                ("hour".to_string(), Param::Sql("13".into()))
            ]
        );
        assert!(T.render(&example).unwrap().contains("h = 13"));
        assert!(matches!(
            T.missing_table(&["a".into()]),
            Some(SqlError::MissingTable { table, .. }) if table == "b"
        ));
    }

    #[test]
    fn params_render_as_sql_literals() {
        let t = DateTime::parse_from_rfc3339("2026-11-27T13:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            Param::Time(t).render(),
            "to_timestamp_micros('2026-11-27T13:00:00.000000Z')"
        );
        assert_eq!(Param::Float(1.2).render(), "1.2");
        assert_eq!(Param::Float(2.0).render(), "2.0");
        assert_eq!(Param::Float(1e-7).render(), "1e-7");
        assert_eq!(Param::Int(-3).render(), "-3");
    }
}
