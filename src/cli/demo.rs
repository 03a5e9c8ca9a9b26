//! `postlaunch demo`: generate the post-launch scenario and ingest it, or write it as NDJSON.

use std::collections::BTreeMap;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use anyhow::Context;
use chrono::{NaiveDate, TimeZone, Utc};

use super::{thousands, CliError, LakeArgs};
use crate::demo::{self, ScenarioConfig, ALL_TABLES};

/// Generate a realistic post-launch scenario and ingest it into the lake.
///
/// Deterministic for a given seed: services and endpoints with lognormal latencies and error
/// bursts, hosts, databases and caches, web vitals, a purchase funnel and feature usage, an A/B
/// experiment with a real effect, feedback and NPS, deployments (one regresses checkout p95 by
/// about 30%), an incident, and a few malformed records that end in `_rejected`.
///
/// Running it twice into the same lake stores nothing twice.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub lake: LakeArgs,
    /// Random seed; the same seed gives the same data.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Days of data (two weeks give a week-over-week comparison).
    #[arg(long, default_value_t = 14, value_parser = clap::value_parser!(u32).range(1..=366))]
    pub days: u32,
    /// Volume multiplier (1.0 ≈ 25k requests per day).
    #[arg(long, default_value_t = 1.0)]
    pub scale: f64,
    /// Launch day (UTC midnight), YYYY-MM-DD.
    #[arg(long, default_value = "2026-11-02")]
    pub start: NaiveDate,
    /// Only these tables (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub tables: Vec<String>,
    /// Leave out the four hostile records (markup, right-to-left text, emoji and a very long
    /// route in valid events, which every page and report must show as text).
    #[arg(long)]
    pub no_hostile: bool,
    /// Leave out the malformed records.
    #[arg(long)]
    pub no_malformed: bool,
    /// Skew the experiment's split 55/45 (a sample-ratio mismatch, for testing SRM checks).
    #[arg(long)]
    pub srm_skew: bool,
    /// Write `DIR/<table>.ndjson` files instead of ingesting.
    #[arg(long, value_name = "DIR", conflicts_with = "to_kafka")]
    pub emit: Option<PathBuf>,
    /// Publish the scenario to Kafka instead (topic per table: `<prefix><table>`), e.g.
    /// `--to-kafka 127.0.0.1:9092`. Also the load generator of the benchmarks.
    #[arg(long, value_name = "BROKERS")]
    pub to_kafka: Option<String>,
    /// Topic name prefix for --to-kafka.
    #[arg(long, default_value = "", value_name = "PREFIX")]
    pub topic_prefix: String,
    /// Extra librdkafka producer options for --to-kafka, `key=value` (repeatable).
    #[arg(long = "producer-option", value_name = "KEY=VALUE")]
    pub producer_options: Vec<String>,
}

fn config(args: &Args) -> Result<ScenarioConfig, CliError> {
    if !(args.scale.is_finite() && args.scale > 0.0 && args.scale <= 1000.0) {
        return Err(CliError::Usage(format!(
            "--scale is {}, expected a number in (0, 1000]",
            args.scale
        )));
    }
    for t in &args.tables {
        if !ALL_TABLES.contains(&t.as_str()) {
            return Err(CliError::Usage(format!(
                "--tables: unknown table `{t}`, expected some of {}",
                ALL_TABLES.join(", ")
            )));
        }
    }
    let start = args
        .start
        .and_hms_opt(0, 0, 0)
        .map(|d| Utc.from_utc_datetime(&d))
        .ok_or_else(|| CliError::Usage(format!("--start `{}` is not a valid date", args.start)))?;
    Ok(ScenarioConfig {
        seed: args.seed,
        days: args.days,
        scale: args.scale,
        start,
        tables: args.tables.clone(),
        srm_skew: args.srm_skew,
        malformed: !args.no_malformed,
        hostile: !args.no_hostile,
    })
}

pub fn run(args: Args, quiet: bool) -> anyhow::Result<()> {
    let cfg = config(&args)?;
    if let Some(brokers) = &args.to_kafka {
        return to_kafka(
            &cfg,
            brokers,
            &args.topic_prefix,
            &args.producer_options,
            quiet,
        );
    }
    match &args.emit {
        Some(dir) => emit(&cfg, dir, quiet),
        None => ingest(&cfg, &args.lake, quiet),
    }
}

fn to_kafka(
    cfg: &ScenarioConfig,
    brokers: &str,
    prefix: &str,
    options: &[String],
    quiet: bool,
) -> anyhow::Result<()> {
    use rdkafka::error::{KafkaError, RDKafkaErrorCode};
    use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};

    let mut client = rdkafka::config::ClientConfig::new();
    client
        .set("bootstrap.servers", brokers)
        .set("linger.ms", "20")
        .set("batch.size", "1000000")
        .set("compression.type", "lz4")
        .set("queue.buffering.max.kbytes", "262144")
        .set("message.timeout.ms", "60000");
    for o in options {
        let (k, v) = o.split_once('=').ok_or_else(|| {
            CliError::Usage(format!("--producer-option `{o}` is not `key=value`"))
        })?;
        client.set(k, v);
    }
    let producer: ThreadedProducer<DefaultProducerContext> =
        client.create().context("creating the Kafka producer")?;
    let started = std::time::Instant::now();
    let mut counters: BTreeMap<String, u64> = BTreeMap::new();
    let bar = super::progress_bar(None, quiet, "{spinner} publishing {pos} records {per_sec}");
    demo::generate(cfg, &mut |table, line| {
        let topic = format!("{prefix}{table}");
        let n = counters.entry(table.to_string()).or_default();
        *n += 1;
        // keys spread records over partitions (the default partitioner hashes the key)
        let k = n.to_string();
        let mut record = BaseRecord::<[u8], [u8]>::to(&topic)
            .key(k.as_bytes())
            .payload(line);
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    record = back;
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                Err((e, _)) => return Err(anyhow::anyhow!("publishing to `{topic}`: {e}")),
            }
        }
        bar.inc(1);
        Ok(())
    })?;
    producer
        .flush(std::time::Duration::from_secs(120))
        .context("waiting for Kafka to acknowledge every record")?;
    bar.finish_and_clear();
    if !quiet {
        let total: u64 = counters.values().sum();
        let secs = started.elapsed().as_secs_f64();
        for (t, n) in &counters {
            eprintln!("  {prefix}{t}: {} records", thousands(*n));
        }
        eprintln!(
            "published {} records to {brokers} in {secs:.1} s ({:.0}/s)",
            thousands(total),
            total as f64 / secs
        );
    }
    Ok(())
}

fn emit(cfg: &ScenarioConfig, dir: &std::path::Path, quiet: bool) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating `{}`", dir.display()))?;
    let mut files: BTreeMap<String, BufWriter<std::fs::File>> = BTreeMap::new();
    let scenario = demo::generate(cfg, &mut |table, line| {
        let w = match files.get_mut(table) {
            Some(w) => w,
            None => {
                let path = dir.join(format!("{table}.ndjson"));
                let f = std::fs::File::create(&path)
                    .with_context(|| format!("creating `{}`", path.display()))?;
                files
                    .entry(table.to_string())
                    .or_insert(BufWriter::with_capacity(1 << 20, f))
            }
        };
        w.write_all(line)?;
        w.write_all(b"\n")?;
        Ok(())
    })?;
    for (_, mut w) in files {
        w.flush()?;
    }
    if !quiet {
        for (table, n) in &scenario.records {
            eprintln!(
                "{}: {} lines",
                dir.join(format!("{table}.ndjson")).display(),
                thousands(*n)
            );
        }
    }
    Ok(())
}

fn ingest(cfg: &ScenarioConfig, lake_args: &LakeArgs, quiet: bool) -> anyhow::Result<()> {
    let catalog = lake_args.catalog()?;
    let lake = &lake_args.path();
    let started = std::time::Instant::now();
    let tables = if cfg.tables.is_empty() {
        ALL_TABLES.len()
    } else {
        cfg.tables.len()
    };
    let bar = super::progress_bar(
        Some(tables as u64),
        quiet,
        "{spinner} demo: {msg} [{bar:20}] {pos}/{len} tables",
    );
    let mut first = true;
    let done = demo::ingest::into_lake(cfg, lake, &catalog, |table| {
        if !first {
            bar.inc(1);
        }
        first = false;
        bar.set_message(table.to_string());
    })?;
    let lines: Vec<String> = done
        .reports
        .iter()
        .map(|r| {
            super::ingest::summary(r)
                .lines()
                .next()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    let scenario = done.scenario;
    bar.finish_and_clear();
    if quiet {
        return Ok(());
    }
    eprintln!(
        "demo lake at `{}` ({:.1} s):",
        lake.display(),
        started.elapsed().as_secs_f64()
    );
    for l in &lines {
        eprintln!("  {l}");
    }
    if let Some(s) = scenario {
        eprintln!(
            "\nscenario (seed {}): {} → {}; regressing deployment {} completed {} (p95 ×{:.2}); rolled back {}; incident {} ({}) on {}; experiment `{}` ({}), treatment lift {:+.0}% on checkout→purchase; new feature `{}` from {}",
            cfg.seed,
            s.start.format("%Y-%m-%d"),
            s.end.format("%Y-%m-%d"),
            s.regressing_deployment,
            s.regression_completed_at.format("%Y-%m-%d %H:%M UTC"),
            s.regression_factor,
            s.rolled_back_deployment,
            s.incident_id,
            s.incident_severity,
            s.incident_service,
            s.experiment,
            s.variants.join("/"),
            s.treatment_lift * 100.0,
            s.new_feature,
            s.new_feature_launched_at.format("%Y-%m-%d"),
        );
    }
    let lake_flag = if lake == std::path::Path::new("./lake") {
        String::new()
    } else {
        format!(" --lake {}", lake.display())
    };
    println!(
        "\nTry:\n  postlaunch sql{lake_flag} \"SELECT service, count(*) AS requests, approx_percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms) AS p95_ms FROM requests GROUP BY service ORDER BY p95_ms DESC\"\n  postlaunch sql{lake_flag} \"SELECT date, count(*) FILTER (WHERE status >= 500) * 1.0 / count(*) AS error_rate FROM requests WHERE service = 'checkout' GROUP BY date ORDER BY date\"\n  postlaunch sql{lake_flag} \"SELECT json_get_str(properties, 'currency') AS currency, count(*) AS purchases, sum(revenue) AS revenue FROM events WHERE event = 'purchase' GROUP BY 1\"\n\n  and what was rejected: postlaunch sql{lake_flag} \"SELECT target_table, position, reason FROM _rejected\""
    );
    Ok(())
}
