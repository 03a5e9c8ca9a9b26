//! # postlaunch
//!
//! Stream-processing analytics for the weeks after a launch. Events flow through stages, one
//! module each, in this order:
//!
//! ```text
//!  source ──RawChunk──▶ batch ──DecodedChunk──▶ lake ──Parquet files + commit log──▶ query
//!  (files, stdin,       (scan, arrow-json,      (hour partitions, ZSTD,            (DataFusion SQL
//!   Kafka)               validate, _rejected)    atomic commits, compaction)         over the lake)
//! ```
//!
//! * [`units`]: human sizes, durations and times, as settings give them.
//! * [`schema`]: the event schemas (`schemas/*.schema.json`), from which every Arrow schema and
//!   validation rule is derived at run time.
//! * [`source`]: cuts input into [`source::RawChunk`]s, raw bytes with their source positions.
//! * [`batch`]: decodes a chunk into a typed Arrow `RecordBatch` of one table plus rejections.
//! * [`lake`]: buffers batches per hour, writes Parquet, commits files with the positions they
//!   cover (exactly-once), compacts closed hours.
//! * [`config`]: pipeline files (`pipelines/*.toml`), validated at load.
//! * [`pipeline`]: runs source → batch → lake with bounded channels and worker threads, for files
//!   and for Kafka (exactly once: the lake's commit log drives the consumer's positions).
//! * [`metrics`]: the pipeline's own Prometheus metrics.
//! * [`query`]: a DataFusion session over the lake; read-only SQL; postlaunch's SQL functions.
//! * [`hourly`]: the hourly job — `sql/hourly/` per closed hour into `hourly_*` lake tables,
//!   daily/weekly roll-ups from them (merged DDSketches), baselines and regressions, late data.
//! * [`stats`]: plain-number statistics (Welch, two-proportion, delta method, quantiles,
//!   Mann–Whitney, SRM, multiple testing, power, confidence sequences); no Arrow past here.
//! * [`experiment`]: A/B readouts: `sql/experiment/` queries give hourly per-arm sufficient
//!   statistics, [`stats`] turns them into effects, intervals and verdicts (`experiment_results`).
//! * [`funnel`]: funnels (`pipelines/funnels.toml`): a per-user ordered scan (a DataFusion
//!   aggregate over each user's events), summed into per-step users, conversion and drop-off.
//! * [`impact`]: deployment impact (after against before, canary against baseline) and the
//!   hypotheses of `pipelines/optimizations.toml` (`deployment_impact`).
//! * [`trends`]: one period against another (week over week, the monthly review) from the hourly
//!   tables (`weekly_trends`, `monthly_review`).
//! * [`opportunities`]: candidate optimisations of a period with their measured reach
//!   (`opportunities`), the input of the backlog.
//! * [`alert`]: the alert rules (`pipelines/alerts.toml`, P1–P4) evaluated on event time by a
//!   sequential test ([`stats::cusum`]); state transitions out, for replay and the live path.
//! * [`incident`]: incidents (`incidents` events: opened by P1/P2 alerts or by people) measured
//!   against the protocol's SLOs (`incident_metrics`), blind spots, post-mortem skeletons.
//! * [`notify`]: the transitions routed to people (PagerDuty, Slack, e-mail, Alertmanager,
//!   webhooks) through a queue on disk, with grouping, inhibition and retries.
//! * [`backlog`]: the RICE-ranked optimisation backlog of a period (`optimization_backlog`) from
//!   `sql/backlog/` and the stored opportunities; its top published as GitHub issues.
//! * [`optimizations`]: each optimisation's lifecycle (proposed → shipped → measured → kept or
//!   reverted), measured 48 hours after shipping by `postlaunch run`; a backfire is a P3 alert.
//! * [`assess`]: the Phase 8 completion assessment — every criterion with its evidence and
//!   verdict, and the decision (`phase8_assessment`).
//! * [`view`]: what people read without a terminal: reports (weekly, monthly, an experiment, a
//!   deployment, an incident) as self-contained HTML and Markdown documents with SVG charts,
//!   built from the analyses' own functions, and the dashboards' pages (`sql/dashboard/`).
//! * [`serve`]: the dashboards over HTTP (`postlaunch serve`): read-only, live from the lake,
//!   loopback unless a token is required, a strict Content-Security-Policy.
//! * [`report`]: what people read: number formatting and aligned tables shared by every report
//!   and the command line.
//! * [`demo`]: a deterministic, realistic post-launch scenario (the demo and the test data).
//! * [`cli`]: the `postlaunch` command line.

pub mod units;

pub mod schema;

pub mod config;

pub mod source;

pub mod batch;

pub mod lake;

pub mod pipeline;

pub mod metrics;

pub mod query;

pub mod hourly;

pub mod stats;

pub mod experiment;

pub mod funnel;

pub mod impact;

pub mod trends;

pub mod opportunities;

pub mod alert;

pub mod incident;

pub mod notify;

pub mod backlog;

pub mod optimizations;

pub mod assess;

pub mod view;

pub mod serve;

pub mod report;

pub mod demo;

pub mod cli;
