//! The module graph keeps its rules (`docs/ARCHITECTURE.md`): every `crate::` import of a module
//! points down the flow, never up, and `stats` holds plain numbers only. A module that imports
//! what the rules forbid fails this test, naming the file, the line and the rule.
//!
//! Read from the source text: `use crate::…` and inline `crate::…` paths outside comments and
//! outside test code (test modules may use anything, e.g. the demo's random numbers).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The layers, bottom up: a module may import its own layer's modules and those of lower layers,
/// never a higher one.
const LAYERS: &[&[&str]] = &[
    &["units", "metrics"],
    &["schema", "stats"],
    &["config"],
    &["source"],
    &["batch"],
    &["lake"],
    &["pipeline"],
    &["query", "demo", "report"],
    &["hourly", "experiment", "funnel"],
    &["impact", "opportunities"],
    &["trends"],
    &["alert"],
    &["incident", "notify"],
    &["backlog", "optimizations"],
    &["assess"],
    &["view"],
    &["serve"],
    &["cli"],
];

/// Crates whose types must not appear in `stats` (plain numbers in, plain structs out).
const NOT_IN_STATS: &[&str] = &["arrow", "datafusion", "parquet", "rdkafka"];

fn layer(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The top-level module a file of `src/` belongs to (`src/lake/log.rs` → `lake`).
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_str()
        .unwrap();
    first.trim_end_matches(".rs").to_string()
}

/// Files compiled only for tests: `tests.rs`, and modules declared under `#[cfg(test)]`.
fn test_only(file: &Path, src: &Path) -> bool {
    let name = file.file_stem().unwrap().to_str().unwrap();
    if name == "tests" {
        return true;
    }
    let Some(parent) = file.parent() else {
        return false;
    };
    for owner in [parent.join("mod.rs"), parent.with_extension("rs")] {
        let Ok(text) = std::fs::read_to_string(&owner) else {
            continue;
        };
        let lines: Vec<&str> = text.lines().collect();
        for (i, l) in lines.iter().enumerate() {
            if l.trim() == format!("mod {name};") && i > 0 && lines[i - 1].trim() == "#[cfg(test)]"
            {
                return true;
            }
        }
    }
    let _ = src;
    false
}

/// `(line number, target module)` of every `crate::` path in the non-test code of `text`.
fn imports(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or_default();
        if line.trim() == "#[cfg(test)]" {
            break; // the test module, at the end of the file
        }
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let after = &rest[at + "crate::".len()..];
            let name: String = after
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.push((i + 1, name));
            }
            rest = after;
        }
    }
    out
}

#[test]
fn imports_point_down_the_flow_and_stats_is_plain_numbers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut broken: Vec<String> = Vec::new();
    let mut checked: BTreeMap<String, usize> = BTreeMap::new();
    for file in &files {
        let module = module_of(&src, file);
        if matches!(module.as_str(), "lib" | "main") || test_only(file, &src) {
            continue;
        }
        let here = layer(&module).unwrap_or_else(|| {
            panic!(
                "module `{module}` ({}) has no layer in LAYERS",
                file.display()
            )
        });
        let text = std::fs::read_to_string(file).unwrap();
        for (line, target) in imports(&text) {
            *checked.entry(module.clone()).or_default() += 1;
            if target == module {
                continue;
            }
            let Some(there) = layer(&target) else {
                broken.push(format!(
                    "{}:{line}: `crate::{target}` is not a module the rules know",
                    file.display()
                ));
                continue;
            };
            if there > here {
                broken.push(format!(
                    "{}:{line}: `{module}` imports `{target}`, a higher layer (imports must point down the flow: docs/ARCHITECTURE.md)",
                    file.display()
                ));
            }
        }
        if module == "stats" {
            for (i, line) in text.lines().enumerate() {
                if line.trim() == "#[cfg(test)]" {
                    break;
                }
                let code = line.split("//").next().unwrap_or_default();
                for c in NOT_IN_STATS {
                    if code.contains(&format!("{c}::")) {
                        broken.push(format!(
                            "{}:{}: `stats` uses `{c}` (it holds plain numbers only)",
                            file.display(),
                            i + 1
                        ));
                    }
                }
            }
        }
    }
    assert!(
        broken.is_empty(),
        "module rules broken:\n{}",
        broken.join("\n")
    );
    // the scan saw the imports it should (a scan that finds nothing checks nothing)
    for m in ["lake", "pipeline", "hourly", "experiment", "cli"] {
        assert!(checked.get(m).copied().unwrap_or(0) > 3, "{m}: {checked:?}");
    }
}

#[test]
fn the_rules_catch_an_import_up_the_flow() {
    // a lake file importing an analysis, and stats importing arrow, as the scan reads them
    let up = imports("use crate::experiment::config::Experiment;\n// crate::cli in a comment\n");
    assert_eq!(up, vec![(1, "experiment".to_string())]);
    assert!(layer("experiment") > layer("lake"));
    assert!(layer("cli") > layer("trends"));
    let after_tests =
        imports("use crate::lake::log;\n#[cfg(test)]\nmod tests { use crate::cli; }\n");
    assert_eq!(after_tests, vec![(1, "lake".to_string())]);
}
