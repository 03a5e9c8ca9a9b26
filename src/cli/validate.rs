//! `postlaunch validate`: check pipeline files without starting anything.

use std::path::PathBuf;

use super::{CliError, LakeArgs};
use crate::config::ConfigFile;
use crate::config::PipelineConfig;
use crate::source::kafka::loggable_options;

/// Check pipeline files (`pipelines/*.toml`): syntax, unknown keys, referenced tables and
/// environment variables, cross-field rules. Exit 0 when all are valid, 78 otherwise.
///
/// `experiments.toml` (A/B experiments), `optimizations.toml` (deployment hypotheses) and
/// `funnels.toml` (funnels) are recognised by their file name and checked against their own rules.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub lake: LakeArgs,
    /// Pipeline files.
    #[arg(required = true, value_name = "PIPELINE.toml")]
    pub files: Vec<PathBuf>,
}

pub fn run(args: Args, quiet: bool) -> anyhow::Result<()> {
    let catalog = args.lake.catalog()?;
    let mut failures = Vec::new();
    for f in &args.files {
        match f.file_stem().and_then(|s| s.to_str()) {
            Some(stem) if stem.starts_with("experiments") => {
                match crate::experiment::config::ExperimentsFile::load_experiments(f) {
                    Ok(exps) => {
                        if !quiet {
                            let keys: Vec<String> = exps
                                .iter()
                                .map(|e| format!("{} ({} metrics)", e.key, e.metrics.len()))
                                .collect();
                            println!("{}: ok — experiments {}", f.display(), keys.join(", "));
                        }
                    }
                    Err(e) => {
                        eprintln!("{e}");
                        failures.push(f.display().to_string());
                    }
                }
                continue;
            }
            Some(stem) if stem.starts_with("funnels") => {
                match crate::funnel::config::FunnelsFile::load(f) {
                    Ok(file) => {
                        if !quiet {
                            let names: Vec<String> = file
                                .funnels
                                .iter()
                                .map(|x| format!("{} ({} steps)", x.name, x.steps.len()))
                                .collect();
                            println!("{}: ok — funnels {}", f.display(), names.join(", "));
                        }
                    }
                    Err(e) => {
                        eprintln!("{e}");
                        failures.push(f.display().to_string());
                    }
                }
                continue;
            }
            Some(stem) if stem.starts_with("optimizations") => {
                match crate::impact::config::OptimizationsFile::load(f) {
                    Ok(file) => {
                        if !quiet {
                            let changes: Vec<String> = file
                                .optimizations
                                .iter()
                                .map(|o| format!("{} ({})", o.change_id, o.deployment))
                                .collect();
                            println!("{}: ok — optimizations {}", f.display(), changes.join(", "));
                        }
                    }
                    Err(e) => {
                        eprintln!("{e}");
                        failures.push(f.display().to_string());
                    }
                }
                continue;
            }
            _ => {}
        }
        match PipelineConfig::load(f, &catalog) {
            Ok(cfg) => {
                if !quiet {
                    let topics: Vec<String> = cfg
                        .topics
                        .iter()
                        .map(|t| format!("{} → {}", t.topic, t.table))
                        .collect();
                    println!(
                        "{}: ok — brokers {}, group `{}`, lake `{}`, {}; options {:?}",
                        f.display(),
                        cfg.kafka.brokers,
                        cfg.kafka.group_id,
                        cfg.lake.display(),
                        topics.join(", "),
                        loggable_options(&cfg)
                    );
                }
            }
            Err(e) => {
                eprintln!("{e}");
                failures.push(f.display().to_string());
            }
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(CliError::Config(format!("invalid pipeline files: {}", failures.join(", "))).into())
    }
}
