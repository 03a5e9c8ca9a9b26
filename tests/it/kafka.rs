//! Kafka ingest against the real broker that `scripts/kafka.sh` runs. Each test uses its own
//! topic and consumer group. They run one at a time: one of them restarts the broker.
//!
//! The broker's address comes from `POSTLAUNCH_KAFKA`, which `scripts/test.sh` exports after
//! starting the broker:
//!
//! - `POSTLAUNCH_KAFKA` set: the tests run, and fail when the broker cannot be reached.
//! - `POSTLAUNCH_KAFKA` not set (or empty), as in a plain `cargo test`: each test that needs the
//!   broker prints "skipped: POSTLAUNCH_KAFKA is not set; …" to stderr and passes without
//!   checking anything. Tests that need no broker (`validate_…`) run as usual.
//! - `POSTLAUNCH_REQUIRE_KAFKA=1` turns that skip into a failure, for runs that must not pass
//!   without the Kafka tests (CI, `scripts/test.sh`): a broker that was meant to be there but
//!   whose address got lost then fails the run instead of silently skipping a third of it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde_json::Value;

use crate::{bin, ok, sql, sql_i64};

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

/// The broker's address, from `POSTLAUNCH_KAFKA`, or `None` when it is not set (or empty).
fn configured_brokers() -> Option<String> {
    std::env::var_os("POSTLAUNCH_KAFKA")
        .filter(|b| !b.is_empty())
        .map(|b| {
            b.into_string()
                .expect("POSTLAUNCH_KAFKA is a broker list such as `127.0.0.1:19092`")
        })
}

/// Whether this test is to be skipped, having said so, because no broker is configured (see the
/// module docs). Fails instead when `POSTLAUNCH_REQUIRE_KAFKA=1`. Every test that needs the
/// broker starts with `if skip_without_broker() { return; }`.
fn skip_without_broker() -> bool {
    if configured_brokers().is_some() {
        return false;
    }
    let required = std::env::var("POSTLAUNCH_REQUIRE_KAFKA")
        .is_ok_and(|v| !matches!(v.trim(), "" | "0" | "false"));
    assert!(
        !required,
        "POSTLAUNCH_KAFKA is not set, and POSTLAUNCH_REQUIRE_KAFKA=1 forbids skipping the Kafka \
         tests: run scripts/test.sh, which starts a local broker, or set POSTLAUNCH_KAFKA to a \
         broker's address"
    );
    eprintln!(
        "skipped: POSTLAUNCH_KAFKA is not set; run scripts/test.sh, which starts a local broker"
    );
    true
}

/// The broker's address; only called after [`skip_without_broker`] said it is set.
fn brokers() -> String {
    configured_brokers().expect("the test checks skip_without_broker() before it needs the broker")
}

fn unique(name: &str) -> String {
    format!(
        "{name}-{}-{}",
        std::process::id(),
        chrono::Utc::now().timestamp_micros() % 1_000_000_000
    )
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn create_topic(topic: &str, partitions: i32) {
    create_topic_with(topic, partitions, &[]);
}

fn create_topic_with(topic: &str, partitions: i32, config: &[(&str, &str)]) {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .create()
        .unwrap();
    runtime().block_on(async {
        let mut t = NewTopic::new(topic, partitions, TopicReplication::Fixed(1));
        for (k, v) in config {
            t = t.set(k, v);
        }
        let res = admin
            .create_topics([&t], &AdminOptions::new())
            .await
            .unwrap();
        for r in res {
            r.unwrap();
        }
    });
}

fn producer() -> FutureProducer {
    ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .set("enable.idempotence", "true")
        .set("linger.ms", "5")
        .create()
        .unwrap()
}

/// A producer with its own runtime, reused for every batch a test sends.
struct Sender {
    rt: tokio::runtime::Runtime,
    producer: FutureProducer,
    sent: usize,
}

impl Sender {
    fn new() -> Sender {
        Sender {
            rt: runtime(),
            producer: producer(),
            sent: 0,
        }
    }

    /// Produces `payloads` with keys spreading them over the partitions; returns when all are acked.
    fn send(&mut self, topic: &str, payloads: &[Vec<u8>]) {
        let keys: Vec<String> = (self.sent..self.sent + payloads.len())
            .map(|i| i.to_string())
            .collect();
        self.sent += payloads.len();
        let p = &self.producer;
        self.rt.block_on(async {
            // send_result enqueues at once (an async `send` would only enqueue when awaited)
            let mut pending = Vec::new();
            for (payload, key) in payloads.iter().zip(&keys) {
                let mut record = FutureRecord::to(topic).key(key).payload(payload);
                loop {
                    match p.send_result(record) {
                        Ok(delivery) => break pending.push(delivery),
                        Err((_, back)) => {
                            record = back; // queue full: wait for deliveries
                            tokio::time::sleep(Duration::from_millis(10)).await;
                        }
                    }
                }
            }
            for f in pending {
                f.await
                    .expect("delivered")
                    .map_err(|(e, _)| e)
                    .expect("produced");
            }
        });
    }
}

fn produce(topic: &str, payloads: &[Vec<u8>]) {
    Sender::new().send(topic, payloads);
}

/// Produces `request(0..n)` in batches of 1 000, 300 ms apart, on a thread of its own.
fn produce_in_background(topic: &str, n: usize) -> std::thread::JoinHandle<()> {
    let topic = topic.to_string();
    std::thread::spawn(move || {
        let payloads: Vec<Vec<u8>> = (0..n).map(request).collect();
        let mut sender = Sender::new();
        for chunk in payloads.chunks(1_000) {
            sender.send(&topic, chunk);
            std::thread::sleep(Duration::from_millis(300));
        }
    })
}

/// A `requests` event whose trace_id is its sequence number (to detect duplicates).
fn request(seq: usize) -> Vec<u8> {
    format!(
        r#"{{"ts":"2026-11-27T{:02}:{:02}:{:02}Z","service":"api","endpoint":"GET /x","status":200,"duration_ms":{seq},"trace_id":"t{seq}"}}"#,
        (seq / 3600) % 24,
        (seq / 60) % 60,
        seq % 60
    )
    .into_bytes()
}

struct Pipeline {
    dir: tempfile::TempDir,
    file: PathBuf,
    lake: PathBuf,
}

impl Pipeline {
    fn new(topic: &str, group: &str, extra_options: &str, metrics: &str) -> Pipeline {
        let dir = tempfile::tempdir().unwrap();
        let lake = dir.path().join("lake");
        let file = dir.path().join("pipeline.toml");
        let mut f = std::fs::File::create(&file).unwrap();
        write!(
            f,
            r#"lake = "{lake}"
memory_budget = "64MiB"
[kafka]
brokers = "{brokers}"
group_id = "{group}"
[kafka.options]
"session.timeout.ms" = "6000"
"heartbeat.interval.ms" = "500"
"fetch.wait.max.ms" = "50"
{extra_options}
[flush]
max_rows = 5000
max_bytes = "16MiB"
max_age = "1s"
[metrics]
listen = "{metrics}"
[[topics]]
topic = "{topic}"
table = "requests"
"#,
            lake = lake.display(),
            brokers = brokers(),
        )
        .unwrap();
        Pipeline { dir, file, lake }
    }

    fn start(&self) -> Child {
        Command::new(bin())
            .args(["ingest", "-q", "--pipeline", self.file.to_str().unwrap()])
            .env_remove("POSTLAUNCH_LAKE")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// An instance whose warnings go to `log` (read after it exits).
    fn start_logging_to(&self, log: &Path, extra: &[&str]) -> Child {
        Command::new(bin())
            .args(["ingest", "--pipeline", self.file.to_str().unwrap()])
            .args(extra)
            .env_remove("POSTLAUNCH_LAKE")
            .env_remove("RUST_LOG")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .unwrap()
    }

    /// `ingest --exit-at-end` to completion (at most 90 s); its stderr.
    fn backfill(&self, extra: &[&str], env: &[(&str, &str)]) -> String {
        let mut child = Command::new(bin())
            .args([
                "ingest",
                "--exit-at-end",
                "--pipeline",
                self.file.to_str().unwrap(),
            ])
            .args(extra)
            .env_remove("POSTLAUNCH_LAKE")
            .env_remove("RUST_LOG")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (status, err) = child.wait_with_output_timeout(Duration::from_secs(90));
        assert!(status.success(), "{status}: {err}");
        err
    }

    fn count(&self) -> i64 {
        if !self.lake.join("requests").exists() {
            return 0;
        }
        sql_i64(&self.lake, "SELECT count(*) FROM requests")
    }

    fn wait_for(&self, n: i64, timeout: Duration) {
        let started = Instant::now();
        loop {
            let got = self.count();
            if got >= n {
                return;
            }
            assert!(
                started.elapsed() < timeout,
                "only {got} of {n} rows after {timeout:?}"
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// Exactly `n` rows, each trace id once, and the commit log's offset ranges disjoint.
    fn assert_exactly(&self, n: i64) {
        let row = sql(
            &self.lake,
            "SELECT count(*) AS n, count(DISTINCT trace_id) AS distinct_traces FROM requests",
        )
        .remove(0);
        assert_eq!(row["n"], n, "rows stored");
        assert_eq!(row["distinct_traces"], n, "no duplicates");
        assert_disjoint_log(&self.lake.join("requests/_log"));
    }
}

/// Distinct Kafka partitions named by the commit log's source ranges.
fn logged_partitions(dir: &Path) -> usize {
    let mut parts = std::collections::BTreeSet::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let v: Value = serde_json::from_slice(&std::fs::read(e.path()).unwrap()).unwrap();
        for src in v["sources"].as_array().unwrap() {
            parts.insert(src["partition"].as_i64());
        }
    }
    parts.len()
}

/// Reads every partition of `topic` from its beginning to its high watermark with a plain
/// consumer (no group, no postlaunch code): the oracle of what the lake must hold. Returns the
/// trace ids per partition, in offset order.
fn read_topic(topic: &str) -> std::collections::BTreeMap<i32, Vec<(i64, String)>> {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::Message;
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .set("group.id", unique("oracle"))
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let meta = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .unwrap();
    let mut tpl = rdkafka::TopicPartitionList::new();
    let mut ends = std::collections::BTreeMap::new();
    for p in meta.topics()[0].partitions() {
        let (_, high) = consumer
            .fetch_watermarks(topic, p.id(), Duration::from_secs(10))
            .unwrap();
        ends.insert(p.id(), high);
        tpl.add_partition_offset(topic, p.id(), rdkafka::Offset::Beginning)
            .unwrap();
    }
    consumer.assign(&tpl).unwrap();
    let mut out: std::collections::BTreeMap<i32, Vec<(i64, String)>> = Default::default();
    let started = Instant::now();
    let done = |out: &std::collections::BTreeMap<i32, Vec<(i64, String)>>| {
        ends.iter().all(|(p, &high)| {
            high == 0
                || out
                    .get(p)
                    .and_then(|v| v.last())
                    .is_some_and(|l| l.0 + 1 >= high)
        })
    };
    while !done(&out) {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "reading the topic back"
        );
        let Some(m) = consumer.poll(Duration::from_millis(200)) else {
            continue;
        };
        let m = m.unwrap();
        let v: Value = serde_json::from_slice(m.payload().unwrap()).unwrap();
        out.entry(m.partition())
            .or_default()
            .push((m.offset(), v["trace_id"].as_str().unwrap().to_string()));
    }
    out
}

/// The lake holds exactly the topic (read back independently), and its commit log says so:
/// per partition, the claimed offsets cover the topic's offsets without a gap or overlap, and
/// every commit's rows are exactly the records its claims count.
fn assert_lake_equals_topic(lake: &Path, topic: &str) {
    let truth = read_topic(topic);
    let mut want: Vec<String> = truth.values().flatten().map(|(_, t)| t.clone()).collect();
    want.sort();
    let mut got: Vec<String> = sql(lake, "SELECT trace_id FROM requests")
        .into_iter()
        .map(|r| r["trace_id"].as_str().unwrap().to_string())
        .collect();
    got.sort();
    assert_eq!(
        got.len(),
        want.len(),
        "rows in the lake vs records in the topic"
    );
    assert!(got == want, "the lake's trace ids differ from the topic's");
    let mut claims: std::collections::BTreeMap<i64, Vec<(i64, i64, i64)>> = Default::default();
    for e in std::fs::read_dir(lake.join("requests/_log"))
        .unwrap()
        .flatten()
    {
        let c: Value = serde_json::from_slice(&std::fs::read(e.path()).unwrap()).unwrap();
        let rows: i64 = c["add"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["rows"].as_i64().unwrap())
            .sum();
        let sources = c["sources"].as_array().unwrap();
        let records: i64 = sources.iter().map(|s| s["records"].as_i64().unwrap()).sum();
        assert_eq!(
            rows, records,
            "commit {}: rows vs claimed records",
            c["version"]
        );
        for s in sources {
            claims
                .entry(s["partition"].as_i64().unwrap())
                .or_default()
                .push((
                    s["first"].as_i64().unwrap(),
                    s["last"].as_i64().unwrap(),
                    s["records"].as_i64().unwrap(),
                ));
        }
    }
    for (p, records) in &truth {
        let mut mine = claims.remove(&(*p as i64)).unwrap_or_default();
        mine.sort();
        let first = records[0].0;
        let last = records.last().unwrap().0;
        assert_eq!(
            mine.first().map(|c| c.0),
            Some(first),
            "partition {p} starts"
        );
        assert_eq!(mine.last().map(|c| c.1), Some(last), "partition {p} ends");
        for w in mine.windows(2) {
            assert_eq!(
                w[0].1 + 1,
                w[1].0,
                "partition {p}: claims {w:?} continue each other"
            );
        }
        let n: i64 = mine.iter().map(|c| c.2).sum();
        assert_eq!(n, records.len() as i64, "partition {p}: claimed records");
    }
}

fn assert_disjoint_log(dir: &Path) {
    let mut ranges: Vec<(String, i64, i64, i64)> = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let v: Value = serde_json::from_slice(&std::fs::read(e.path()).unwrap()).unwrap();
        for s in v["sources"].as_array().unwrap() {
            ranges.push((
                s["source"].as_str().unwrap().to_string(),
                s["partition"].as_i64().unwrap_or(-1),
                s["first"].as_i64().unwrap(),
                s["last"].as_i64().unwrap(),
            ));
        }
    }
    ranges.sort();
    for w in ranges.windows(2) {
        if w[0].0 == w[1].0 && w[0].1 == w[1].1 {
            assert!(
                w[0].3 < w[1].2,
                "overlapping committed offsets {:?} and {:?}",
                w[0],
                w[1]
            );
        }
    }
}

fn stop(mut child: Child) {
    // SIGTERM: flush, commit, exit 0
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let out = child.wait_with_output_timeout(Duration::from_secs(60));
    assert!(
        out.0.success(),
        "ingest did not exit cleanly on SIGTERM ({}): {}",
        out.0,
        out.1
    );
}

trait WaitTimeout {
    fn wait_with_output_timeout(&mut self, t: Duration) -> (std::process::ExitStatus, String);
}

impl WaitTimeout for Child {
    fn wait_with_output_timeout(&mut self, t: Duration) -> (std::process::ExitStatus, String) {
        let started = Instant::now();
        loop {
            if let Some(status) = self.try_wait().unwrap() {
                let mut err = String::new();
                if let Some(mut e) = self.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut e, &mut err);
                }
                return (status, err);
            }
            if started.elapsed() > t {
                let _ = self.kill();
                panic!("process did not exit within {t:?}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn http_get(addr: &str, path: &str) -> String {
    use std::io::Read;
    let once = || -> std::io::Result<String> {
        let mut s = std::net::TcpStream::connect(addr)?;
        write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n")?;
        let mut out = String::new();
        s.read_to_string(&mut out)?;
        Ok(out)
    };
    // a connection can be reset while the endpoint starts; a few tries, then fail with the error
    let mut last = None;
    for _ in 0..5 {
        match once() {
            Ok(out) => return out,
            Err(e) => last = Some(e),
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    panic!("GET http://{addr}{path} failed: {last:?}");
}

#[test]
fn end_to_end_every_record_exactly_once_with_metrics() {
    if skip_without_broker() {
        return;
    }
    let _g = serial();
    let topic = unique("e2e");
    create_topic(&topic, 4);
    let n = 20_000;
    let payloads: Vec<Vec<u8>> = (0..n).map(request).collect();
    produce(&topic, &payloads);
    let metrics = format!("127.0.0.1:{}", free_port());
    let p = Pipeline::new(&topic, &unique("g"), "", &metrics);
    let child = p.start();
    p.wait_for(n as i64, Duration::from_secs(90));
    let text = http_get(&metrics, "/metrics");
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(
        text.contains(&format!(
            "postlaunch_records_stored_total{{table=\"requests\"}} {n}"
        )),
        "{text}"
    );
    assert!(
        text.contains("postlaunch_flush_duration_seconds_count"),
        "{text}"
    );
    assert!(
        text.contains("postlaunch_seconds_since_last_durable_write"),
        "{text}"
    );
    stop(child);
    p.assert_exactly(n as i64);
    // the commit log covers all four partitions
    assert_eq!(logged_partitions(&p.lake.join("requests/_log")), 4);
    // a restart consumes nothing twice
    let child = p.start();
    std::thread::sleep(Duration::from_secs(4));
    stop(child);
    p.assert_exactly(n as i64);
    drop(p.dir);
}

#[test]
fn kill_9_at_random_moments_while_producing_loses_and_duplicates_nothing() {
    if skip_without_broker() {
        return;
    }
    let _g = serial();
    let topic = unique("crash");
    create_topic(&topic, 4);
    let n = 60_000;
    // about 20 s of production, spanning the kills
    let producer = produce_in_background(&topic, n);
    // static membership: a restarted instance takes its partitions back at once
    let p = Pipeline::new(
        &topic,
        &unique("g"),
        r#""group.instance.id" = "crash-loop""#,
        "",
    );
    let mut rng = crate::XorShift(0x9e37_79b9_7f4a_7c15);
    for _ in 0..10 {
        let mut child = p.start();
        std::thread::sleep(Duration::from_millis(700 + rng.next_u64() % 1800));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
    }
    producer.join().unwrap();
    let child = p.start();
    p.wait_for(n as i64, Duration::from_secs(120));
    stop(child);
    p.assert_exactly(n as i64);
}

#[test]
fn two_instances_split_partitions_and_survive_a_stop_and_restart() {
    if skip_without_broker() {
        return;
    }
    let _g = serial();
    let topic = unique("rebalance");
    create_topic(&topic, 4);
    let n = 40_000;
    // about 12 s of production, spanning the stop and the restart
    let producer = produce_in_background(&topic, n);
    let p = Pipeline::new(&topic, &unique("g"), "", "");
    let a = p.start();
    let b = p.start();
    std::thread::sleep(Duration::from_secs(4));
    stop(b); // its partitions move to `a`
    std::thread::sleep(Duration::from_secs(2));
    let b = p.start(); // and are split again
    producer.join().unwrap();
    p.wait_for(n as i64, Duration::from_secs(120));
    stop(a);
    stop(b);
    p.assert_exactly(n as i64);
}

#[test]
fn a_broker_restart_mid_stream_is_survived_exactly_once() {
    if skip_without_broker() {
        return;
    }
    let _g = serial();
    let topic = unique("restart");
    create_topic(&topic, 4);
    let n = 30_000;
    let payloads: Vec<Vec<u8>> = (0..n).map(request).collect();
    produce(&topic, &payloads[..n / 2]);
    let p = Pipeline::new(&topic, &unique("g"), "", "");
    let child = p.start();
    p.wait_for(1, Duration::from_secs(60));
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/kafka.sh");
    let st = Command::new(&script).arg("stop").status().unwrap();
    assert!(st.success(), "kafka.sh stop");
    std::thread::sleep(Duration::from_secs(2));
    let st = Command::new(&script)
        .arg("start")
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success(), "kafka.sh start");
    produce(&topic, &payloads[n / 2..]);
    p.wait_for(n as i64, Duration::from_secs(120));
    stop(child);
    p.assert_exactly(n as i64);
}

#[test]
fn poison_messages_land_in_rejected_with_their_offsets_and_never_stall() {
    if skip_without_broker() {
        return;
    }
    let _g = serial();
    let corpus: Value = serde_json::from_str(include_str!("../corpus/bad_inputs.json")).unwrap();
    let topic = unique("poison");
    // one partition: offsets are the order produced; large messages allowed for the oversize case
    create_topic_with(&topic, 1, &[("max.message.bytes", "4000000")]);
    let good = corpus["good"]["requests"]
        .as_str()
        .unwrap()
        .as_bytes()
        .to_vec();
    let mut payloads = vec![good.clone()];
    let mut expected = Vec::new();
    for c in corpus["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["table"] == "requests")
    {
        let p = if let Some(hex) = c["payload_hex"].as_str() {
            (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                .collect()
        } else if c["payload"] == "OVERSIZE" {
            vec![b'x'; 2 << 20] // over the 1 MiB default record limit
        } else {
            c["payload"].as_str().unwrap().as_bytes().to_vec()
        };
        expected.push((
            payloads.len() as i64,
            c["reason"].as_str().unwrap().to_string(),
        ));
        payloads.push(p);
        payloads.push(good.clone());
    }
    let big = ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .set("message.max.bytes", "4000000")
        .create::<FutureProducer>()
        .unwrap();
    runtime().block_on(async {
        for payload in &payloads {
            big.send(
                FutureRecord::<(), _>::to(&topic).payload(payload),
                Duration::from_secs(30),
            )
            .await
            .unwrap();
        }
    });
    let p = Pipeline::new(&topic, &unique("g"), "", "");
    let child = p.start();
    let goods = (payloads.len() - expected.len()) as i64;
    p.wait_for(goods, Duration::from_secs(60));
    stop(child);
    assert_eq!(p.count(), goods);
    let rows = sql(
        &p.lake,
        "SELECT source, source_partition, position, reason FROM _rejected ORDER BY position",
    );
    assert_eq!(rows.len(), expected.len());
    for (row, (offset, reason)) in rows.iter().zip(&expected) {
        assert_eq!(row["position"], *offset);
        assert_eq!(row["source"], format!("kafka:{topic}"));
        assert_eq!(row["source_partition"], 0);
        assert!(
            row["reason"].as_str().unwrap().contains(reason.as_str())
                || reason.contains("over the limit"),
            "{row} vs {reason}"
        );
    }
}

#[test]
fn demo_to_kafka_then_ingest_stores_the_whole_scenario() {
    if skip_without_broker() {
        return;
    }
    let _g = serial();
    let prefix = format!("{}.", unique("demo"));
    let args = [
        "--days",
        "1",
        "--scale",
        "0.1",
        "--tables",
        "requests,deployments",
        "--no-malformed",
    ];
    let dir = tempfile::tempdir().unwrap();
    let emit = dir.path().join("emit");
    let mut emit_args = vec!["demo", "-q", "--emit", emit.to_str().unwrap()];
    emit_args.extend(args);
    ok(&emit_args);
    let lines = std::fs::read_to_string(emit.join("requests.ndjson"))
        .unwrap()
        .lines()
        .count() as i64;
    create_topic(&format!("{prefix}requests"), 4);
    create_topic(&format!("{prefix}deployments"), 1);
    let brokers = brokers();
    let mut pub_args = vec![
        "demo",
        "-q",
        "--to-kafka",
        brokers.as_str(),
        "--topic-prefix",
        prefix.as_str(),
    ];
    pub_args.extend(args);
    ok(&pub_args);
    let p = Pipeline::new(&format!("{prefix}requests"), &unique("g"), "", "");
    let child = p.start();
    p.wait_for(lines, Duration::from_secs(60));
    stop(child);
    assert_eq!(p.count(), lines);
}

#[test]
fn validate_accepts_the_shipped_pipelines_and_names_bad_values() {
    for f in std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines"))
        .unwrap()
        .flatten()
    {
        let path = f.path();
        if path.extension().is_some_and(|e| e == "toml")
            && !path
                .file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .ends_with(".example.toml")
        {
            ok(&["validate", "-q", path.to_str().unwrap()]);
        }
    }
    let dir = tempfile::tempdir().unwrap();
    for (body, needle) in [
        ("[kafka]\nbrokers = \"x:1\"\ngroup_id = \"g\"\n[[topics]]\ntopic = \"t\"\ntable = \"nope\"\n", "`nope`"),
        ("[kafka]\nbrokers = \"x:1\"\ngroup_id = \"g\"\nstart_from = \"middle\"\n[[topics]]\ntopic = \"t\"\ntable = \"requests\"\n", "`middle`"),
        ("[kafka]\nbrokers = \"x:1\"\ngroup_id = \"g\"\nbrokerz = 1\n[[topics]]\ntopic = \"t\"\ntable = \"requests\"\n", "brokerz"),
        ("[kafka]\nbrokers = \"x:1\"\ngroup_id = \"g\"\n[kafka.options]\n\"sasl.password\" = \"${POSTLAUNCH_TEST_UNSET_SECRET}\"\n[[topics]]\ntopic = \"t\"\ntable = \"requests\"\n", "POSTLAUNCH_TEST_UNSET_SECRET"),
        ("[kafka]\nbrokers = \"x:1\"\ngroup_id = \"g\"\n[flush]\nmax_age = \"soon\"\n[[topics]]\ntopic = \"t\"\ntable = \"requests\"\n", "`soon`"),
        ("[kafka]\nbrokers = \"x:1\"\ngroup_id = \"g\"\n[metrics]\nlisten = \"everywhere\"\n[[topics]]\ntopic = \"t\"\ntable = \"requests\"\n", "`everywhere`"),
    ] {
        let f = dir.path().join("p.toml");
        std::fs::write(&f, body).unwrap();
        let out = crate::run(&["validate", f.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(78), "{body}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "`{needle}` not in: {err}");
    }
    // secrets are never printed
    let f = dir.path().join("s.toml");
    std::fs::write(&f, "[kafka]\nbrokers = \"x:1\"\ngroup_id = \"g\"\n[kafka.options]\n\"sasl.password\" = \"${POSTLAUNCH_TEST_SECRET}\"\n[[topics]]\ntopic = \"t\"\ntable = \"requests\"\n").unwrap();
    let out = Command::new(bin())
        .args(["validate", f.to_str().unwrap()])
        .env("POSTLAUNCH_TEST_SECRET", "hunter2")
        .output()
        .unwrap();
    assert!(out.status.success());
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!all.contains("hunter2") && all.contains("****"), "{all}");
}

#[test]
fn exit_at_end_reads_to_the_end_commits_and_exits_by_itself() {
    if skip_without_broker() {
        return;
    }
    let _g = serial();
    let topic = unique("backfill");
    create_topic(&topic, 3);
    let n = 3_000;
    let payloads: Vec<Vec<u8>> = (0..n).map(request).collect();
    produce(&topic, &payloads);
    let p = Pipeline::new(&topic, &unique("g"), "", "");
    let mut child = Command::new(bin())
        .args([
            "ingest",
            "-q",
            "--exit-at-end",
            "--pipeline",
            p.file.to_str().unwrap(),
        ])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (status, err) = child.wait_with_output_timeout(Duration::from_secs(90));
    assert!(status.success(), "{status}: {err}");
    p.assert_exactly(n as i64);

    // Regression (issue 12): with nothing new, the partitions were assigned at the lake's
    // position and nothing was read, and the run never ended; now it exits 0 and says so.
    let err = p.backfill(&[], &[]);
    assert!(err.contains("nothing new"), "{err}");
    p.assert_exactly(n as i64);

    // new records in one partition only: stored, and the run still ends
    let sender = producer();
    runtime().block_on(async {
        for i in n..n + 10 {
            let payload = request(i);
            sender
                .send(
                    FutureRecord::<(), _>::to(&topic)
                        .partition(0)
                        .payload(&payload),
                    Duration::from_secs(30),
                )
                .await
                .unwrap();
        }
    });
    let err = p.backfill(&[], &[]);
    assert!(err.contains("10 records consumed, 10 stored"), "{err}");
    p.assert_exactly(n as i64 + 10);
    assert_lake_equals_topic(&p.lake, &topic);
}

/// `--memory-budget` / `POSTLAUNCH_MEMORY_BUDGET` and `--metrics-listen` /
/// `POSTLAUNCH_METRICS_LISTEN` override the pipeline file (they were ignored with `--pipeline`,
/// and a second instance from the same file could not start: its metrics port was taken).
#[test]
fn flags_and_environment_override_the_pipeline_file() {
    if skip_without_broker() {
        return;
    }
    let _g = serial();
    let topic = unique("flags");
    create_topic(&topic, 2);
    produce(&topic, &(0..100).map(request).collect::<Vec<_>>());
    let taken = format!("127.0.0.1:{}", free_port());
    let p = Pipeline::new(&topic, &unique("g"), "", &taken);

    let err = p.backfill(&["-v"], &[("POSTLAUNCH_MEMORY_BUDGET", "40MiB")]);
    assert!(
        err.contains(&format!("memory_budget={}", 40 << 20)),
        "{err}"
    );
    assert!(
        !err.contains('\x1b'),
        "no colour codes when stderr is not a terminal: {err}"
    );
    let err = p.backfill(
        &["-v", "--memory-budget", "48MiB"],
        &[("POSTLAUNCH_MEMORY_BUDGET", "40MiB")],
    );
    assert!(
        err.contains(&format!("memory_budget={}", 48 << 20)),
        "{err}"
    );
    let out = crate::run(&[
        "ingest",
        "--pipeline",
        p.file.to_str().unwrap(),
        "--memory-budget",
        "1MiB",
    ]);
    assert_eq!(out.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&out.stderr).contains("flush.max_bytes"));
    p.assert_exactly(100);

    // two instances from one file: the second is told how to pick another port
    let log = p.dir.path().join("first.log");
    let first = p.start_logging_to(&log, &[]);
    let started = Instant::now();
    while !http_get_ok(&taken) {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the first instance serves /metrics"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let out = crate::run(&["ingest", "--pipeline", p.file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(78));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&taken)
            && err.contains("--metrics-listen")
            && err.contains("POSTLAUNCH_METRICS_LISTEN"),
        "{err}"
    );
    let second_addr = format!("127.0.0.1:{}", free_port());
    let mut second = Command::new(bin())
        .args(["ingest", "-q", "--pipeline", p.file.to_str().unwrap()])
        .env("POSTLAUNCH_METRICS_LISTEN", &second_addr)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !http_get_ok(&second_addr) {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the second instance serves /metrics on {second_addr}: {:?}",
            second.try_wait()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    stop(second);
    stop(first);
}

/// Whether `GET /metrics` answers 200.
fn http_get_ok(addr: &str) -> bool {
    use std::io::Read;
    let Ok(mut s) = std::net::TcpStream::connect(addr) else {
        return false;
    };
    let _ = write!(s, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out.starts_with("HTTP/1.1 200")
}

/// Produces `request(0..n)` in batches of `batch`, `pause` apart, on a thread of its own.
fn produce_slowly(
    topic: &str,
    n: usize,
    batch: usize,
    pause: Duration,
) -> std::thread::JoinHandle<()> {
    let topic = topic.to_string();
    std::thread::spawn(move || {
        let payloads: Vec<Vec<u8>> = (0..n).map(request).collect();
        let mut sender = Sender::new();
        for chunk in payloads.chunks(batch) {
            sender.send(&topic, chunk);
            std::thread::sleep(pause);
        }
    })
}

fn signal(child: &Child, sig: &str) {
    let st = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(st.success(), "kill -{sig}");
}

/// Regression (issue 12): an instance frozen (SIGSTOP: a GC pause, a VM migration, a laptop
/// lid) for longer than its session timeout is fenced out of the group and its partitions go to
/// the other instance; when it resumes (SIGCONT) it still holds their buffered records, and used
/// to commit them on top of the new owner's (165 and 446 duplicated rows in the issue's runs).
/// Two instances, five freezes of 10 s against a 6 s session timeout while the topic is
/// produced; the topic, read back by a plain consumer, is the oracle.
#[test]
fn instances_frozen_past_their_session_timeout_commit_nothing_twice() {
    if skip_without_broker() {
        return;
    }
    let _g = serial();
    let topic = unique("freeze");
    create_topic(&topic, 4);
    let n = 60_000;
    // about 70 s of production, spanning the freezes
    let producer = produce_slowly(&topic, n, 400, Duration::from_millis(450));
    let p = Pipeline::new(&topic, &unique("g"), "", "");
    let logs = [p.dir.path().join("a.log"), p.dir.path().join("b.log")];
    let instances = [
        p.start_logging_to(&logs[0], &[]),
        p.start_logging_to(&logs[1], &[]),
    ];
    let mut rng = crate::XorShift(0x5851_f42d_4c95_7f2d);
    std::thread::sleep(Duration::from_secs(4));
    for i in 0..5 {
        let victim = &instances[i % 2];
        signal(victim, "STOP");
        std::thread::sleep(Duration::from_secs(10));
        signal(victim, "CONT");
        std::thread::sleep(Duration::from_millis(2_000 + rng.next_u64() % 3_000));
    }
    producer.join().unwrap();
    p.wait_for(n as i64, Duration::from_secs(180));
    let [a, b] = instances;
    stop(a);
    stop(b);
    let said: String = logs
        .iter()
        .map(|l| std::fs::read_to_string(l).unwrap())
        .collect();
    // the scenario happened: a resumed instance found itself fenced out of the group
    assert!(
        said.contains("Assignment lost") || said.contains("fenced out of the consumer group"),
        "no instance noticed it was fenced:\n{said}"
    );
    p.assert_exactly(n as i64);
    assert_lake_equals_topic(&p.lake, &topic);
}

/// Transitions of `alerts replay --format json` or of the live log, as comparable lines.
fn transition_line(v: &Value) -> String {
    let get = |k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    // the replay's event_time is RFC 3339 with microseconds; the log's with milliseconds
    let t = get("event_time");
    format!(
        "{} {} {} {} {}",
        &t[..t.len().min(19)],
        get("rule"),
        get("entity"),
        get("change"),
        get("severity")
    )
}

/// The 7-day demo's requests on a fresh 1-partition topic (the stream arrives in the producer's
/// order, the demo's: time order, but for its few late records), and a pipeline file for it in
/// `dir` whose alert rules are the shipped ones plus `notify` (channel tables); returns the lake
/// and the pipeline file.
fn demo_alerting_pipeline(name: &str, dir: &Path, notify: &str) -> (PathBuf, PathBuf) {
    let prefix = format!("{}.", unique(name));
    let topic = format!("{prefix}requests");
    create_topic(&topic, 1);
    let brokers = brokers();
    ok(&[
        "demo",
        "-q",
        "--to-kafka",
        brokers.as_str(),
        "--topic-prefix",
        prefix.as_str(),
        "--days",
        "7",
        "--tables",
        "requests",
        "--no-malformed",
    ]);
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines/alerts.toml");
    let text = std::fs::read_to_string(rules).unwrap() + notify;
    std::fs::write(dir.join("alerts.toml"), text).unwrap();
    let lake = dir.join("lake");
    let file = dir.join("pipeline.toml");
    std::fs::write(
        &file,
        format!(
            "lake = \"{}\"\nalerts = \"alerts.toml\"\n[kafka]\nbrokers = \"{brokers}\"\ngroup_id = \"{}\"\n[kafka.options]\n\"fetch.wait.max.ms\" = \"50\"\n[metrics]\nlisten = \"\"\n[[topics]]\ntopic = \"{topic}\"\ntable = \"requests\"\n",
            lake.display(),
            unique("g")
        ),
    )
    .unwrap();
    (lake, file)
}

/// `[notify.pagerduty]` pointing at a stand-in receiver.
fn pagerduty_table(r: &crate::notify::Receiver) -> String {
    format!(
        "[notify.pagerduty]\nurl = \"http://127.0.0.1:{}/v2/enqueue\"\nrouting_key = \"{}\"\n",
        r.port,
        crate::notify::KEY
    )
}

#[test]
fn live_alerts_agree_with_the_replay_of_the_same_events() {
    if skip_without_broker() {
        return;
    }
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    // the shipped rules, notifying PagerDuty and Slack stand-ins that check the contracts
    let pagerduty = crate::notify::Receiver::start("pagerduty", dir.path(), "");
    let slack = crate::notify::Receiver::start("slack", dir.path(), "");
    let (lake, file) = demo_alerting_pipeline(
        "alerts",
        dir.path(),
        &format!(
            "{}[notify.slack]\nwebhook_url = \"http://127.0.0.1:{}/hook\"\n",
            pagerduty_table(&pagerduty),
            slack.port
        ),
    );
    let out = Command::new(bin())
        .args([
            "ingest",
            "-v",
            "--log-format",
            "json",
            "--exit-at-end",
            "--pipeline",
        ])
        .arg(&file)
        .env_remove("POSTLAUNCH_LAKE")
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let live: Vec<String> = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        // transitions carry a `change` field; other lines (start-up, "Alert rules are …") do not
        .filter(|v| v["fields"]["change"].is_string())
        .map(|v| transition_line(&v["fields"]))
        .collect();
    let replay: Vec<String> = crate::alerts::replay(&lake)
        .iter()
        .map(transition_line)
        .collect();
    // the live engine's last steps stay open (nothing after them moves the watermark); the replay
    // closes every step of its range: compare what both have decided
    let last_live = live.last().cloned().unwrap_or_default();
    let decided: Vec<&String> = replay.iter().filter(|r| **r <= last_live).collect();
    assert!(
        live.iter()
            .any(|l| l.contains("error_rate checkout firing")),
        "the incident is seen live: {live:#?}"
    );
    assert_eq!(
        live.iter().collect::<Vec<_>>(),
        decided,
        "live {live:#?}\nreplay {replay:#?}"
    );
    // every live transition is in the `alerts` table; `alerts list` shows each alert's latest
    let listed = ok(&[
        "alerts",
        "list",
        "-q",
        "--lake",
        lake.to_str().unwrap(),
        "--state",
        "all",
        "--format",
        "json",
    ]);
    let rows: Vec<Value> = serde_json::from_slice(&listed.stdout).unwrap();
    assert!(
        rows.iter()
            .any(|r| r["rule"] == "error_rate" && r["entity"] == "checkout"),
        "{rows:?}"
    );
    let stored = sql_i64(&lake, "SELECT count(*) FROM alerts");
    assert_eq!(stored, live.len() as i64);
    // The P1/P2 alerts paged: PagerDuty got, per alert (dedup_key), a trigger first and its
    // resolve last, every request to the contract (202); the checkout incident's P3 went to Slack
    let pages = pagerduty.received();
    assert!(
        !pages.is_empty() && pages.iter().all(|(s, _)| *s == 202),
        "{pages:?}"
    );
    let mut by_key: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for (_, b) in &pages {
        by_key
            .entry(b["dedup_key"].as_str().unwrap().to_string())
            .or_default()
            .push(b["event_action"].as_str().unwrap().to_string());
    }
    for (key, actions) in &by_key {
        assert!(key.starts_with("postlaunch/error_rate/service/"), "{key}");
        assert_eq!(
            actions.first().map(String::as_str),
            Some("trigger"),
            "{key}: {actions:?}"
        );
        assert_eq!(
            actions.last().map(String::as_str),
            Some("resolve"),
            "{key}: {actions:?}"
        );
    }
    let messages = slack.received();
    assert!(
        !messages.is_empty() && messages.iter().all(|(s, _)| *s == 200),
        "{messages:?}"
    );
    // every delivery is in `notifications` (a row per alert; a Slack message may carry several),
    // none failed
    let failed = sql_i64(
        &lake,
        "SELECT count(*) FROM notifications WHERE status = 'failed'",
    );
    let pd = sql_i64(
        &lake,
        "SELECT count(*) FROM notifications WHERE status = 'sent' AND channel = 'pagerduty'",
    );
    let sl = sql_i64(
        &lake,
        "SELECT count(*) FROM notifications WHERE status = 'sent' AND channel = 'slack'",
    );
    assert_eq!(failed, 0);
    assert_eq!(pd as usize, pages.len());
    assert!(sl as usize >= messages.len());
    the_page_opened_an_incident_measured_from_the_lake(&lake);
}

/// End to end, the demo's incident replayed through Kafka: its page (the first P1/P2 alert of the
/// stream) opened one incident for the alert's service, linked to the alert, and `postlaunch
/// incidents` measures its MTTD and time to notify from what the lake holds — checked here against
/// the same instants read straight from the `alerts` and `notifications` tables.
fn the_page_opened_an_incident_measured_from_the_lake(lake: &Path) {
    let l = lake.to_str().unwrap();
    let paged = crate::sql(
        lake,
        "SELECT entity FROM alerts WHERE entity_kind = 'service' AND severity IN ('P1', 'P2') AND change IN ('firing', 'escalated') ORDER BY event_time LIMIT 1",
    );
    let service = paged[0]["entity"].as_str().unwrap().to_string();
    let opened = sql_i64(
        lake,
        &format!("SELECT count(DISTINCT incident_id) FROM incidents WHERE status = 'detected' AND author = 'postlaunch' AND service = '{service}'"),
    );
    assert_eq!(opened, 1, "one incident for the {service} alert group");
    let out = ok(&[
        "incidents",
        "-q",
        "--lake",
        l,
        "--all-columns",
        "--format",
        "json",
    ]);
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let r = rows
        .iter()
        .find(|r| r["service"] == service.as_str())
        .unwrap_or_else(|| panic!("no incident of {service}: {rows:?}"));
    assert!(matches!(r["severity"].as_str(), Some("P1" | "P2")), "{r}");
    let key = format!("postlaunch/error_rate/service/{service}");
    assert!(r["alerts"].as_str().unwrap().contains(&key), "{r}");
    assert_eq!(r["blind_spot"], false, "the alert came first: {r}");
    // MTTD: the first firing of the alert − its onset (the impact start: nobody recorded one), in
    // seconds, from the `alerts` table
    let first = |col: &str| {
        sql_i64(
            lake,
            &format!("SELECT CAST(min({col}) AS BIGINT) FROM alerts WHERE rule = 'error_rate' AND entity = '{service}' AND change = 'firing'"),
        )
    };
    let (fired, onset) = (first("event_time"), first("onset"));
    let mttd = r["mttd_s"].as_f64().unwrap();
    let expected = (fired - onset) as f64 / 1e6;
    assert!(
        (mttd - expected).abs() < 1e-6 && mttd > 0.0 && mttd < 1800.0,
        "MTTD {mttd} s, expected {expected} s: {r}"
    );
    // time to notify: the first delivery of one of its firing transitions − that transition's
    // decision (both wall clock): seconds, not minutes, with group_wait 10 s
    let notify = r["time_to_notify_s"].as_f64().unwrap();
    let fastest = sql_i64(
        lake,
        &format!("SELECT min(CAST(n.wall_time AS BIGINT) - CAST(a.wall_time AS BIGINT)) FROM notifications n JOIN alerts a ON n.alert = 'postlaunch/' || a.rule || '/' || a.entity_kind || '/' || a.entity AND n.event_time = a.event_time WHERE n.status = 'sent' AND a.entity = '{service}' AND a.change IN ('firing', 'escalated')"),
    ) as f64
        / 1e6;
    assert!(
        (0.0..60.0).contains(&notify) && (notify - fastest).abs() < 1e-6,
        "time to notify {notify} s (fastest delivery {fastest} s): {r}"
    );
    assert!(
        matches!(r["notified_on"].as_str(), Some("pagerduty" | "slack")),
        "{r}"
    );
    // it is stored, and open (a person resolves it)
    assert_eq!(r["state"], "open");
    assert!(sql_i64(lake, "SELECT count(*) FROM incident_metrics") >= 1);
}

/// Kill -9 the daemon between an alert's decision and its delivery: the restarted daemon
/// delivers the page, and PagerDuty gets each alert's trigger accepted exactly once — our queue
/// repeats nothing, although the restarted engine decides the same transitions again.
#[test]
fn a_page_queued_before_a_kill_9_is_delivered_after_the_restart_exactly_once() {
    if skip_without_broker() {
        return;
    }
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    // PagerDuty answers 500 to the first three requests: the page waits in the queue, retried
    let pagerduty = crate::notify::Receiver::start("pagerduty", dir.path(), "500,500,500");
    let (lake, file) = demo_alerting_pipeline("notify", dir.path(), &pagerduty_table(&pagerduty));
    let ingest = |extra: &[&str]| {
        Command::new(bin())
            .args(["ingest", "-q", "--pipeline", file.to_str().unwrap()])
            .args(extra)
            .env_remove("POSTLAUNCH_LAKE")
            .env_remove("RUST_LOG")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let mut first = ingest(&[]);
    // the first attempt failed: the page is queued, waiting for its retry; kill -9 now
    let deadline = Instant::now() + Duration::from_secs(60);
    while pagerduty.received().is_empty() {
        assert!(Instant::now() < deadline, "no page attempted within 60 s");
        std::thread::sleep(Duration::from_millis(50));
    }
    first.kill().unwrap(); // SIGKILL
    first.wait().unwrap();
    let queued = std::fs::read_dir(lake.join(".notify/queue"))
        .unwrap()
        .count();
    assert!(queued >= 1, "the page is in the queue on disk");
    // the restart: it reads the stream again from the lake's position, decides again, and sends
    // what is queued (the receiver still fails twice before it accepts)
    let mut second = ingest(&["--exit-at-end"]);
    let (status, _) = second.wait_with_output_timeout(Duration::from_secs(120));
    assert!(status.success(), "{status}");
    let pages = pagerduty.received();
    let mut accepted: std::collections::BTreeMap<(String, String), usize> = Default::default();
    for (s, b) in &pages {
        if *s == 202 {
            let key = (
                b["dedup_key"].as_str().unwrap().to_string(),
                b["event_action"].as_str().unwrap().to_string(),
            );
            *accepted.entry(key).or_default() += 1;
        }
    }
    assert!(
        accepted.keys().any(|(_, a)| a == "trigger"),
        "the page was delivered after the restart: {pages:?}"
    );
    assert!(accepted.values().all(|n| *n == 1), "{accepted:?}");
    assert!(
        std::fs::read_dir(lake.join(".notify/queue"))
            .unwrap()
            .count()
            == 0
    );
}
