//! Lake guarantees: a killed ingest loses and duplicates nothing once re-run; compaction leaves
//! query results unchanged.

use std::process::Command;
use std::time::Duration;

use std::path::Path;

use crate::{bin, emit_requests, ok, sql};

/// Sums that identify the stored multiset of requests well enough to catch a lost or doubled row.
fn fingerprint(lake: &std::path::Path) -> serde_json::Value {
    sql(
        lake,
        "SELECT count(*) AS n, count(DISTINCT trace_id) AS traces, sum(CAST(round(duration_ms * 1000) AS BIGINT)) AS total_us, \
         min(ts) AS first, max(ts) AS last, sum(status) AS statuses FROM requests",
    )
    .remove(0)
}

#[test]
fn killing_ingest_at_random_moments_then_rerunning_loses_and_duplicates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let file = emit_requests(&dir.path().join("data"), "4", "1", false);
    let lines = std::fs::read_to_string(&file).unwrap().lines().count() as i64;

    // the reference: one clean run into its own lake
    let clean = dir.path().join("clean");
    ok(&[
        "ingest",
        "-q",
        "--lake",
        clean.to_str().unwrap(),
        "--table",
        "requests",
        file.to_str().unwrap(),
    ]);
    let want = fingerprint(&clean);
    assert_eq!(want["n"], lines);
    assert_eq!(
        want["traces"], lines,
        "demo trace ids are unique, so they can detect duplicates"
    );

    // a small memory budget forces many checkpoints, so kills land before, during and after commits
    let lake = dir.path().join("lake");
    let mut rng = crate::XorShift(0x2545_f491_4f6c_dd1d);
    let mut completed = 0;
    for _ in 0..6 {
        let delay = Duration::from_millis(150 + rng.next_u64() % 900);
        let mut child = Command::new(bin())
            .args([
                "ingest",
                "-q",
                "--memory-budget",
                "1MiB",
                "--lake",
                lake.to_str().unwrap(),
            ])
            .args(["--table", "requests", file.to_str().unwrap()])
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        if child.try_wait().unwrap().is_some() {
            completed += 1;
        }
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
    }
    ok(&[
        "ingest",
        "-q",
        "--lake",
        lake.to_str().unwrap(),
        "--table",
        "requests",
        file.to_str().unwrap(),
    ]);
    assert!(
        completed < 6,
        "at least one run must have been killed mid-way"
    );
    assert_eq!(fingerprint(&lake), want);
}

#[test]
fn compaction_merges_small_files_without_changing_results() {
    let dir = tempfile::tempdir().unwrap();
    let file = emit_requests(&dir.path().join("data"), "2", "0.5", true);
    let lake = dir.path().join("lake");
    let lake_s = lake.to_str().unwrap();
    ok(&[
        "ingest",
        "-q",
        "--memory-budget",
        "256KiB",
        "--lake",
        lake_s,
        "--table",
        "requests",
        file.to_str().unwrap(),
    ]);
    let count_files = || {
        walk(&lake.join("requests"))
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
            .count()
    };
    let before_files = count_files();
    let by_hour = "SELECT date, hour, count(*) AS n, sum(CAST(round(duration_ms * 1000) AS BIGINT)) AS us FROM requests GROUP BY 1, 2 ORDER BY 1, 2";
    let before = (fingerprint(&lake), sql(&lake, by_hour));
    let out = ok(&[
        "compact", "--lake", lake_s, "--table", "requests", "--grace", "0s",
    ]);
    let after_files = count_files();
    assert!(
        before_files > 48 && after_files <= 48,
        "{before_files} → {after_files}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!((fingerprint(&lake), sql(&lake, by_hour)), before);
    // a second run has nothing left to do
    let out = ok(&[
        "compact", "--lake", lake_s, "--table", "requests", "--grace", "0s",
    ]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("0 hours compacted"));
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// Regression (issue 12): the commit log named its writer `localhost:PID` unless `HOSTNAME` was
/// exported, so writers on different machines sharing one lake could not be told apart.
#[test]
fn commits_name_the_machines_real_host_name() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("r.ndjson");
    std::fs::write(
        &file,
        "{\"ts\":\"2026-11-27T10:00:00Z\",\"service\":\"api\",\"endpoint\":\"GET /x\",\"status\":200,\"duration_ms\":1}\n",
    )
    .unwrap();
    let lake = dir.path().join("lake");
    let out = Command::new(bin())
        .args(["ingest", "-q", "--lake", lake.to_str().unwrap()])
        .args(["--table", "requests", file.to_str().unwrap()])
        .env_remove("HOSTNAME")
        .output()
        .unwrap();
    assert!(out.status.success());
    let commit: serde_json::Value = serde_json::from_slice(
        &std::fs::read(lake.join("requests/_log/00000000000000000001.json")).unwrap(),
    )
    .unwrap();
    // the kernel's host name, as `hostname` prints it
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let writer = commit["writer"].as_str().unwrap();
    let (name, pid) = writer.rsplit_once(':').unwrap();
    assert_eq!(name, host.trim(), "{writer}");
    assert!(pid.parse::<u32>().is_ok(), "{writer}");
}

/// Regression (issue 13, found while refactoring): once commits claim exactly their positions
/// (issue 12), a second demo run into the same lake had its chunks span stored positions and
/// failed as "another writer". Running the demo twice stores nothing twice and succeeds.
#[test]
fn the_demo_run_twice_into_one_lake_stores_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let args = ["--days", "1", "--scale", "0.1"];
    crate::demo_lake(&lake, &args);
    let count = "SELECT (SELECT count(*) FROM requests) + (SELECT count(*) FROM events) AS n";
    let first = sql(&lake, count)[0]["n"].as_i64().unwrap();
    assert!(first > 1_000, "{first}");
    let mut again = vec!["demo", "--lake", lake.to_str().unwrap()];
    again.extend(args);
    let out = ok(&again);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("0 stored") && !said.contains("another writer"),
        "{said}"
    );
    assert_eq!(sql(&lake, count)[0]["n"].as_i64().unwrap(), first);
}

/// One rule for the lake of every command: `--lake` > `POSTLAUNCH_LAKE` > the pipeline file's
/// `lake` > `./lake`. Regression (issue 13): `run` ignored `POSTLAUNCH_LAKE`, `hourly --pipeline`
/// ignored the file's `lake`, `ingest --pipeline` scanned argv for `--lake`.
#[test]
fn every_command_finds_its_lake_by_one_rule() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("the-lake");
    crate::demo_lake(&lake, &["--days", "1", "--scale", "0.1"]);
    let l = lake.to_str().unwrap();
    let missing = dir.path().join("no-such-lake");
    let m = missing.to_str().unwrap();
    let pipeline = dir.path().join("p.toml");
    std::fs::write(
        &pipeline,
        format!("lake = \"{l}\"\n[kafka]\nbrokers = \"127.0.0.1:1\"\ngroup_id = \"g\"\n[[topics]]\ntopic = \"t\"\ntable = \"requests\"\n"),
    )
    .unwrap();
    let p = pipeline.to_str().unwrap();
    let run = |args: &[&str], env: Option<&str>| {
        let mut c = Command::new(bin());
        c.args(args)
            .env_remove("POSTLAUNCH_LAKE")
            .env_remove("POSTLAUNCH_PIPELINE");
        if let Some(e) = env {
            c.env("POSTLAUNCH_LAKE", e);
        }
        c.current_dir(dir.path()).output().unwrap()
    };
    let works = |args: &[&str], env: Option<&str>| {
        let out = run(args, env);
        assert!(
            out.status.success(),
            "{args:?} with POSTLAUNCH_LAKE={env:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let names_missing = |args: &[&str], env: Option<&str>| {
        let out = run(args, env);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && err.contains("no-such-lake"),
            "{args:?}: {err}"
        );
    };
    // commands without a pipeline file: the environment, and --lake over it
    let commands: [&[&str]; 6] = [
        &["sql", "-q", "SELECT count(*) FROM requests"],
        &["hourly", "-q", "--hour", "2026-11-02T05", "--no-rollups"],
        &["compact", "-q", "--table", "requests"],
        &[
            "funnel",
            "-q",
            "--funnels",
            "pipelines/funnels.toml",
            "checkout",
        ],
        &[
            "experiment",
            "analyze",
            "-q",
            "--config",
            "pipelines/experiments.toml",
            "checkout_redesign",
            "--no-write",
        ],
        &[
            "impact",
            "-q",
            "--deployment",
            "checkout@2.4.0",
            "--no-write",
        ],
    ];
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    for c in commands {
        let c: Vec<String> = c
            .iter()
            .map(|a| {
                if a.starts_with("pipelines/") {
                    repo.join(a).to_str().unwrap().to_string()
                } else {
                    a.to_string()
                }
            })
            .collect();
        let c: Vec<&str> = c.iter().map(String::as_str).collect();
        if c[0] == "experiment" || c[0] == "impact" {
            // one day of demo holds neither a finished readout nor the deployment: what matters
            // here is which lake they open, so the missing lake must be the one named
            let mut with = c.clone();
            with.extend(["--lake", m]);
            names_missing(&with, Some(l));
            names_missing(&c, Some(m));
            continue;
        }
        works(&c, Some(l));
        let mut with = c.clone();
        with.extend(["--lake", m]);
        names_missing(&with, Some(l));
    }
    // commands with a pipeline file: its `lake`, under the environment and --lake
    works(
        &[
            "hourly",
            "-q",
            "--pipeline",
            p,
            "--hour",
            "2026-11-02T05",
            "--no-rollups",
        ],
        None,
    );
    names_missing(
        &["hourly", "-q", "--pipeline", p, "--hour", "2026-11-02T05"],
        Some(m),
    );
    works(&["run", "-q", "--pipeline", p, "--once"], None);
    names_missing(&["run", "-q", "--pipeline", p, "--once"], Some(m));
    names_missing(
        &["run", "-q", "--pipeline", p, "--once", "--lake", m],
        Some(l),
    );
    // trends with a pipeline file: the file's lake (which exists: whatever it says, it is not
    // that the lake is missing), the environment over it
    let out = run(&["trends", "-q", "--pipeline", p], None);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("does not exist"));
    names_missing(&["trends", "-q", "--pipeline", p], Some(m));
}
