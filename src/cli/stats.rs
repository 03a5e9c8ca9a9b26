//! `postlaunch stats eval`: the statistics of `src/stats/` as a JSON filter, so the Python test
//! suite can check every test statistic, p-value and interval against SciPy
//! (`tests/python/test_stats.py`). Hidden from `--help`: an oracle interface, not a user tool.

use std::io::{Read, Write};

use anyhow::Context;
use serde::Deserialize;
use serde_json::{json, Value};

use super::CliError;
use crate::stats::{self, multiple, power, rank, sequential, srm, CoMoments, Moments};

/// Internal: evaluate statistics requests (JSON on stdin) for the SciPy oracle tests.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: StatsCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum StatsCommand {
    /// Read a JSON array of requests on stdin, e.g.
    /// `[{"test": "welch", "control": [1, 2, 3], "treatment": [2, 3, 5], "alpha": 0.05}]`,
    /// and print a JSON array with one result (or `{"error": …}`) per request.
    Eval,
}

/// Ratio-metric arm: per-unit numerators and denominators.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PairedSample {
    x: Vec<f64>,
    y: Vec<f64>,
}

fn default_alpha() -> f64 {
    0.05
}

/// One request; `test` selects the variant.
#[derive(Debug, Deserialize)]
#[serde(tag = "test", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    Welch {
        control: Vec<f64>,
        treatment: Vec<f64>,
        #[serde(default = "default_alpha")]
        alpha: f64,
    },
    TwoProportion {
        x_control: u64,
        n_control: u64,
        x_treatment: u64,
        n_treatment: u64,
        #[serde(default = "default_alpha")]
        alpha: f64,
    },
    Ratio {
        control: PairedSample,
        treatment: PairedSample,
        #[serde(default = "default_alpha")]
        alpha: f64,
    },
    Quantile {
        control: Vec<f64>,
        treatment: Vec<f64>,
        q: f64,
        #[serde(default = "default_alpha")]
        alpha: f64,
    },
    ClusteredQuantile {
        control: Vec<(f64, u64)>,
        treatment: Vec<(f64, u64)>,
        q: f64,
        #[serde(default = "default_alpha")]
        alpha: f64,
    },
    MannWhitney {
        control: Vec<f64>,
        treatment: Vec<f64>,
    },
    Chisquare {
        observed: Vec<u64>,
        shares: Vec<f64>,
    },
    Bh {
        p: Vec<f64>,
    },
    Holm {
        p: Vec<f64>,
    },
    Power {
        effect: f64,
        se: f64,
        #[serde(default = "default_alpha")]
        alpha: f64,
    },
    Mde {
        se: f64,
        #[serde(default = "default_alpha")]
        alpha: f64,
        #[serde(default = "default_power")]
        power: f64,
    },
    Sequential {
        effect: f64,
        se: f64,
        tau: f64,
        #[serde(default = "default_alpha")]
        alpha: f64,
    },
    /// The anomaly rules' baseline: median and MAD of `x`, and the robust z of `at`.
    Robust {
        x: Vec<f64>,
        at: f64,
    },
}

fn default_power() -> f64 {
    power::DEFAULT_POWER
}

fn to_json<T: serde::Serialize>(r: Result<T, stats::StatsError>) -> Value {
    match r {
        Ok(v) => serde_json::to_value(v).unwrap_or_else(|e| json!({ "error": e.to_string() })),
        Err(e) => json!({ "error": e.to_string() }),
    }
}

/// Evaluates one request.
pub fn eval(req: Request) -> Value {
    match req {
        Request::Welch {
            control,
            treatment,
            alpha,
        } => {
            let r = stats::welch(&Moments::of(&control), &Moments::of(&treatment), alpha);
            let significant = r.as_ref().map(|c| c.significant()).unwrap_or(false);
            with_significant(to_json(r), significant)
        }
        Request::TwoProportion {
            x_control,
            n_control,
            x_treatment,
            n_treatment,
            alpha,
        } => {
            let r = stats::two_proportion(x_control, n_control, x_treatment, n_treatment, alpha);
            let significant = r.as_ref().map(|c| c.significant()).unwrap_or(false);
            with_significant(to_json(r), significant)
        }
        Request::Ratio {
            control,
            treatment,
            alpha,
        } => {
            let r = stats::ratio_delta(
                &CoMoments::of(&control.x, &control.y),
                &CoMoments::of(&treatment.x, &treatment.y),
                alpha,
            );
            let significant = r.as_ref().map(|c| c.significant()).unwrap_or(false);
            with_significant(to_json(r), significant)
        }
        Request::Quantile {
            control,
            treatment,
            q,
            alpha,
        } => {
            let r = stats::quantile_test(&control, &treatment, q, alpha);
            let significant = r.as_ref().map(|c| c.significant()).unwrap_or(false);
            with_significant(to_json(r), significant)
        }
        Request::ClusteredQuantile {
            control,
            treatment,
            q,
            alpha,
        } => {
            let r = stats::clustered_quantile_test(&control, &treatment, q, alpha);
            let significant = r.as_ref().map(|c| c.significant()).unwrap_or(false);
            with_significant(to_json(r), significant)
        }
        Request::MannWhitney { control, treatment } => {
            to_json(rank::mann_whitney(&control, &treatment))
        }
        Request::Chisquare { observed, shares } => to_json(srm::chi_square_gof(&observed, &shares)),
        Request::Bh { p } => json!({ "adjusted": multiple::benjamini_hochberg(&p) }),
        Request::Holm { p } => json!({ "adjusted": multiple::holm(&p) }),
        Request::Power { effect, se, alpha } => {
            json!({ "power": power::power(effect, se, alpha) })
        }
        Request::Robust { x, at } => match stats::robust::Baseline::of(&x) {
            Some(b) => {
                json!({ "median": b.median, "mad": b.mad, "sigma": b.sigma(), "z": b.z(at) })
            }
            None => json!({ "error": "no values" }),
        },
        Request::Mde { se, alpha, power } => json!({ "mde": power::mde(se, alpha, power) }),
        Request::Sequential {
            effect,
            se,
            tau,
            alpha,
        } => to_json::<sequential::ConfidenceSequence>(Ok(sequential::normal_mixture(
            effect, se, alpha, tau,
        ))),
    }
}

fn with_significant(mut v: Value, significant: bool) -> Value {
    if let Some(o) = v.as_object_mut() {
        if !o.contains_key("error") {
            o.insert("significant".into(), Value::Bool(significant));
        }
    }
    v
}

pub fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
        StatsCommand::Eval => {
            let mut input = String::new();
            std::io::stdin()
                .read_to_string(&mut input)
                .context("reading requests from stdin")?;
            let requests: Vec<Request> = serde_json::from_str(&input).map_err(|e| {
                CliError::Usage(format!(
                    "stdin is not a JSON array of statistics requests: {e}"
                ))
            })?;
            let results: Vec<Value> = requests.into_iter().map(eval).collect();
            let mut out = std::io::stdout().lock();
            serde_json::to_writer(&mut out, &results)?;
            writeln!(out)?;
            Ok(())
        }
    }
}
