//! `postlaunch sql`: read-only SQL over the lake.

use std::io::{BufRead, IsTerminal, Read, Write};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;

use super::{CliError, LakeArgs};
use crate::query::sql;
use crate::query::LakeSession;
use crate::report::table::{self as output, Format};

/// Run read-only SQL (DataFusion dialect) over the lake.
///
/// Every folder of the lake is a table, with partition columns `date` ('YYYY-MM-DD') and `hour`
/// ('00'..'23', UTC): filter on them to read only those folders. Event tables: requests, metrics,
/// web_vitals, events, exposures, feedback, deployments, incidents; rejected records: _rejected.
/// `events.properties` is JSON text: json_get_str(properties, 'key'), json_get_num(...).
///
/// Without QUERY or -f, statements are read from stdin (an interactive prompt on a terminal).
///
/// The files of `sql/` are the queries postlaunch itself runs. Their `{name}` placeholders take
/// the values of the file's `-- Example:` header (the demo's), or those given with --param.
///
/// Examples:
///   postlaunch sql "SELECT service, count(*) FROM requests GROUP BY 1"
///   postlaunch sql --format csv -f sql/examples/p95_by_endpoint.sql > p95.csv
///   postlaunch sql -f sql/trends/service.sql \
///     --param "this_from=TIMESTAMP '2026-11-09T00:00:00Z'" --param "this_to=TIMESTAMP '2026-11-16T00:00:00Z'"
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    #[command(flatten)]
    pub lake: LakeArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table, env = "POSTLAUNCH_FORMAT")]
    pub format: Format,
    /// Read the SQL from this file (several statements separated by `;` are run in order).
    #[arg(
        short = 'f',
        long = "file",
        value_name = "FILE",
        conflicts_with = "query"
    )]
    pub file: Option<PathBuf>,
    /// The value of a `{name}` placeholder, as SQL (repeatable); overrides the file's
    /// `-- Example:` value.
    #[arg(long = "param", value_name = "NAME=SQL", value_parser = parse_param)]
    pub params: Vec<(String, String)>,
    /// Exit with code 1 when the (last) query returns at least one row (for checks in scripts).
    #[arg(long)]
    pub fail_on_rows: bool,
    /// The SQL to run.
    pub query: Option<String>,
}

pub fn run(args: Args, quiet: bool) -> anyhow::Result<()> {
    let catalog = args.lake.catalog()?;
    let runtime = super::runtime()?;
    runtime.block_on(async move {
        let session = LakeSession::open(&args.lake.path(), &catalog)
            .await
            .map_err(CliError::usage)?;
        let script = match (&args.query, &args.file) {
            (Some(q), _) if args.params.is_empty() => q.clone(),
            (Some(q), _) => sql::fill("the query", q, &args.params).map_err(CliError::usage)?,
            (None, Some(f)) => {
                let text = std::fs::read_to_string(f).map_err(|e| {
                    CliError::Usage(format!("cannot read SQL file `{}`: {e}", f.display()))
                })?;
                sql::fill(&f.display().to_string(), &text, &args.params).map_err(CliError::usage)?
            }
            (None, None) if std::io::stdin().is_terminal() => {
                return interactive(&session, args.format).await
            }
            (None, None) => {
                let mut s = String::new();
                std::io::stdin()
                    .read_to_string(&mut s)
                    .context("reading SQL from stdin")?;
                s
            }
        };
        let started = Instant::now();
        let results = session.query_all(&script).await?;
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        let mut last_rows = 0;
        for (schema, batches) in &results {
            output::write(&mut out, args.format, schema, batches)?;
            last_rows = batches.iter().map(|b| b.num_rows()).sum::<usize>();
        }
        out.flush()?;
        if !quiet && args.format == Format::Table {
            eprintln!(
                "{last_rows} rows in {:.3} s",
                started.elapsed().as_secs_f64()
            );
        }
        if args.fail_on_rows && last_rows > 0 {
            return Err(CliError::Found(format!("the query returned {last_rows} rows")).into());
        }
        Ok(())
    })
}

/// `NAME=SQL` of `--param`.
fn parse_param(s: &str) -> Result<(String, String), String> {
    let (name, value) = s.split_once('=').ok_or_else(|| {
        format!("`{s}` is not NAME=SQL, e.g. `from=TIMESTAMP '2026-11-09T00:00:00Z'`")
    })?;
    let name = name.trim();
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
        return Err(format!(
            "`{name}` is not a placeholder name, expected lower-case letters and `_`"
        ));
    }
    Ok((name.to_string(), value.to_string()))
}

async fn interactive(session: &LakeSession, format: Format) -> anyhow::Result<()> {
    eprintln!(
        "postlaunch SQL over {} tables: {}.\nEnd statements with `;`. \\d lists tables, \\d TABLE shows columns, \\q quits.",
        session.tables.len(),
        session.tables.join(", ")
    );
    let stdin = std::io::stdin();
    let mut buffer = String::new();
    loop {
        eprint!(
            "{}",
            if buffer.is_empty() {
                "postlaunch> "
            } else {
                "        ...> "
            }
        );
        let mut line = String::new();
        if stdin.lock().read_line(&mut line)? == 0 {
            eprintln!();
            return Ok(());
        }
        let trimmed = line.trim();
        if buffer.is_empty() {
            match trimmed {
                "" => continue,
                "\\q" | "exit" | "quit" => return Ok(()),
                "\\d" => {
                    buffer = "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1;".into();
                }
                d if d.starts_with("\\d ") => {
                    buffer = format!(
                        "SELECT column_name, data_type, is_nullable FROM information_schema.columns WHERE table_name = '{}' ORDER BY ordinal_position;",
                        d[3..].trim().replace('\'', "''")
                    );
                }
                _ => {}
            }
        }
        if buffer.is_empty() || !buffer.ends_with(';') {
            buffer.push_str(&line);
        }
        if !buffer.trim_end().ends_with(';') {
            continue;
        }
        let sql = std::mem::take(&mut buffer);
        let started = Instant::now();
        match session.query_all(&sql).await {
            Ok(results) => {
                let mut out = std::io::stdout().lock();
                for (schema, batches) in &results {
                    output::write(&mut out, format, schema, batches)?;
                    eprintln!(
                        "{} rows in {:.3} s",
                        batches.iter().map(|b| b.num_rows()).sum::<usize>(),
                        started.elapsed().as_secs_f64()
                    );
                }
            }
            Err(e) => eprintln!("error: {e}"),
        }
    }
}
