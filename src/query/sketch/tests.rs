//! Tests of the SQL functions on an in-memory table of four partitions, so the aggregates run as
//! partial + final (state = serialized sketch through `merge_batch`). The sketch itself is tested
//! in `crate::stats::ddsketch`.

use super::*;
use crate::demo::rng::Rng;
use crate::stats::ddsketch::tests::{sketch_of, without_sum};
use crate::stats::ddsketch::DEFAULT_ALPHA;
use arrow::array::{BinaryArray, Float64Array, StringArray};
use arrow::datatypes::Schema;
use arrow::record_batch::RecordBatch;
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionConfig;

async fn session(xs: &[(&str, f64)]) -> SessionContext {
    let schema = Arc::new(Schema::new(vec![
        Field::new("service", DataType::Utf8, false),
        Field::new("duration_ms", DataType::Float64, true),
    ]));
    let partitions: Vec<Vec<RecordBatch>> = xs
        .chunks(xs.len().div_ceil(4))
        .map(|c| {
            let s = StringArray::from_iter_values(c.iter().map(|r| r.0));
            let d = Float64Array::from_iter_values(c.iter().map(|r| r.1));
            vec![RecordBatch::try_new(schema.clone(), vec![Arc::new(s), Arc::new(d)]).unwrap()]
        })
        .collect();
    let ctx = SessionContext::new_with_config(SessionConfig::new().with_target_partitions(4));
    crate::query::udf::register_all(&ctx);
    let table = MemTable::try_new(schema, partitions).unwrap();
    ctx.register_table("requests", Arc::new(table)).unwrap();
    ctx
}

async fn rows(ctx: &SessionContext, sql: &str) -> Vec<RecordBatch> {
    ctx.sql(sql).await.unwrap().collect().await.unwrap()
}

async fn error(ctx: &SessionContext, sql: &str) -> String {
    let r = match ctx.sql(sql).await {
        Ok(df) => df.collect().await.map(|_| ()),
        Err(e) => Err(e),
    };
    r.expect_err(sql).to_string()
}

#[tokio::test]
async fn group_by_quantiles_match_the_rust_sketch_after_partial_aggregation() {
    let mut rng = Rng::seed_from_u64(18);
    let data: Vec<(&str, f64)> = (0..20_000)
        .map(|i| {
            let service = ["api", "checkout", "search"][i % 3];
            (service, rng.lognormal(100.0 + 50.0 * (i % 3) as f64, 0.7))
        })
        .collect();
    let ctx = session(&data).await;
    let batches = rows(
        &ctx,
        "SELECT service, ddsketch(duration_ms) AS s, \
         ddsketch_quantile(ddsketch(duration_ms), 0.95) AS p95 \
         FROM requests GROUP BY service ORDER BY service",
    )
    .await;
    let mut seen = 0;
    for b in &batches {
        let services = b.column(0).as_string::<i32>();
        let sketches = b.column(1).as_any().downcast_ref::<BinaryArray>().unwrap();
        let p95 = b.column(2).as_primitive::<arrow::datatypes::Float64Type>();
        for i in 0..b.num_rows() {
            let xs: Vec<f64> = data
                .iter()
                .filter(|r| r.0 == services.value(i))
                .map(|r| r.1)
                .collect();
            let expected = sketch_of(DEFAULT_ALPHA, &xs);
            let got = DDSketch::from_bytes(sketches.value(i)).unwrap();
            assert_eq!(without_sum(&got), without_sum(&expected));
            assert_eq!(p95.value(i), expected.quantile(0.95).unwrap().unwrap());
            seen += 1;
        }
    }
    assert_eq!(seen, 3);

    // Merging per-service sketches gives the sketch of everything.
    let merged = rows(
        &ctx,
        "SELECT ddsketch_merge(s) AS m, sum(ddsketch_count(s)) AS n FROM \
         (SELECT service, ddsketch(duration_ms) AS s FROM requests GROUP BY service)",
    )
    .await;
    let m = merged[0]
        .column(0)
        .as_any()
        .downcast_ref::<BinaryArray>()
        .unwrap();
    let all: Vec<f64> = data.iter().map(|r| r.1).collect();
    assert_eq!(
        without_sum(&DDSketch::from_bytes(m.value(0)).unwrap()),
        without_sum(&sketch_of(DEFAULT_ALPHA, &all))
    );
    let n = merged[0]
        .column(1)
        .as_primitive::<arrow::datatypes::Int64Type>();
    assert_eq!(n.value(0), 20_000);
}

#[tokio::test]
async fn nulls_empty_groups_and_bad_arguments() {
    let ctx = session(&[("api", 1.0), ("api", 1.0), ("api", 2.0)]).await;
    let b = rows(
        &ctx,
        "SELECT ddsketch(duration_ms) IS NULL AS empty, \
         ddsketch_quantile(NULL, 0.5) IS NULL AS null_sketch, \
         ddsketch_count(ddsketch(duration_ms)) IS NULL AS null_count \
         FROM requests WHERE duration_ms > 100",
    )
    .await;
    for c in 0..3 {
        assert!(b[0].column(c).as_boolean().value(0), "column {c}");
    }
    let b = rows(
        &ctx,
        "SELECT ddsketch_quantile(ddsketch(duration_ms), 1) AS q, \
         ddsketch_quantile(ddsketch(duration_ms), CAST(NULL AS DOUBLE)) IS NULL AS n \
         FROM requests",
    )
    .await;
    assert_eq!(
        b[0].column(0)
            .as_primitive::<arrow::datatypes::Float64Type>()
            .value(0),
        2.0
    );
    assert!(b[0].column(1).as_boolean().value(0));

    let e = error(
        &ctx,
        "SELECT ddsketch_quantile(ddsketch(duration_ms), 1.5) FROM requests",
    )
    .await;
    assert!(e.contains("quantile 1.5 is out of range"), "{e}");
    let e = error(&ctx, "SELECT ddsketch_quantile(X'0102', 0.5)").await;
    assert!(e.contains("bad sketch bytes"), "{e}");
    let e = error(&ctx, "SELECT ddsketch_merge(duration_ms) FROM requests").await;
    assert!(e.contains("ddsketch_merge takes one BINARY"), "{e}");
    // DataFusion plans a lone DISTINCT aggregate as a GROUP BY, so this sketches {1, 2};
    // the accumulator itself refuses DISTINCT rather than sketch every row.
    let b = rows(
        &ctx,
        "SELECT ddsketch_count(ddsketch(DISTINCT duration_ms)) AS n FROM requests",
    )
    .await;
    assert_eq!(
        b[0].column(0)
            .as_primitive::<arrow::datatypes::Int64Type>()
            .value(0),
        2
    );
    let e = error(&ctx, "SELECT ddsketch(service) FROM requests").await;
    assert!(e.contains("ddsketch takes one numeric"), "{e}");
}
