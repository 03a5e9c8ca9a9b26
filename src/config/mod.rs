//! Configuration files (`pipelines/*.toml`): one loader for all of them. A file is read, parsed
//! into its typed struct (serde, `deny_unknown_fields`) and validated once, at the edge, with
//! every cross-field check done at load time (`postlaunch validate` runs exactly this).
//!
//! Every kind of file — a Kafka pipeline ([`pipeline`]), experiments, funnels, optimizations, and
//! the files of later analyses — implements [`ConfigFile`]; its errors are one type,
//! [`ConfigError`], that names the file, the line and the key, quotes the value and says what
//! was expected. Durations and sizes are human-readable (`"30s"`, `"128MiB"`, see
//! [`crate::units`]).

pub mod pipeline;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Deserialize;

pub use pipeline::{
    defaults, expand_env, is_secret, FlushConfig, HourlyConfig, KafkaConfig, MetricsConfig,
    PipelineConfig, TopicConfig,
};

/// The lake every command uses, by one rule: `--lake`, else `POSTLAUNCH_LAKE` (clap folds the two
/// into `explicit`), else the pipeline file's `lake` (when the command takes one), else `./lake`.
pub fn lake_path(explicit: Option<&Path>, pipeline: Option<&PipelineConfig>) -> PathBuf {
    explicit
        .map(Path::to_path_buf)
        .or_else(|| pipeline.map(|p| p.lake.clone()))
        .unwrap_or_else(defaults::lake)
}

/// Errors of loading a configuration file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {kind} `{}`: {source}", path.display())]
    Read {
        kind: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    /// Not TOML, or not the shape of the file (an unknown key, a wrong type).
    #[error("{kind} `{}`{}: {message}", path.display(), at(*line, key.as_deref()))]
    Parse {
        kind: &'static str,
        path: PathBuf,
        line: Option<usize>,
        key: Option<String>,
        message: String,
    },
    /// Well-formed, but a value breaks a rule.
    #[error("{kind} `{}`{}: {message}", path.display(), at(*line, Some(key.as_str())))]
    Invalid {
        kind: &'static str,
        path: PathBuf,
        line: Option<usize>,
        key: String,
        message: String,
    },
}

impl ConfigError {
    /// The line the error points at (1-based), when known.
    pub fn line(&self) -> Option<usize> {
        match self {
            ConfigError::Read { .. } => None,
            ConfigError::Parse { line, .. } | ConfigError::Invalid { line, .. } => *line,
        }
    }
}

/// `, line 12 (`flush.max_rows`)`.
fn at(line: Option<usize>, key: Option<&str>) -> String {
    match (line, key) {
        (Some(l), Some(k)) if !k.is_empty() => format!(", line {l} (`{k}`)"),
        (Some(l), _) => format!(", line {l}"),
        (None, Some(k)) if !k.is_empty() => format!(" (`{k}`)"),
        _ => String::new(),
    }
}

/// A rule a value breaks: the key (a TOML path such as `flush.max_rows` or
/// `experiment[1].metric[0].quantile`, arrays of tables by index) and the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub key: String,
    pub message: String,
}

impl Invalid {
    /// The value at `key` breaks a rule: `message` quotes it and says what was expected.
    pub fn at(key: impl Into<String>, message: impl Into<String>) -> Invalid {
        Invalid {
            key: key.into(),
            message: message.into(),
        }
    }

    /// The same message at `key` nested under `prefix` (`experiment[1]` + `alpha`).
    pub fn under(self, prefix: &str) -> Invalid {
        let key = if self.key.is_empty() {
            prefix.to_string()
        } else {
            format!("{prefix}.{}", self.key)
        };
        Invalid { key, ..self }
    }
}

/// A kind of configuration file.
pub trait ConfigFile: DeserializeOwned {
    /// What the file is, for messages: "pipeline file", "experiments file", ….
    const KIND: &'static str;

    /// What the checks need besides the file (the event schemas, for a pipeline file).
    type Context: ?Sized;

    /// The cross-field checks, run once after parsing.
    fn validate(&self, ctx: &Self::Context) -> Result<(), Invalid>;

    /// Reads, parses and validates the file at `path`.
    fn load_with(path: &Path, ctx: &Self::Context) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            kind: Self::KIND,
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse_with(&text, path, ctx)
    }

    /// Parses and validates `text`, the contents of `path` (for messages).
    fn parse_with(text: &str, path: &Path, ctx: &Self::Context) -> Result<Self, ConfigError> {
        let file: Self = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| line_of_offset(text, s.start));
            ConfigError::Parse {
                kind: Self::KIND,
                path: path.to_path_buf(),
                line,
                key: None,
                message: e.message().trim().to_string(),
            }
        })?;
        file.validate(ctx)
            .map_err(|Invalid { key, message }| ConfigError::Invalid {
                kind: Self::KIND,
                path: path.to_path_buf(),
                line: locate(text, &key),
                key,
                message,
            })?;
        Ok(file)
    }

    /// [`ConfigFile::load_with`] for files whose checks need nothing else.
    fn load(path: &Path) -> Result<Self, ConfigError>
    where
        Self: ConfigFile<Context = ()>,
    {
        Self::load_with(path, &())
    }

    /// [`ConfigFile::parse_with`] for files whose checks need nothing else.
    fn parse(text: &str, path: &Path) -> Result<Self, ConfigError>
    where
        Self: ConfigFile<Context = ()>,
    {
        Self::parse_with(text, path, &())
    }
}

/// The 1-based line of a byte offset.
fn line_of_offset(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// One segment of a key path: a name, and for arrays of tables an index.
fn segments(key: &str) -> Vec<(&str, Option<usize>)> {
    key.split('.')
        .filter(|s| !s.is_empty())
        .map(|s| match s.split_once('[') {
            Some((name, rest)) => (name, rest.trim_end_matches(']').parse().ok()),
            None => (s, None),
        })
        .collect()
}

/// The header path of a `[a.b]` or `[[a.b]]` line, and whether it is an array element.
fn header(line: &str) -> Option<(String, bool)> {
    let t = line.trim();
    let (inner, array) = if let Some(x) = t.strip_prefix("[[") {
        (x.split("]]").next()?, true)
    } else if let Some(x) = t.strip_prefix('[') {
        (x.split(']').next()?, false)
    } else {
        return None;
    };
    let path: Vec<String> = inner
        .split('.')
        .map(|p| p.trim().trim_matches('"').to_string())
        .collect();
    Some((path.join("."), array))
}

/// Whether `line` assigns `name` (`name = …`, `"name" = …`).
fn assigns(line: &str, name: &str) -> bool {
    let t = line.trim_start();
    let rest = t
        .strip_prefix(name)
        .or_else(|| t.strip_prefix(&format!("\"{name}\"")));
    rest.is_some_and(|r| r.trim_start().starts_with('='))
}

/// The 1-based line where `key` is set in `text`, or of the table that should hold it; `None`
/// when neither is in the file (the value is a default). Handles `[table]` and `[[array]]`
/// headers with indices (`funnel[2].window`); keys inside inline tables point at their line's
/// table.
pub fn locate(text: &str, key: &str) -> Option<usize> {
    let segs = segments(key);
    let lines: Vec<&str> = text.lines().collect();
    let (mut start, mut end) = (0usize, lines.len());
    let mut path = String::new();
    let mut found_table: Option<usize> = None;
    for (depth, (name, index)) in segs.iter().enumerate() {
        let last = depth + 1 == segs.len();
        let candidate = if path.is_empty() {
            name.to_string()
        } else {
            format!("{path}.{name}")
        };
        // A table or an array element header under the current range.
        let headers: Vec<usize> = (start..end)
            .filter(|&i| header(lines[i]).is_some_and(|(p, _)| p == candidate))
            .collect();
        let pick = match index {
            Some(i) => headers.get(*i).copied(),
            None => headers.first().copied(),
        };
        if let Some(h) = pick {
            // The element's body ends at the next header that is not below it.
            let next = (h + 1..end)
                .find(|&i| {
                    header(lines[i]).is_some_and(|(p, _)| {
                        p == candidate || !p.starts_with(&format!("{candidate}."))
                    })
                })
                .unwrap_or(end);
            start = h;
            end = next;
            path = candidate;
            found_table = Some(h + 1);
            continue;
        }
        if last {
            // A key of the current table (before any sub-table header).
            let body_end = (start + 1..end)
                .find(|&i| header(lines[i]).is_some())
                .unwrap_or(end);
            let from = if found_table.is_some() { start + 1 } else { 0 };
            if let Some(i) = (from..body_end.max(from)).find(|&i| assigns(lines[i], name)) {
                return Some(i + 1);
            }
            // A dotted key at the top (`flush.max_rows = …`).
            if let Some(i) = lines.iter().position(|l| assigns(l, key)) {
                return Some(i + 1);
            }
        } else if let Some(line) =
            inline_element(&lines, start, end, found_table.is_some(), name, *index)
        {
            // An inline array of tables (`bands = [ { … }, { … } ]`): its element's line.
            return Some(line);
        }
        return found_table;
    }
    found_table
}

/// The 1-based line of element `index` of the inline array `name = [ … ]` assigned in the table
/// body `start..end` (one `{ … }` element per line), or of the assignment itself.
fn inline_element(
    lines: &[&str],
    start: usize,
    end: usize,
    in_table: bool,
    name: &str,
    index: Option<usize>,
) -> Option<usize> {
    let from = if in_table { start + 1 } else { 0 };
    let at = (from..end.max(from)).find(|&i| assigns(lines[i], name))?;
    let Some(k) = index else {
        return Some(at + 1);
    };
    let mut seen = 0;
    for (i, line) in lines.iter().enumerate().take(end).skip(at) {
        let body = if i == at {
            line.split_once('[').map_or("", |x| x.1)
        } else {
            line
        };
        for _ in body.matches('{') {
            if seen == k {
                return Some(i + 1);
            }
            seen += 1;
        }
        if body.trim_start().starts_with(']') || (i > at && header(line).is_some()) {
            break;
        }
    }
    Some(at + 1)
}

/// Deserializes a human size (`"128MiB"`).
pub fn de_size<'de, D: serde::Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    let s = String::deserialize(d)?;
    crate::units::parse_size(&s).map_err(serde::de::Error::custom)
}

/// Deserializes a human duration (`"30s"`).
pub fn de_duration<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let s = String::deserialize(d)?;
    crate::units::parse_duration(&s).map_err(serde::de::Error::custom)
}

/// Deserializes an optional human duration.
pub fn de_opt_duration<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Duration>, D::Error> {
    de_duration(d).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"lake = "x"
[kafka]
brokers = "b:1"
[flush]
max_rows = 0
[[funnel]]
name = "a"
[[funnel.step]]
event = "x"
[[funnel]]
name = "b"
window = "0d"
[[funnel.step]]
event = "y"
[[funnel.step]]
event = ""
"#;

    #[test]
    fn keys_are_located_by_table_and_array_index() {
        assert_eq!(locate(TEXT, "lake"), Some(1));
        assert_eq!(locate(TEXT, "flush.max_rows"), Some(5));
        assert_eq!(locate(TEXT, "kafka.brokers"), Some(3));
        assert_eq!(
            locate(TEXT, "kafka.group_id"),
            Some(2),
            "a default: its table"
        );
        assert_eq!(locate(TEXT, "funnel[1].window"), Some(12));
        assert_eq!(locate(TEXT, "funnel[1].name"), Some(11));
        assert_eq!(
            locate(TEXT, "funnel[0].window"),
            Some(6),
            "not set: the element"
        );
        assert_eq!(locate(TEXT, "funnel[1].step[1].event"), Some(16));
        assert_eq!(locate(TEXT, "funnel[1]"), Some(10));
        assert_eq!(locate(TEXT, "metrics.listen"), None);
        let inline = "[[rule]]\nname = \"a\"\nbands = [\n  { x = 1 },\n  { x = 2 },\n]\n[[rule]]\nbands = [{ x = 1 }, { x = 2 }]\n";
        assert_eq!(locate(inline, "rule[0].bands[1].x"), Some(5));
        assert_eq!(locate(inline, "rule[0].bands"), Some(3));
        assert_eq!(locate(inline, "rule[1].bands[1].x"), Some(8));
        assert_eq!(locate(inline, "rule[0].name"), Some(2));
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Demo {
        #[serde(default)]
        max_rows: u64,
        #[serde(default, deserialize_with = "de_opt_duration")]
        window: Option<Duration>,
    }

    impl ConfigFile for Demo {
        const KIND: &'static str = "demo file";
        type Context = ();
        fn validate(&self, _: &()) -> Result<(), Invalid> {
            if self.window.is_some_and(|w| w.is_zero()) {
                return Err(Invalid::at("window", "`window` is 0"));
            }
            if self.max_rows == 0 {
                return Err(Invalid::at(
                    "max_rows",
                    "`max_rows` is 0, expected at least 1",
                ));
            }
            Ok(())
        }
    }

    #[test]
    fn errors_name_the_file_the_line_and_the_key() {
        let p = Path::new("d.toml");
        let e = Demo::parse("\nmax_rows = 0\n", p).unwrap_err();
        assert_eq!(
            e.to_string(),
            "demo file `d.toml`, line 2 (`max_rows`): `max_rows` is 0, expected at least 1"
        );
        let e = Demo::parse("max_rows = 1\nwindow = \"soon\"\n", p).unwrap_err();
        assert_eq!(e.line(), Some(2));
        assert!(e.to_string().contains("`soon`"), "{e}");
        let e = Demo::parse("max_rows = 1\nmax_rowz = 2\n", p).unwrap_err();
        assert!(
            e.to_string().contains("line 2") && e.to_string().contains("max_rowz"),
            "{e}"
        );
        assert!(Demo::parse("max_rows = 3", p).is_ok());
    }
}
