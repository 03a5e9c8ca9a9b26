//! `latency_summary` and `latency_values`: the latency figures of the hourly service table.
//!
//! An hour of `hourly_service_metrics` needs exact p50/p95/p99, the maximum, the mean and a
//! DDSketch of the same durations, for each version and for all versions together. As six
//! aggregates (three `percentile_cont`, `max`, `avg`, `ddsketch`) under GROUPING SETS, DataFusion
//! copies every duration into three buffers per grouping set, sorts each, and takes a logarithm
//! per value for the sketch. Instead:
//!
//! * `latency_values(value)` collects a group's values and returns them sorted, as a list;
//! * `latency_summary(value)` — or `latency_summary(list)` over such lists — sorts a group's
//!   values once and reads all six figures from them (the sketch with one logarithm per bucket,
//!   [`DDSketch::extend_sorted`]). Raw values are sorted as integer keys ([`key`]); sorted
//!   input lists are borrowed, used as they are when a group has only one, and otherwise merged
//!   by Rust's stable, run-adaptive sort in about linear time, so summarising per-version lists
//!   again for all versions costs little.
//!
//! Both are [`GroupsAccumulator`]s: DataFusion feeds them whole batches with group indexes
//! instead of slicing them per group.
//!
//! `latency_summary` returns a struct `{p50, p95, p99, max, mean, sketch}` (NULL fields for an
//! empty group). Percentiles use linear interpolation between closest ranks: for n sorted values
//! and level q, h = (n − 1)·q and the result is x⌊h⌋ + (h − ⌊h⌋)·(x⌊h⌋+1 − x⌊h⌋), numpy.quantile's
//! default "linear" method (exactly, with no quantised weight). NULL and NaN values are skipped
//! (NULL lists too); the partial state of both is the list of values.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BinaryBuilder, BooleanArray, Float64Array, Float64Builder, ListArray,
    StructArray,
};
use arrow::buffer::OffsetBuffer;
use arrow::datatypes::{DataType, Field, FieldRef, Fields, Float64Type};
use datafusion::common::{exec_err, not_impl_err, plan_err, Result, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, EmitTo, GroupsAccumulator, Signature, Volatility,
};
use datafusion::prelude::SessionContext;

use crate::stats::ddsketch::DDSketch;

/// The percentile levels of the summary, with their field names.
const LEVELS: [(&str, f64); 3] = [("p50", 0.5), ("p95", 0.95), ("p99", 0.99)];

/// Registers `latency_summary` and `latency_values`.
pub fn register(ctx: &SessionContext) {
    ctx.register_udaf(AggregateUDF::from(LatencyAgg::new(Output::Summary)));
    ctx.register_udaf(AggregateUDF::from(LatencyAgg::new(Output::Values)));
}

fn list_type() -> DataType {
    DataType::List(Arc::new(Field::new_list_field(DataType::Float64, true)))
}

/// The fields of the returned struct.
fn fields() -> Fields {
    let mut f: Vec<Field> = LEVELS
        .iter()
        .map(|(name, _)| Field::new(*name, DataType::Float64, true))
        .collect();
    f.push(Field::new("max", DataType::Float64, true));
    f.push(Field::new("mean", DataType::Float64, true));
    f.push(Field::new("sketch", DataType::Binary, true));
    Fields::from(f)
}

/// Linear-interpolation quantile of ascending, non-empty `xs` (numpy's "linear").
pub fn quantile_linear(xs: &[f64], q: f64) -> f64 {
    let h = (xs.len() - 1) as f64 * q;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(xs.len() - 1);
    xs[lo] + (h - lo as f64) * (xs[hi] - xs[lo])
}

/// The summary of one group's values, sorting them in place.
struct Summary {
    quantiles: [f64; 3],
    max: f64,
    mean: f64,
    sketch: Vec<u8>,
}

/// Sorts `xs` with the stable, run-adaptive sort: linear on sorted runs, and on random values
/// within a few percent of the unstable one (the final stage of a two-phase aggregation cannot
/// tell which it got).
fn sort_adaptive(xs: &mut [f64]) {
    xs.sort_by(f64::total_cmp);
}

const SIGN: u64 = 1 << 63;

/// `x` as an integer key in the order of `f64::total_cmp` (NaNs and -0.0 included): positive
/// values get the sign bit set, negative ones have every bit flipped so that a larger magnitude
/// sorts lower. A group's raw values are kept as keys and sorted by the unstable sort on
/// integers, with no comparison closure and no run detection that random values do not need.
fn key(x: f64) -> u64 {
    let b = x.to_bits();
    if b & SIGN == 0 {
        b | SIGN
    } else {
        !b
    }
}

/// The value of a [`key`].
fn value(k: u64) -> f64 {
    f64::from_bits(if k & SIGN != 0 { k & !SIGN } else { !k })
}

#[cfg(test)]
fn summarise(xs: &mut [f64]) -> Option<Summary> {
    sort_adaptive(xs);
    summarise_sorted(xs)
}

/// The summary of ascending `xs`.
fn summarise_sorted(xs: &[f64]) -> Option<Summary> {
    if xs.is_empty() {
        return None;
    }
    let mut sketch = DDSketch::default();
    sketch.extend_sorted(xs);
    Some(Summary {
        quantiles: LEVELS.map(|(_, q)| quantile_linear(xs, q)),
        max: xs[xs.len() - 1],
        mean: sketch.sum() / xs.len() as f64,
        sketch: sketch.to_bytes(),
    })
}

/// Builds the result struct array from per-group values.
fn evaluate_groups(groups: Vec<GroupValues>) -> Result<ArrayRef> {
    let n = groups.len();
    let mut q: Vec<Float64Builder> = (0..LEVELS.len())
        .map(|_| Float64Builder::with_capacity(n))
        .collect();
    let mut max = Float64Builder::with_capacity(n);
    let mut mean = Float64Builder::with_capacity(n);
    let mut sketch = BinaryBuilder::with_capacity(n, 64 * n);
    let mut scratch = Vec::new();
    for mut g in groups {
        match g.summary(&mut scratch) {
            Some(s) => {
                for (b, v) in q.iter_mut().zip(s.quantiles) {
                    b.append_value(v);
                }
                max.append_value(s.max);
                mean.append_value(s.mean);
                sketch.append_value(&s.sketch);
            }
            None => {
                for b in &mut q {
                    b.append_null();
                }
                max.append_null();
                mean.append_null();
                sketch.append_null();
            }
        }
    }
    let mut columns: Vec<ArrayRef> = q
        .into_iter()
        .map(|mut b| Arc::new(b.finish()) as ArrayRef)
        .collect();
    columns.push(Arc::new(max.finish()));
    columns.push(Arc::new(mean.finish()));
    columns.push(Arc::new(sketch.finish()));
    Ok(Arc::new(StructArray::try_new(fields(), columns, None)?))
}

/// Per-group values, each sorted, as a list array (the partial state, and `latency_values`).
fn to_list(groups: Vec<GroupValues>) -> ArrayRef {
    let mut values = Vec::with_capacity(groups.iter().map(GroupValues::len).sum());
    let mut lengths = Vec::with_capacity(groups.len());
    for mut g in groups {
        let before = values.len();
        g.append_sorted(&mut values);
        lengths.push(values.len() - before);
    }
    let offsets = OffsetBuffer::from_lengths(lengths);
    let values = Float64Array::from(values);
    Arc::new(ListArray::new(
        Arc::new(Field::new_list_field(DataType::Float64, true)),
        offsets,
        Arc::new(values),
        None,
    ))
}

fn float_values(a: &ArrayRef) -> Result<&Float64Array> {
    match a.data_type() {
        DataType::Float64 => Ok(a.as_primitive::<Float64Type>()),
        other => exec_err!("latency_summary: expected DOUBLE values, got {other}"),
    }
}

/// What an aggregate returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Output {
    /// `latency_summary`: the struct of figures.
    Summary,
    /// `latency_values`: the sorted values.
    Values,
}

/// The `latency_summary` and `latency_values` aggregates.
#[derive(Debug, PartialEq, Eq, Hash)]
struct LatencyAgg {
    output: Output,
    signature: Signature,
}

impl LatencyAgg {
    fn new(output: Output) -> LatencyAgg {
        LatencyAgg {
            output,
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl AggregateUDFImpl for LatencyAgg {
    fn name(&self) -> &str {
        match self.output {
            Output::Summary => "latency_summary",
            Output::Values => "latency_values",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        match arg_types {
            [t] if t.is_numeric() || t.is_null() => Ok(vec![DataType::Float64]),
            [DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _)]
                if f.data_type().is_numeric() || f.data_type().is_null() =>
            {
                Ok(vec![list_type()])
            }
            _ => plan_err!(
                "{} takes one numeric argument or a list of numbers, got {arg_types:?}",
                self.name()
            ),
        }
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(match self.output {
            Output::Summary => DataType::Struct(fields()),
            Output::Values => list_type(),
        })
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        if args.is_distinct {
            return not_impl_err!("{}(DISTINCT …) is not supported", self.name());
        }
        Ok(Box::new(SummaryAccumulator {
            values: Vec::new(),
            output: self.output,
        }))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![Arc::new(Field::new(
            format_state_name(args.name, "values"),
            list_type(),
            true,
        ))])
    }

    fn groups_accumulator_supported(&self, args: AccumulatorArgs) -> bool {
        !args.is_distinct
    }

    fn create_groups_accumulator(
        &self,
        _args: AccumulatorArgs,
    ) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(SummaryGroups {
            groups: Vec::new(),
            held: 0,
            output: self.output,
        }))
    }
}

/// One group's values: values added one by one (as [`key`]s), and runs of values borrowed from
/// input lists (zero-copy slices of their buffers; no NULL or NaN among them).
///
/// Over lists, as in the second level of `sql/hourly/service_metrics.sql`, most groups get a
/// single list that is already sorted (one version's durations): it is borrowed and read as
/// it is, instead of being copied into a buffer, sorted and copied out again.
#[derive(Debug, Default)]
struct GroupValues {
    keys: Vec<u64>,
    runs: Vec<Float64Array>,
}

impl GroupValues {
    fn len(&self) -> usize {
        self.keys.len() + self.runs.iter().map(Array::len).sum::<usize>()
    }

    fn push(&mut self, x: f64) {
        self.keys.push(key(x));
    }

    /// Adds the non-NULL, non-NaN values of list `i` of `lists`; returns how many.
    fn add_list(&mut self, lists: &ListArray, i: usize) -> Result<usize> {
        if !lists.is_valid(i) {
            return Ok(0);
        }
        let v = lists.value(i);
        let v = float_values(&v)?;
        if v.null_count() == 0 && !v.values().iter().any(|x| x.is_nan()) {
            if !v.is_empty() {
                self.runs.push(v.clone());
            }
            return Ok(v.len());
        }
        let before = self.keys.len();
        self.keys
            .extend(v.iter().flatten().filter(|x| !x.is_nan()).map(key));
        Ok(self.keys.len() - before)
    }

    /// The single borrowed run, when that is all there is and it is sorted.
    fn sorted_run(&self) -> Option<&[f64]> {
        match (self.keys.as_slice(), self.runs.as_slice()) {
            ([], [run]) => {
                let xs = run.values().as_ref();
                xs.is_sorted_by(|a, b| a.total_cmp(b).is_le()).then_some(xs)
            }
            _ => None,
        }
    }

    /// Appends the values to `out` in ascending order.
    fn append_sorted(&mut self, out: &mut Vec<f64>) {
        if let Some(xs) = self.sorted_run() {
            out.extend_from_slice(xs);
            return;
        }
        self.keys.sort_unstable();
        let start = out.len();
        out.extend(self.keys.iter().map(|&k| value(k)));
        if !self.runs.is_empty() {
            for run in &self.runs {
                out.extend_from_slice(run.values());
            }
            sort_adaptive(&mut out[start..]);
        }
    }

    /// The summary of the values (`scratch` holds them sorted when they are not one run).
    fn summary(&mut self, scratch: &mut Vec<f64>) -> Option<Summary> {
        if let Some(xs) = self.sorted_run() {
            return summarise_sorted(xs);
        }
        scratch.clear();
        self.append_sorted(scratch);
        summarise_sorted(scratch)
    }
}

/// Appends the non-NULL, non-NaN values of list `i` of `lists` to `out`.
fn extend_from_list(out: &mut Vec<f64>, lists: &ListArray, i: usize) -> Result<()> {
    if lists.is_valid(i) {
        let v = lists.value(i);
        out.extend(float_values(&v)?.iter().flatten().filter(|x| !x.is_nan()));
    }
    Ok(())
}

fn as_lists(a: &ArrayRef) -> Result<&ListArray> {
    match a.as_list_opt::<i32>() {
        Some(l) => Ok(l),
        None => exec_err!("expected a list of DOUBLE values, got {}", a.data_type()),
    }
}

/// Every group's values, by group index.
#[derive(Debug)]
struct SummaryGroups {
    groups: Vec<GroupValues>,
    /// Values held, for [`GroupsAccumulator::size`].
    held: usize,
    output: Output,
}

impl SummaryGroups {
    fn take(&mut self, emit_to: EmitTo) -> Vec<GroupValues> {
        let taken = emit_to.take_needed(&mut self.groups);
        self.held = self.groups.iter().map(GroupValues::len).sum();
        taken
    }

    /// Adds list rows (partial states, or `latency_summary(list)` input) to their groups.
    fn add_lists(
        &mut self,
        a: &ArrayRef,
        group_indices: &[usize],
        keep: impl Fn(usize) -> bool,
    ) -> Result<()> {
        let lists = as_lists(a)?;
        for (i, &g) in group_indices.iter().enumerate() {
            if keep(i) {
                self.held += self.groups[g].add_list(lists, i)?;
            }
        }
        Ok(())
    }
}

impl GroupsAccumulator for SummaryGroups {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        let Some(a) = values.first() else {
            return exec_err!("latency_summary: no argument column");
        };
        self.groups
            .resize_with(total_num_groups, GroupValues::default);
        let filter = |i: usize| opt_filter.is_none_or(|f| f.is_valid(i) && f.value(i));
        if matches!(a.data_type(), DataType::List(_)) {
            return self.add_lists(a, group_indices, filter);
        }
        let a = float_values(a)?;
        let before: usize = self.held;
        let mut added = 0;
        if a.null_count() == 0 && opt_filter.is_none() {
            for (&g, &x) in group_indices.iter().zip(a.values().iter()) {
                if !x.is_nan() {
                    self.groups[g].push(x);
                    added += 1;
                }
            }
        } else {
            for (i, &g) in group_indices.iter().enumerate() {
                if a.is_valid(i) && filter(i) && !a.value(i).is_nan() {
                    self.groups[g].push(a.value(i));
                    added += 1;
                }
            }
        }
        self.held = before + added;
        Ok(())
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        let groups = self.take(emit_to);
        match self.output {
            Output::Summary => evaluate_groups(groups),
            Output::Values => Ok(to_list(groups)),
        }
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        Ok(vec![to_list(self.take(emit_to))])
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        let Some(a) = values.first() else {
            return exec_err!("latency_summary: no state column");
        };
        self.groups
            .resize_with(total_num_groups, GroupValues::default);
        self.add_lists(a, group_indices, |_| true)
    }

    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        let Some(a) = values.first() else {
            return exec_err!("latency_summary: no argument column");
        };
        let keep = |i: usize| opt_filter.is_none_or(|f| f.is_valid(i) && f.value(i));
        let rows: Vec<GroupValues> = if matches!(a.data_type(), DataType::List(_)) {
            let lists = as_lists(a)?;
            (0..a.len())
                .map(|i| {
                    let mut v = GroupValues::default();
                    if keep(i) {
                        v.add_list(lists, i)?;
                    }
                    Ok(v)
                })
                .collect::<Result<_>>()?
        } else {
            let a = float_values(a)?;
            (0..a.len())
                .map(|i| {
                    let mut v = GroupValues::default();
                    if a.is_valid(i) && !a.value(i).is_nan() && keep(i) {
                        v.push(a.value(i));
                    }
                    v
                })
                .collect()
        };
        Ok(vec![to_list(rows)])
    }

    fn size(&self) -> usize {
        size_of_val(self) + size_of::<GroupValues>() * self.groups.capacity() + 8 * self.held
    }
}

/// One group's values (aggregates without GROUP BY).
#[derive(Debug)]
struct SummaryAccumulator {
    values: Vec<f64>,
    output: Output,
}

impl SummaryAccumulator {
    fn group(&self) -> GroupValues {
        GroupValues {
            keys: self.values.iter().map(|&x| key(x)).collect(),
            runs: Vec::new(),
        }
    }
}

impl Accumulator for SummaryAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let Some(a) = values.first() else {
            return exec_err!("latency_summary: no argument column");
        };
        if matches!(a.data_type(), DataType::List(_)) {
            return self.merge_batch(values);
        }
        let a = float_values(a)?;
        self.values
            .extend(a.iter().flatten().filter(|x| !x.is_nan()));
        Ok(())
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let Some(a) = states.first() else {
            return exec_err!("latency_summary: no state column");
        };
        let lists = as_lists(a)?;
        for i in 0..lists.len() {
            extend_from_list(&mut self.values, lists, i)?;
        }
        Ok(())
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let list = to_list(vec![self.group()]);
        Ok(vec![ScalarValue::try_from_array(&list, 0)?])
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        // Must not consume the values: window frames evaluate the same accumulator again as
        // rows are added. Sorting them in place changes nothing that matters.
        sort_adaptive(&mut self.values);
        let values = vec![self.group()];
        let out = match self.output {
            Output::Summary => evaluate_groups(values)?,
            Output::Values => to_list(values),
        };
        ScalarValue::try_from_array(&out, 0)
    }

    fn size(&self) -> usize {
        size_of_val(self) + 8 * self.values.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::rng::Rng;
    use arrow::array::{Float64Array, StringArray};
    use arrow::datatypes::Schema;
    use arrow::record_batch::RecordBatch;
    use datafusion::datasource::MemTable;

    /// Reference values computed with numpy 2.x:
    /// `numpy.quantile([3, 1, 4, 1, 5, 9, 2, 6], [0.5, 0.95, 0.99])` = [3.5, 7.95, 8.79].
    #[test]
    fn linear_quantiles_match_numpy() {
        let mut xs = vec![3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0];
        let s = summarise(&mut xs).unwrap();
        for (got, want) in s.quantiles.iter().zip([3.5, 7.95, 8.79]) {
            assert!((got - want).abs() <= 1e-12, "{got} vs {want}");
        }
        assert!((s.max - 9.0).abs() <= 0.0 + f64::EPSILON);
        assert!((s.mean - 31.0 / 8.0).abs() <= 1e-12);
        assert!(summarise(&mut []).is_none());
        let mut one = vec![7.0];
        let s = summarise(&mut one).unwrap();
        assert!(s.quantiles.iter().all(|q| (q - 7.0).abs() <= 1e-12));
    }

    /// Values sorted as keys come back in `total_cmp`'s order, special values included.
    #[test]
    fn keys_sort_like_total_cmp() {
        let mut rng = Rng::seed_from_u64(3);
        let mut xs: Vec<f64> = (0..2_000).map(|_| rng.lognormal(1.0, 2.0) - 3.0).collect();
        xs.extend([
            0.0,
            -0.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            -f64::NAN,
            f64::MIN_POSITIVE,
            -f64::MIN_POSITIVE,
            f64::MAX,
            f64::MIN,
        ]);
        let mut want = xs.clone();
        want.sort_by(f64::total_cmp);
        let mut g = GroupValues::default();
        for &x in &xs {
            g.push(x);
        }
        let mut got = Vec::new();
        g.append_sorted(&mut got);
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(g.to_bits(), w.to_bits());
        }
    }

    /// Lists given to `latency_summary` directly need not be sorted nor clean: unsorted lists,
    /// NULL and NaN elements and NULL lists give the summary of the remaining values.
    #[tokio::test]
    async fn summary_of_unsorted_and_unclean_lists() {
        let ctx = SessionContext::new();
        register(&ctx);
        let sql = "SELECT g, s['p50'] AS p50, s['p95'] AS p95, s['max'] AS mx, s['mean'] AS mn
                   FROM (SELECT g, latency_summary(xs) AS s FROM (VALUES
                         ('a', [5.0, 1.0, 3.0]), ('a', [4.0, 2.0]),
                         ('b', [9.0, NULL, 7.0]), ('b', [CAST('NaN' AS DOUBLE), 8.0]),
                         ('b', NULL), ('c', [6.0, 5.0, 4.0])) AS t(g, xs)
                         GROUP BY g) ORDER BY g";
        let b = ctx.sql(sql).await.unwrap().collect().await.unwrap();
        let b = arrow::compute::concat_batches(&b[0].schema(), &b).unwrap();
        // numpy.quantile([1, 2, 3, 4, 5], [0.5, 0.95]) = [3, 4.8];
        // numpy.quantile([7, 8, 9], [0.5, 0.95]) = [8, 8.9];
        // numpy.quantile([4, 5, 6], [0.5, 0.95]) = [5, 5.9].
        let want = [
            [3.0, 4.8, 5.0, 3.0],
            [8.0, 8.9, 9.0, 8.0],
            [5.0, 5.9, 6.0, 5.0],
        ];
        assert_eq!(b.num_rows(), 3);
        for (c, col) in (1..5).zip(0..4) {
            let got = b.column(c).as_primitive::<Float64Type>();
            for (row, w) in want.iter().enumerate() {
                let g = got.value(row);
                assert!(
                    (g - w[col]).abs() <= 1e-12,
                    "row {row} column {c}: {g} vs {}",
                    w[col]
                );
            }
        }
    }

    /// Two levels, as `sql/hourly/service_metrics.sql` uses them: sorted lists per (g, h), then
    /// `latency_summary` over the lists with each row counted for its h and for all (-1), equal
    /// the summaries of the raw values under GROUPING SETS per g and per (g, h).
    #[tokio::test]
    async fn summary_of_sorted_lists_equals_summary_of_values() {
        let mut rng = Rng::seed_from_u64(8);
        let schema = Arc::new(Schema::new(vec![
            Field::new("g", DataType::Utf8, false),
            Field::new("h", DataType::Int64, false),
            Field::new("x", DataType::Float64, true),
        ]));
        let parts: Vec<Vec<RecordBatch>> = (0..2)
            .map(|_| {
                let n = 6_000;
                vec![RecordBatch::try_new(
                    schema.clone(),
                    vec![
                        Arc::new(StringArray::from(
                            (0..n).map(|i| ["a", "b"][i % 2]).collect::<Vec<_>>(),
                        )),
                        Arc::new(arrow::array::Int64Array::from(
                            (0..n).map(|i| (i % 7 % 3) as i64).collect::<Vec<_>>(),
                        )),
                        Arc::new(Float64Array::from(
                            (0..n)
                                .map(|i| (i % 89 != 0).then(|| rng.lognormal(80.0, 1.1)))
                                .collect::<Vec<_>>(),
                        )),
                    ],
                )
                .unwrap()]
            })
            .collect();
        let ctx = SessionContext::new();
        register(&ctx);
        crate::query::sketch::register_all(&ctx);
        ctx.register_table("t", Arc::new(MemTable::try_new(schema, parts).unwrap()))
            .unwrap();
        let fields = "s['p50'], s['p95'], s['p99'], s['max'], s['mean'], \
                      ddsketch_count(s['sketch']), ddsketch_quantile(s['sketch'], 0.9)";
        let two_level = format!(
            "WITH v AS (SELECT g, h, latency_values(x) AS xs FROM t GROUP BY g, h)
             SELECT g, h, {fields}
             FROM (SELECT g, counted_as AS h, latency_summary(xs) AS s
                   FROM (SELECT *, unnest(make_array(h, -1)) AS counted_as FROM v)
                   GROUP BY g, counted_as)
             ORDER BY 1, 2"
        );
        let direct = format!(
            "SELECT g, h, {fields}
             FROM (SELECT g, CASE WHEN grouping(h) = 1 THEN -1 ELSE h END AS h,
                          latency_summary(x) AS s
                   FROM t GROUP BY GROUPING SETS ((g), (g, h)))
             ORDER BY 1, 2"
        );
        let run = |sql: String| {
            let ctx = ctx.clone();
            async move {
                let b = ctx.sql(&sql).await.unwrap().collect().await.unwrap();
                arrow::compute::concat_batches(&b[0].schema(), &b).unwrap()
            }
        };
        let (a, b) = (run(two_level).await, run(direct).await);
        assert_eq!(a.num_rows(), 8, "2 groups + 2 × 3 (g, h) groups");
        assert_eq!(a.column(0).as_ref(), b.column(0).as_ref());
        for c in 1..a.num_columns() {
            let x = arrow::compute::cast(a.column(c), &DataType::Float64).unwrap();
            let y = arrow::compute::cast(b.column(c), &DataType::Float64).unwrap();
            for (x, y) in x
                .as_primitive::<Float64Type>()
                .iter()
                .zip(y.as_primitive::<Float64Type>().iter())
            {
                let (x, y) = (x.unwrap(), y.unwrap());
                // The same values sorted the same way: equal up to nothing but the order of the
                // mean's sum, which is also the same.
                assert!(
                    (x - y).abs() <= 1e-12 * y.abs().max(1.0),
                    "column {c}: {x} vs {y}"
                );
            }
        }
    }

    /// Through SQL, on a table split into partitions (partial and final aggregation, and the
    /// grouped path), the struct's fields equal the separate aggregates over the same groups.
    #[tokio::test]
    async fn equals_separate_aggregates_in_sql() {
        let mut rng = Rng::seed_from_u64(7);
        let schema = Arc::new(Schema::new(vec![
            Field::new("g", DataType::Utf8, false),
            Field::new("x", DataType::Float64, true),
        ]));
        let parts: Vec<Vec<RecordBatch>> = (0..3)
            .map(|_| {
                let n = 5_000;
                let g: Vec<&str> = (0..n).map(|i| ["a", "b", "c", "d"][i % 4]).collect();
                let x: Vec<Option<f64>> = (0..n)
                    .map(|i| (i % 101 != 0).then(|| rng.lognormal(120.0, 0.9)))
                    .collect();
                vec![RecordBatch::try_new(
                    schema.clone(),
                    vec![
                        Arc::new(StringArray::from(g)),
                        Arc::new(Float64Array::from(x)),
                    ],
                )
                .unwrap()]
            })
            .collect();
        let ctx = SessionContext::new();
        register(&ctx);
        crate::query::sketch::register_all(&ctx);
        ctx.register_table("t", Arc::new(MemTable::try_new(schema, parts).unwrap()))
            .unwrap();
        let sql = "SELECT g, s['p50'] - p50 AS d50, s['p95'] - p95 AS d95, s['p99'] - p99 AS d99,
                          s['max'] - mx AS dmax, (s['mean'] - mn) / mn AS dmean,
                          ddsketch_count(s['sketch']) - n AS dn,
                          ddsketch_quantile(s['sketch'], 0.9) - ddsketch_quantile(sk, 0.9) AS d90
                   FROM (SELECT g, latency_summary(x) AS s,
                                percentile_cont(0.5) WITHIN GROUP (ORDER BY x) AS p50,
                                percentile_cont(0.95) WITHIN GROUP (ORDER BY x) AS p95,
                                percentile_cont(0.99) WITHIN GROUP (ORDER BY x) AS p99,
                                max(x) AS mx, avg(x) AS mn, count(x) AS n,
                                ddsketch(x) AS sk
                         FROM t GROUP BY g)
                   UNION ALL
                   SELECT '*', s['p50'] - p50, 0, 0, 0, 0, 0, 0
                   FROM (SELECT latency_summary(x) AS s,
                                percentile_cont(0.5) WITHIN GROUP (ORDER BY x) AS p50 FROM t)";
        let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
        let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
        assert_eq!(rows, 5);
        for b in &batches {
            for c in 1..b.num_columns() {
                let col = arrow::compute::cast(b.column(c), &DataType::Float64).unwrap();
                for v in col.as_primitive::<Float64Type>().iter() {
                    let v = v.expect("no NULL");
                    // percentile_cont quantises its interpolation weight to 1e-6 (values are
                    // ~100, neighbours ~0.1 apart) and avg sums in another order; the sketch
                    // has the same buckets as `ddsketch`.
                    assert!(v.abs() <= 1e-3, "column {c}: {v}");
                }
            }
        }
    }
}
