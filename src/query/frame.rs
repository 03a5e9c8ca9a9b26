//! A query's result read by column name — text, numbers (every numeric type and booleans as
//! floats) and times (µs) — for the pages and reports that show a SQL file's rows as they are.

use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType, Float64Type, Int64Type, TimeUnit};
use arrow::record_batch::RecordBatch;

use super::sql::{Param, SqlError, SqlFile};
use super::LakeSession;

/// A query's result as columns of text, numbers and times, read by name.
#[derive(Debug, Default)]
pub struct Frame {
    pub rows: usize,
    columns: Vec<(String, Column)>,
}

#[derive(Debug)]
enum Column {
    Text(Vec<Option<String>>),
    Number(Vec<Option<f64>>),
    Time(Vec<Option<i64>>),
}

impl Frame {
    /// The result of `file`, checked to hold every column its `-- Columns:` header names (a
    /// page or report reading a column the file does not return fails with its name, instead of
    /// showing blanks).
    pub fn read(file: &SqlFile, batches: &[RecordBatch]) -> Result<Frame, SqlError> {
        let f = Frame::new(batches);
        if f.rows > 0 {
            if let Some(c) = file.columns().into_iter().find(|c| f.column(c).is_none()) {
                return Err(SqlError::MissingColumn {
                    file: file.path,
                    column: c,
                });
            }
        }
        Ok(f)
    }

    pub fn new(batches: &[RecordBatch]) -> Frame {
        let mut f = Frame::default();
        let Some(first) = batches.first() else {
            return f;
        };
        for (j, field) in first.schema().fields().iter().enumerate() {
            let col = match field.data_type() {
                DataType::Timestamp(_, _) => Column::Time(
                    batches
                        .iter()
                        .flat_map(|b| {
                            let a = arrow::compute::cast(
                                b.column(j),
                                &DataType::Timestamp(TimeUnit::Microsecond, None),
                            )
                            .and_then(|a| arrow::compute::cast(&a, &DataType::Int64))
                            .expect("timestamps cast to integers");
                            let a = a.as_primitive::<Int64Type>().clone();
                            (0..a.len()).map(move |i| (!a.is_null(i)).then(|| a.value(i)))
                        })
                        .collect(),
                ),
                t if t.is_numeric() || *t == DataType::Boolean => Column::Number(
                    batches
                        .iter()
                        .flat_map(|b| {
                            let a = arrow::compute::cast(b.column(j), &DataType::Float64)
                                .expect("numbers cast to floats");
                            let a = a.as_primitive::<Float64Type>().clone();
                            (0..a.len()).map(move |i| (!a.is_null(i)).then(|| a.value(i)))
                        })
                        .collect(),
                ),
                _ => Column::Text(
                    batches
                        .iter()
                        .flat_map(|b| {
                            let a = arrow::compute::cast(b.column(j), &DataType::Utf8)
                                .expect("every other type casts to text");
                            let a = a.as_string::<i32>().clone();
                            (0..a.len())
                                .map(move |i| (!a.is_null(i)).then(|| a.value(i).to_string()))
                        })
                        .collect(),
                ),
            };
            f.columns.push((field.name().clone(), col));
        }
        f.rows = batches.iter().map(|b| b.num_rows()).sum();
        f
    }

    fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|(n, _)| n == name).map(|(_, c)| c)
    }

    /// Row `i` of text column `name` ("" when NULL).
    pub fn text(&self, name: &str, i: usize) -> &str {
        match self.column(name) {
            Some(Column::Text(v)) => v[i].as_deref().unwrap_or(""),
            _ => "",
        }
    }

    /// Row `i` of number column `name`.
    pub fn num(&self, name: &str, i: usize) -> Option<f64> {
        match self.column(name) {
            Some(Column::Number(v)) => v[i],
            _ => None,
        }
    }

    /// Row `i` of time column `name`, µs.
    pub fn time(&self, name: &str, i: usize) -> Option<i64> {
        match self.column(name) {
            Some(Column::Time(v)) => v[i],
            _ => None,
        }
    }

    /// The rows whose column `name` is `value`.
    pub fn rows_where<'a>(
        &'a self,
        name: &'a str,
        value: &'a str,
    ) -> impl Iterator<Item = usize> + 'a {
        (0..self.rows).filter(move |&i| self.text(name, i) == value)
    }
}

impl SqlFile {
    /// [`SqlFile::batches_if_present`] as a [`Frame`] checked against the file's
    /// `-- Columns:` header.
    pub async fn frame_if_present<K: AsRef<str>>(
        &self,
        session: &LakeSession,
        params: &[(K, Param)],
    ) -> Result<Option<Frame>, SqlError> {
        match self.batches_if_present(session, params).await? {
            Some(bs) => Ok(Some(Frame::read(self, &bs)?)),
            None => Ok(None),
        }
    }
}
