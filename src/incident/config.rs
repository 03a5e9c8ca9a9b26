//! `[incidents]` of `pipelines/alerts.toml`: which alerts open an incident, how far back an
//! incident's alerts are looked for, how often a P1/P2 owes stakeholders an update, and the
//! protocol's incident SLOs the roll-ups are measured against. Every key has the protocol's
//! default; `postlaunch validate` checks the section.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use crate::alert::Severity;
use crate::config::{de_duration, ConfigFile, Invalid};

/// The built-in defaults: the protocol's.
pub mod defaults {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use crate::alert::Severity;

    /// A P1 or P2 alert opens an incident.
    pub fn open_on() -> Vec<Severity> {
        vec![Severity::P1, Severity::P2]
    }
    /// Alerts of the incident's service from 30 minutes before it was detected are its alerts.
    pub fn link_before() -> Duration {
        Duration::from_secs(30 * 60)
    }
    /// Stakeholder updates: P1 every 15 minutes, P2 every 30 (the runbooks' communication).
    pub fn update_every() -> BTreeMap<Severity, Duration> {
        [
            (Severity::P1, Duration::from_secs(15 * 60)),
            (Severity::P2, Duration::from_secs(30 * 60)),
        ]
        .into()
    }
    pub fn detection() -> Duration {
        Duration::from_secs(5 * 60)
    }
    pub fn response() -> Duration {
        Duration::from_secs(15 * 60)
    }
    pub fn response_quantile() -> f64 {
        0.95
    }
    pub fn resolution() -> Duration {
        Duration::from_secs(2 * 3600)
    }
    pub fn postmortem() -> Duration {
        Duration::from_secs(24 * 3600)
    }
    pub fn slo_severities() -> Vec<Severity> {
        vec![Severity::P1]
    }
}

/// The protocol's incident SLOs (`[incidents.slo]`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Slo {
    /// The severities the SLOs hold for (the protocol: P1).
    #[serde(default = "defaults::slo_severities")]
    pub severities: Vec<Severity>,
    /// Detection: impact start → first alert (MTTD) below this, for every incident.
    #[serde(default = "defaults::detection", deserialize_with = "de_duration")]
    pub detection: Duration,
    /// Response: notification → mitigation start below this at `response_quantile`.
    #[serde(default = "defaults::response", deserialize_with = "de_duration")]
    pub response: Duration,
    #[serde(default = "defaults::response_quantile")]
    pub response_quantile: f64,
    /// Resolution: impact start → resolved below this.
    #[serde(default = "defaults::resolution", deserialize_with = "de_duration")]
    pub resolution: Duration,
    /// Post-mortem published within this of the resolution.
    #[serde(default = "defaults::postmortem", deserialize_with = "de_duration")]
    pub postmortem: Duration,
}

impl Default for Slo {
    fn default() -> Self {
        Slo {
            severities: defaults::slo_severities(),
            detection: defaults::detection(),
            response: defaults::response(),
            response_quantile: defaults::response_quantile(),
            resolution: defaults::resolution(),
            postmortem: defaults::postmortem(),
        }
    }
}

/// `[incidents]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncidentsConfig {
    /// Severities whose firing alert opens an incident (one per alert group: the alert's
    /// service or host) when none of that group is open; `[]` opens none.
    #[serde(default = "defaults::open_on")]
    pub open_on: Vec<Severity>,
    /// An incident's alerts: those of its service firing from this long before it was detected
    /// until it was resolved (besides the ones linked by name).
    #[serde(default = "defaults::link_before", deserialize_with = "de_duration")]
    pub link_before: Duration,
    /// Stakeholder updates owed while an incident is open, per severity (`P1 = "15m"`); a gap
    /// longer than this is counted late.
    #[serde(default = "defaults::update_every", deserialize_with = "de_every")]
    pub update_every: BTreeMap<Severity, Duration>,
    #[serde(default)]
    pub slo: Slo,
}

impl Default for IncidentsConfig {
    fn default() -> Self {
        IncidentsConfig {
            open_on: defaults::open_on(),
            link_before: defaults::link_before(),
            update_every: defaults::update_every(),
            slo: Slo::default(),
        }
    }
}

fn de_every<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<Severity, Duration>, D::Error> {
    let raw: BTreeMap<Severity, String> = BTreeMap::deserialize(d)?;
    raw.into_iter()
        .map(|(s, v)| {
            crate::units::parse_duration(&v)
                .map(|d| (s, d))
                .map_err(serde::de::Error::custom)
        })
        .collect()
}

impl IncidentsConfig {
    fn check(&self) -> Result<(), Invalid> {
        let q = self.slo.response_quantile;
        if !(q > 0.0 && q <= 1.0) {
            return Err(Invalid::at(
                "incidents.slo.response_quantile",
                format!("response_quantile {q}: expected a quantile in (0, 1], e.g. 0.95"),
            ));
        }
        for (key, d) in [
            ("incidents.slo.detection", self.slo.detection),
            ("incidents.slo.response", self.slo.response),
            ("incidents.slo.resolution", self.slo.resolution),
            ("incidents.slo.postmortem", self.slo.postmortem),
        ] {
            if d.is_zero() {
                return Err(Invalid::at(key, "expected a duration above 0, e.g. \"5m\""));
            }
        }
        for (s, d) in &self.update_every {
            if *d < Duration::from_secs(60) {
                return Err(Invalid::at(
                    "incidents.update_every",
                    format!("{s} = {d:?}: expected at least a minute between updates"),
                ));
            }
        }
        Ok(())
    }

    /// The update interval owed by an incident of `severity` (none: no updates are owed).
    pub fn update_interval(&self, severity: Severity) -> Option<Duration> {
        self.update_every.get(&severity).copied()
    }
}

/// The rules file as the incident layer reads it: only `[incidents]`.
#[derive(Debug, Clone, Deserialize)]
pub struct IncidentsFile {
    #[serde(default)]
    pub incidents: IncidentsConfig,
    #[serde(flatten)]
    _rest: toml::Table,
}

impl IncidentsFile {
    /// `[incidents]` of the rules file at `path` (the defaults when it has none).
    pub fn load_incidents(path: &Path) -> Result<IncidentsConfig, crate::config::ConfigError> {
        Ok(IncidentsFile::load(path)?.incidents)
    }
}

impl ConfigFile for IncidentsFile {
    const KIND: &'static str = "alerts file";
    type Context = ();

    fn validate(&self, _: &()) -> Result<(), Invalid> {
        self.incidents.check()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<IncidentsConfig, String> {
        IncidentsFile::parse(text, Path::new("alerts.toml"))
            .map(|f| f.incidents)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn the_protocol_is_the_default_and_every_key_can_change_it() {
        let c = parse("[[rule]]\nname = \"x\"\n").unwrap();
        assert_eq!(c, IncidentsConfig::default());
        assert_eq!(
            c.update_interval(Severity::P1),
            Some(Duration::from_secs(900))
        );
        assert_eq!(c.slo.detection, Duration::from_secs(300));
        let c = parse("[incidents]\nopen_on = [\"P1\"]\nupdate_every = { P1 = \"10m\" }\n[incidents.slo]\nresolution = \"4h\"\n").unwrap();
        assert_eq!(c.open_on, vec![Severity::P1]);
        assert_eq!(c.update_interval(Severity::P2), None);
        assert_eq!(c.slo.resolution, Duration::from_secs(4 * 3600));
    }

    #[test]
    fn bad_values_name_the_key_and_what_was_expected() {
        let e = parse("[incidents.slo]\nresponse_quantile = 95\n").unwrap_err();
        assert!(
            e.contains("response_quantile") && e.contains("(0, 1]"),
            "{e}"
        );
        let e = parse("[incidents]\nupdate_every = { P1 = \"10s\" }\n").unwrap_err();
        assert!(
            e.contains("update_every") && e.contains("at least a minute"),
            "{e}"
        );
        let e = parse("[incidents]\nopen_on = [\"P7\"]\n").unwrap_err();
        assert!(e.contains("P7"), "{e}");
        let e = parse("[incidents]\nlink_befor = \"1h\"\n").unwrap_err();
        assert!(e.contains("link_befor"), "{e}");
    }
}
