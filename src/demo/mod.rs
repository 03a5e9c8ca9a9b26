//! The demo: a deterministic, realistic post-launch scenario ([`scenario`]) built on a small
//! seeded random number generator ([`rng`]). It feeds `postlaunch demo`, the tests and the
//! benchmarks, so that no generated data is ever committed. [`ingest`] puts it into a lake.

pub mod ingest;
pub mod rng;
pub mod scenario;

pub use scenario::{generate, Scenario, ScenarioConfig, ALL_TABLES};
