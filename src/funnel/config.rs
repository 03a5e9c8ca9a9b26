//! `pipelines/funnels.toml`: the funnels to compute, parsed once into typed structs with every
//! check done at load time (`postlaunch validate pipelines/funnels.toml` runs exactly this).
//!
//! Precedence: built-in defaults ([`defaults`]) < the funnel's own fields < command-line flags
//! (`--breakdown`, `--from`, `--to`).

use std::collections::BTreeSet;
use std::time::Duration;

use serde::Deserialize;

use crate::config::{de_duration, ConfigFile, Invalid};

/// The built-in defaults, in one place.
pub mod defaults {
    use std::time::Duration;

    /// Conversion window, measured from the first step: 14 days.
    pub fn window() -> Duration {
        Duration::from_secs(14 * 86_400)
    }
}

/// The whole file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FunnelsFile {
    /// The funnels (`[[funnel]]` tables).
    #[serde(default, rename = "funnel")]
    pub funnels: Vec<Funnel>,
}

/// How the steps of a funnel must follow each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderMode {
    /// Steps in their order; other events (and repeats of earlier steps) may come in between.
    #[default]
    Ordered,
    /// Steps in their order with no other funnel-step event in between two consecutive steps.
    Strict,
    /// Steps in any order: step k counts users who did any k distinct steps in the window.
    Any,
}

impl OrderMode {
    pub fn name(&self) -> &'static str {
        match self {
            OrderMode::Ordered => "ordered",
            OrderMode::Strict => "strict",
            OrderMode::Any => "any",
        }
    }
}

/// One `[[funnel]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Funnel {
    /// Name used on the command line (`postlaunch funnel NAME`), unique in the file:
    /// lowercase letters, digits and `_`.
    pub name: String,
    /// What the funnel measures, for people reading the report.
    #[serde(default)]
    pub description: Option<String>,
    /// Conversion window measured from the first step's event, e.g. `"14d"` or `"30m"`.
    #[serde(default = "defaults::window", deserialize_with = "de_duration")]
    pub window: Duration,
    /// `ordered` (default), `strict` or `any`.
    #[serde(default)]
    pub order: OrderMode,
    /// Events that void an attempt when they happen between its first and its last reached
    /// step.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Default breakdown: `platform`, `experiment:<key>` (the user's variant in `exposures`) or
    /// the name of a property of the first step's event. The `--breakdown` flag overrides it.
    #[serde(default)]
    pub breakdown: Option<String>,
    /// The steps in order (`[[funnel.step]]` tables), at least two.
    #[serde(rename = "step")]
    pub steps: Vec<Step>,
}

/// One `[[funnel.step]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// The event name, as in `events.event`.
    pub event: String,
    /// Label in reports (default: the event name).
    #[serde(default)]
    pub label: Option<String>,
    /// Property filters: the event counts for this step only when every
    /// `json_get_str(properties, key)` equals the given string.
    #[serde(default, rename = "where")]
    pub filters: std::collections::BTreeMap<String, String>,
}

impl Step {
    /// The label in reports.
    pub fn label(&self) -> &str {
        self.label.as_deref().unwrap_or(&self.event)
    }
}

/// Maximum number of steps (the step mask is a 62-bit integer with room for exclusions).
pub const MAX_STEPS: usize = 32;

/// A breakdown: what splits the users of a funnel into groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Breakdown {
    /// The `platform` column of the first step's event.
    Platform,
    /// The user's variant in experiment `key` (the variant of their first exposure).
    Experiment(String),
    /// A property of the first step's event (`json_get_str(properties, name)`).
    Property(String),
}

impl Breakdown {
    /// Parses `platform`, `experiment:<key>` or a property name.
    pub fn parse(s: &str) -> Result<Breakdown, String> {
        let ok_name = |n: &str| {
            !n.is_empty()
                && n.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        };
        if s == "platform" {
            Ok(Breakdown::Platform)
        } else if let Some(key) = s.strip_prefix("experiment:") {
            if ok_name(key) {
                Ok(Breakdown::Experiment(key.to_string()))
            } else {
                Err(format!(
                    "breakdown `{s}` has an invalid experiment key, expected `experiment:<key>` with letters, digits, `_`, `-` or `.`"
                ))
            }
        } else if ok_name(s) {
            Ok(Breakdown::Property(s.to_string()))
        } else {
            Err(format!(
                "breakdown `{s}` is not `platform`, `experiment:<key>` or a property name (letters, digits, `_`, `-`, `.`)"
            ))
        }
    }
}

impl FunnelsFile {
    /// The funnel called `name`.
    pub fn get(&self, name: &str) -> Option<&Funnel> {
        self.funnels.iter().find(|f| f.name == name)
    }
}

impl ConfigFile for FunnelsFile {
    const KIND: &'static str = "funnels file";
    type Context = ();

    fn validate(&self, _: &()) -> Result<(), Invalid> {
        self.check()
            .map_err(|(key, message)| Invalid::at(key, message))
    }
}

impl FunnelsFile {
    /// The checks, each failure with the key it concerns.
    fn check(&self) -> Result<(), (String, String)> {
        if self.funnels.is_empty() {
            return Err((
                "funnel".into(),
                "no `[[funnel]]` defined, expected at least one".into(),
            ));
        }
        let mut names = BTreeSet::new();
        for (fi, f) in self.funnels.iter().enumerate() {
            let n = &f.name;
            let key = |k: &str| format!("funnel[{fi}].{k}");
            if n.is_empty()
                || !n
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            {
                return Err((
                    key("name"),
                    format!(
                        "funnel name `{n}` is invalid, expected lowercase letters, digits and `_`"
                    ),
                ));
            }
            if !names.insert(n.as_str()) {
                return Err((key("name"), format!("funnel `{n}` is defined twice")));
            }
            if f.steps.len() < 2 || f.steps.len() > MAX_STEPS {
                return Err((
                    format!("funnel[{fi}]"),
                    format!(
                        "funnel `{n}` has {} steps, expected 2 to {MAX_STEPS}",
                        f.steps.len()
                    ),
                ));
            }
            if f.window.is_zero() {
                return Err((
                    key("window"),
                    format!(
                        "funnel `{n}`: window is 0, expected a positive duration such as \"14d\""
                    ),
                ));
            }
            for (i, s) in f.steps.iter().enumerate() {
                if s.event.trim().is_empty() {
                    return Err((
                        key(&format!("step[{i}].event")),
                        format!("funnel `{n}`: step {} has an empty event", i + 1),
                    ));
                }
                for k in s.filters.keys() {
                    if k.is_empty() {
                        return Err((
                            key(&format!("step[{i}].where")),
                            format!(
                                "funnel `{n}`: step {} (`{}`) has an empty property name in `where`",
                                i + 1,
                                s.event
                            ),
                        ));
                    }
                }
            }
            for e in &f.exclude {
                if let Some(i) = f.steps.iter().position(|s| &s.event == e) {
                    return Err((
                        key("exclude"),
                        format!(
                            "funnel `{n}`: exclusion `{e}` is also step {} (`{}`), expected an event that is not a step",
                            i + 1,
                            e
                        ),
                    ));
                }
            }
            if let Some(b) = &f.breakdown {
                Breakdown::parse(b)
                    .map_err(|m| (key("breakdown"), format!("funnel `{n}`: {m}")))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn parse(text: &str) -> Result<FunnelsFile, String> {
        FunnelsFile::parse(text, Path::new("funnels.toml")).map_err(|e| e.to_string())
    }

    #[test]
    fn the_repository_file_parses() {
        let text = include_str!("../../pipelines/funnels.toml");
        let file = parse(text).unwrap();
        assert!(file.get("checkout").is_some());
    }

    #[test]
    fn defaults_and_filters_are_read() {
        let f = parse(
            r#"
[[funnel]]
name = "buy"
[[funnel.step]]
event = "view_item"
where = { category = "shoes" }
[[funnel.step]]
event = "purchase"
"#,
        )
        .unwrap();
        let f = &f.funnels[0];
        assert_eq!(f.window, Duration::from_secs(14 * 86_400));
        assert_eq!(f.order, OrderMode::Ordered);
        assert_eq!(f.steps[0].filters["category"], "shoes");
    }

    #[test]
    fn invalid_files_name_the_offending_value() {
        let one_step = "[[funnel]]\nname = \"a\"\n[[funnel.step]]\nevent = \"x\"\n";
        assert!(parse(one_step).unwrap_err().contains("has 1 steps"));
        let bad = "[[funnel]]\nname = \"a\"\norder = \"sideways\"\n[[funnel.step]]\nevent = \"x\"\n[[funnel.step]]\nevent = \"y\"\n";
        assert!(parse(bad).unwrap_err().contains("sideways"));
        let unknown = "[[funnel]]\nname = \"a\"\nwindw = \"1d\"\n[[funnel.step]]\nevent = \"x\"\n[[funnel.step]]\nevent = \"y\"\n";
        assert!(parse(unknown).unwrap_err().contains("windw"));
        let excl = "[[funnel]]\nname = \"a\"\nexclude = [\"y\"]\n[[funnel.step]]\nevent = \"x\"\n[[funnel.step]]\nevent = \"y\"\n";
        assert!(parse(excl).unwrap_err().contains("exclusion `y`"));
        let name = "[[funnel]]\nname = \"Bad Name\"\n[[funnel.step]]\nevent = \"x\"\n[[funnel.step]]\nevent = \"y\"\n";
        assert!(parse(name).unwrap_err().contains("`Bad Name`"));
        let bd = "[[funnel]]\nname = \"a\"\nbreakdown = \"experiment:\"\n[[funnel.step]]\nevent = \"x\"\n[[funnel.step]]\nevent = \"y\"\n";
        assert!(parse(bd).unwrap_err().contains("`experiment:`"));
        let win = "[[funnel]]\nname = \"a\"\nwindow = \"2 weeks\"\n[[funnel.step]]\nevent = \"x\"\n[[funnel.step]]\nevent = \"y\"\n";
        assert!(parse(win).unwrap_err().contains("2 weeks"));
    }

    #[test]
    fn breakdowns_parse() {
        assert_eq!(Breakdown::parse("platform"), Ok(Breakdown::Platform));
        assert_eq!(
            Breakdown::parse("experiment:checkout_redesign"),
            Ok(Breakdown::Experiment("checkout_redesign".into()))
        );
        assert_eq!(
            Breakdown::parse("category"),
            Ok(Breakdown::Property("category".into()))
        );
        assert!(Breakdown::parse("a'; drop").is_err());
    }
}
