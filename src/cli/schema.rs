//! `postlaunch schema`: the lake columns derived from the event schemas.

use super::LakeArgs;

/// Show the columns of each event table, as derived from `schemas/*.schema.json`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub lake: LakeArgs,
    /// Only this table.
    pub table: Option<String>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let catalog = args.lake.catalog()?;
    let tables: Vec<_> = match &args.table {
        Some(t) => vec![catalog.get(t).map_err(super::CliError::usage)?.clone()],
        None => catalog.tables().cloned().collect(),
    };
    for t in tables {
        println!("{}: {}", t.name, t.description);
        for (spec, field) in t.fields.iter().zip(t.stored.fields()) {
            let mut rules = Vec::new();
            if spec.required {
                rules.push("required".to_string());
            }
            if let Some(e) = &spec.enum_values {
                rules.push(format!("one of {}", e.join("|")));
            }
            match (spec.minimum, spec.maximum) {
                (Some(a), Some(b)) => rules.push(format!("{a}..={b}")),
                (Some(a), None) => rules.push(format!(">= {a}")),
                (None, Some(b)) => rules.push(format!("<= {b}")),
                _ => {}
            }
            println!(
                "  {:<14} {:<28} {}",
                field.name(),
                field.data_type().to_string(),
                rules.join(", ")
            );
        }
        println!(
            "  {:<14} {:<28} partition column (UTC)",
            "date", "Utf8 (YYYY-MM-DD)"
        );
        println!(
            "  {:<14} {:<28} partition column (UTC)",
            "hour", "Utf8 (00-23)"
        );
        println!();
    }
    Ok(())
}
