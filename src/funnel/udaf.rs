//! `funnel_scan(t BIGINT, mask BIGINT, breakdown VARCHAR)`: the per-user funnel scan as a
//! DataFusion aggregate, so the scan runs inside the query (grouped by user, in parallel, no
//! global sort). Each instance is built for one funnel ([`FunnelScan::new`]: number of steps,
//! window, order mode, entry period) and registered on the session before the funnel's query.
//!
//! Input rows are one user's events: time in µs, step mask (see [`super::scan::Event`]) and the
//! event's breakdown value. The result is `LIST<STRUCT<breakdown VARCHAR, times LIST<BIGINT>>>`:
//! the best attempt per breakdown group ([`super::scan::scan`]). The partial state is the three
//! columns collected as lists.

use std::ops::Range;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, ListArray, ListBuilder, StringArray, StringBuilder, StructArray,
};
use arrow::buffer::OffsetBuffer;
use arrow::datatypes::{DataType, Field, FieldRef, Fields, Int64Type};
use datafusion::common::{exec_err, Result, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{Accumulator, AggregateUDFImpl, Signature, Volatility};

use super::config::OrderMode;
use super::scan::{scan, Event};

/// Name of the aggregate in SQL.
pub const NAME: &str = "funnel_scan";

/// The aggregate, for one funnel.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct FunnelScan {
    steps: usize,
    window: i64,
    mode: OrderMode,
    starts: Range<i64>,
    signature: Signature,
}

impl FunnelScan {
    /// `steps` steps, a `window` and an entry period `starts` in µs.
    pub fn new(steps: usize, window: i64, mode: OrderMode, starts: Range<i64>) -> FunnelScan {
        FunnelScan {
            steps,
            window,
            mode,
            starts,
            signature: Signature::exact(
                vec![DataType::Int64, DataType::Int64, DataType::Utf8],
                Volatility::Immutable,
            ),
        }
    }
}

/// The fields of one result entry.
pub fn entry_fields() -> Fields {
    Fields::from(vec![
        Field::new("breakdown", DataType::Utf8, true),
        Field::new("times", DataType::new_list(DataType::Int64, true), false),
    ])
}

impl AggregateUDFImpl for FunnelScan {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::new_list(DataType::Struct(entry_fields()), true))
    }

    fn accumulator(&self, _args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(ScanAccumulator {
            steps: self.steps,
            window: self.window,
            mode: self.mode,
            starts: self.starts.clone(),
            t: Vec::new(),
            mask: Vec::new(),
            group: Vec::new(),
        }))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![
            Arc::new(Field::new(
                format_state_name(args.name, "t"),
                DataType::new_list(DataType::Int64, true),
                true,
            )),
            Arc::new(Field::new(
                format_state_name(args.name, "mask"),
                DataType::new_list(DataType::Int64, true),
                true,
            )),
            Arc::new(Field::new(
                format_state_name(args.name, "breakdown"),
                DataType::new_list(DataType::Utf8, true),
                true,
            )),
        ])
    }
}

/// One user's events, collected until the scan at `evaluate`.
#[derive(Debug)]
struct ScanAccumulator {
    steps: usize,
    window: i64,
    mode: OrderMode,
    starts: Range<i64>,
    t: Vec<i64>,
    mask: Vec<i64>,
    group: Vec<Option<String>>,
}

impl ScanAccumulator {
    fn push_rows(&mut self, t: &ArrayRef, mask: &ArrayRef, group: &ArrayRef) -> Result<()> {
        let (Some(t), Some(mask), Some(group)) = (
            t.as_primitive_opt::<Int64Type>(),
            mask.as_primitive_opt::<Int64Type>(),
            group.as_string_opt::<i32>(),
        ) else {
            return exec_err!(
                "{NAME}: expected (BIGINT, BIGINT, VARCHAR), got ({}, {}, {})",
                t.data_type(),
                mask.data_type(),
                group.data_type()
            );
        };
        for i in 0..t.len() {
            if t.is_null(i) || mask.is_null(i) {
                continue;
            }
            self.t.push(t.value(i));
            self.mask.push(mask.value(i));
            self.group
                .push(group.is_valid(i).then(|| group.value(i).to_string()));
        }
        Ok(())
    }
}

impl Accumulator for ScanAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let [t, mask, group] = values else {
            return exec_err!("{NAME}: expected 3 arguments, got {}", values.len());
        };
        self.push_rows(t, mask, group)
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let [t, mask, group] = states else {
            return exec_err!("{NAME}: expected 3 state columns, got {}", states.len());
        };
        let (Some(t), Some(mask), Some(group)) = (
            t.as_list_opt::<i32>(),
            mask.as_list_opt::<i32>(),
            group.as_list_opt::<i32>(),
        ) else {
            return exec_err!("{NAME}: partial state columns are not lists");
        };
        for i in 0..t.len() {
            if t.is_null(i) {
                continue;
            }
            self.push_rows(&t.value(i), &mask.value(i), &group.value(i))?;
        }
        Ok(())
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let i64_list = |v: &[i64]| {
            ScalarValue::List(Arc::new(ListArray::from_iter_primitive::<Int64Type, _, _>(
                [Some(v.iter().map(|x| Some(*x)))],
            )))
        };
        let mut b = ListBuilder::new(StringBuilder::new());
        for g in &self.group {
            b.values().append_option(g.as_deref());
        }
        b.append(true);
        Ok(vec![
            i64_list(&self.t),
            i64_list(&self.mask),
            ScalarValue::List(Arc::new(b.finish())),
        ])
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let mut values: Vec<Option<String>> = Vec::new();
        let mut events = Vec::with_capacity(self.t.len());
        for ((t, mask), g) in self.t.iter().zip(&self.mask).zip(&self.group) {
            let group = match values.iter().position(|v| v == g) {
                Some(i) => i,
                None => {
                    values.push(g.clone());
                    values.len() - 1
                }
            };
            events.push(Event {
                ts: *t,
                mask: *mask as u64,
                group: group as u32,
            });
        }
        let reaches = scan(
            &mut events,
            self.steps,
            self.window,
            self.mode,
            self.starts.clone(),
        );
        let breakdown: ArrayRef = Arc::new(StringArray::from(
            reaches
                .iter()
                .map(|r| values[r.group as usize].as_deref())
                .collect::<Vec<_>>(),
        ));
        let times: ArrayRef = Arc::new(ListArray::from_iter_primitive::<Int64Type, _, _>(
            reaches
                .iter()
                .map(|r| Some(r.times.iter().map(|t| Some(*t)))),
        ));
        let fields = entry_fields();
        let entries = StructArray::try_new(fields.clone(), vec![breakdown, times], None)?;
        let list = ListArray::try_new(
            Arc::new(Field::new("item", DataType::Struct(fields), true)),
            OffsetBuffer::from_lengths([reaches.len()]),
            Arc::new(entries),
            None,
        )?;
        Ok(ScalarValue::List(Arc::new(list)))
    }

    fn size(&self) -> usize {
        size_of_val(self)
            + 8 * (self.t.capacity() + self.mask.capacity())
            + self
                .group
                .iter()
                .map(|g| 24 + g.as_ref().map_or(0, |s| s.capacity()))
                .sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::Int64Array;
    use arrow::datatypes::Schema;
    use arrow::record_batch::RecordBatch;
    use datafusion::datasource::MemTable;
    use datafusion::logical_expr::AggregateUDF;
    use datafusion::prelude::{SessionConfig, SessionContext};

    fn batch(rows: &[(&str, i64, i64, Option<&str>)]) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("uid", DataType::Utf8, false),
            Field::new("t", DataType::Int64, false),
            Field::new("mask", DataType::Int64, false),
            Field::new("bd", DataType::Utf8, true),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from(
                    rows.iter().map(|r| r.0).collect::<Vec<_>>(),
                )),
                Arc::new(Int64Array::from(
                    rows.iter().map(|r| r.1).collect::<Vec<_>>(),
                )),
                Arc::new(Int64Array::from(
                    rows.iter().map(|r| r.2).collect::<Vec<_>>(),
                )),
                Arc::new(StringArray::from(
                    rows.iter().map(|r| r.3).collect::<Vec<_>>(),
                )),
            ],
        )
        .unwrap()
    }

    /// A user's events split over partitions in the wrong time order: the partial states must
    /// merge before the scan (regression guard for the two-phase aggregation path).
    #[tokio::test]
    async fn partial_states_merge_across_partitions() {
        let p1 = batch(&[("u1", 30, 4, Some("web")), ("u2", 0, 1, None)]);
        let p2 = batch(&[("u1", 10, 1, Some("web")), ("u2", 5, 2, None)]);
        let p3 = batch(&[("u1", 20, 2, Some("ios")), ("u2", 500, 4, None)]);
        let schema = p1.schema();
        let table = MemTable::try_new(schema, vec![vec![p1], vec![p2], vec![p3]]).unwrap();
        let ctx = SessionContext::new_with_config(SessionConfig::new().with_target_partitions(3));
        ctx.register_table("ev", Arc::new(table)).unwrap();
        ctx.register_udaf(AggregateUDF::from(FunnelScan::new(
            3,
            100,
            OrderMode::Ordered,
            i64::MIN..i64::MAX,
        )));
        let batches = ctx
            .sql("SELECT uid, funnel_scan(t, mask, bd) AS r FROM ev GROUP BY uid ORDER BY uid")
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        let text = arrow::util::pretty::pretty_format_batches(&batches)
            .unwrap()
            .to_string();
        // u1: a10 (web) b20 c30 → 3 steps in group `web`; u2: a0 b5, c500 outside the window.
        assert!(
            text.contains("{breakdown: web, times: [10, 20, 30]}"),
            "{text}"
        );
        assert!(text.contains("{breakdown: , times: [0, 5]}"), "{text}");
    }
}
