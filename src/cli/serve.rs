//! `postlaunch serve`: the dashboards in the browser.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use super::{CliError, LakeArgs};
use crate::alert::config::AlertsFile;
use crate::config::ConfigFile;
use crate::experiment::config::ExperimentsFile;
use crate::incident::config::{IncidentsConfig, IncidentsFile};

/// Dashboards in the browser, read live from the lake: Overview (firing alerts, SLOs and error
/// budgets, key numbers week over week), Application (service → endpoint → version, deployments
/// marked), Infrastructure, Database, Dependencies & cache, User experience (Core Web Vitals),
/// Business (users, conversion, revenue, funnels, adoption, NPS), Experiments & deployments, and
/// Incidents. Every view is a URL: the range (`range=24h|7d|30d`, or `from=…&to=…`) and the
/// drill-down are in its query, so a link can be pasted into an incident channel.
///
/// Presets end at the lake's latest hour of data. Read-only; a page reflects the lake's latest
/// commit without a restart. Listens on 127.0.0.1 unless told otherwise; any other address needs
/// a token (--auth-token or POSTLAUNCH_SERVE_TOKEN), sent as `Authorization: Bearer TOKEN` or set
/// in the browser once by opening /login?token=TOKEN. Each page's server time is in its
/// `Server-Timing` header.
///
/// Exit codes: 0 stopped by Ctrl-C / SIGTERM; 64 bad usage (an exposed address without a token,
/// a missing lake, an address in use); 78 bad rules or experiments file.
///
/// Examples:
///   postlaunch serve --lake lake
///   postlaunch serve --lake lake --listen 127.0.0.1:9000 --experiments pipelines/experiments.toml
///   POSTLAUNCH_SERVE_TOKEN=$(openssl rand -hex 16) postlaunch serve --listen 0.0.0.0:8080
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    #[command(flatten)]
    pub lake: LakeArgs,
    /// Address to listen on (port 0: any free port, printed at start).
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR:PORT")]
    pub listen: SocketAddr,
    /// Token every request must carry; required when --listen is not a loopback address.
    #[arg(
        long,
        env = "POSTLAUNCH_SERVE_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub auth_token: Option<String>,
    /// Rules file: the SLOs of the Overview and the incident SLOs [default:
    /// pipelines/alerts.toml when it exists, else the built-in rules].
    #[arg(long, env = "POSTLAUNCH_ALERTS", value_name = "FILE")]
    pub rules: Option<PathBuf>,
    /// Experiments file, for the experiments' readouts [default: pipelines/experiments.toml
    /// when it exists].
    #[arg(long, env = "POSTLAUNCH_EXPERIMENTS", value_name = "FILE")]
    pub experiments: Option<PathBuf>,
}

/// `path`, or `default` when that file exists.
fn file_or_default(path: Option<&PathBuf>, default: &str) -> Option<PathBuf> {
    path.cloned()
        .or_else(|| Path::new(default).is_file().then(|| PathBuf::from(default)))
}

pub fn run(args: Args, quiet: bool) -> anyhow::Result<()> {
    let catalog = args.lake.catalog()?;
    let lake = args.lake.path();
    if !lake.is_dir() {
        return Err(CliError::Usage(format!(
            "--lake `{}` is not a folder; run `postlaunch demo` (and `postlaunch hourly --all`) to make one",
            lake.display()
        ))
        .into());
    }
    let rules_path = file_or_default(args.rules.as_ref(), "pipelines/alerts.toml");
    let (rules, incidents) = match &rules_path {
        Some(p) => (
            AlertsFile::load(p).map_err(CliError::config)?,
            IncidentsFile::load_incidents(p).map_err(CliError::config)?,
        ),
        None => (AlertsFile::builtin(), IncidentsConfig::default()),
    };
    let experiments = file_or_default(args.experiments.as_ref(), "pipelines/experiments.toml")
        .map(|p| ExperimentsFile::load_experiments(&p).map_err(CliError::config))
        .transpose()?;
    let opts = crate::serve::Options {
        lake: lake.clone(),
        catalog,
        listen: args.listen,
        token: args.auth_token.filter(|t| !t.is_empty()),
        rules,
        incidents,
        experiments,
    };
    crate::serve::check(&opts).map_err(CliError::usage)?;
    let tokened = opts.token.is_some();
    let runtime = super::runtime()?;
    runtime.block_on(async move {
        crate::serve::serve(
            opts,
            |addr| {
                if !quiet {
                    eprintln!(
                        "serving the dashboards of lake {} on http://{addr}/{} (Ctrl-C stops)",
                        lake.display(),
                        if tokened {
                            " — a token is required: open /login?token=TOKEN once, or send Authorization: Bearer TOKEN"
                        } else {
                            ""
                        }
                    );
                }
            },
            super::ingest::shutdown_signal(),
        )
        .await
        .map_err(|e| match e {
            e @ (crate::serve::ServeError::Bind { .. }
            | crate::serve::ServeError::Exposed(_)
            | crate::serve::ServeError::Query(_)) => anyhow::Error::from(CliError::usage(e)),
            e => e.into(),
        })
    })
}
