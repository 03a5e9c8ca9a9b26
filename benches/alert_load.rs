//! The load of `scripts/bench-alerts.sh`: `requests` events at RATE a second per service, 1 % of
//! them 5xx, for STEPS services in turn: after a random 20–40 s, service `svc-i`'s error rate
//! steps to 6 % for 60 s, then back to 1 %. Events carry the wall time as `ts`. For each step it
//! prints `step SERVICE FIRST_BAD_WALL_MS` (the wall time the first 5xx of the step was sent), and
//! `done` at the end.
//!
//! Usage: alert_load BROKERS TOPIC RATE STEPS WARMUP_S SEED

use std::io::Write;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rdkafka::config::ClientConfig;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// xorshift64*: the random moments and which requests fail.
struct Rng(u64);

impl Rng {
    fn next_f64(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let [brokers, topic, rate, steps, warmup, seed] = args.as_slice() else {
        eprintln!("usage: alert_load BROKERS TOPIC RATE STEPS WARMUP_S SEED");
        std::process::exit(2);
    };
    let rate: u64 = rate.parse().expect("RATE is a number");
    let steps: usize = steps.parse().expect("STEPS is a number");
    let warmup: u64 = warmup.parse().expect("WARMUP_S is a number");
    let mut rng = Rng(seed.parse::<u64>().expect("SEED is a number") | 1);
    let producer: ThreadedProducer<DefaultProducerContext> = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("linger.ms", "5")
        .create()
        .expect("producer");
    let services: Vec<String> = (0..steps).map(|i| format!("svc-{i}")).collect();
    // (service index, step start, step end) in seconds after the start
    let mut plan = Vec::new();
    let mut t = warmup as f64;
    for i in 0..steps {
        t += 20.0 + 20.0 * rng.next_f64();
        plan.push((i, t, t + 60.0));
        t += 60.0;
    }
    let end = t + 15.0;
    let started = Instant::now();
    let mut first_bad: Vec<Option<i64>> = vec![None; steps];
    let tick = Duration::from_millis(100);
    let per_tick = (rate as f64 / 10.0).max(1.0) as u64;
    let mut out = std::io::stdout().lock();
    let mut next = started;
    while started.elapsed().as_secs_f64() < end {
        let at = started.elapsed().as_secs_f64();
        for (i, service) in services.iter().enumerate() {
            let stepped = plan.iter().any(|(s, a, b)| *s == i && at >= *a && at < *b);
            let share = if stepped { 0.06 } else { 0.01 };
            for _ in 0..per_tick {
                let bad = rng.next_f64() < share;
                let wall = now_ms();
                if bad && stepped && first_bad[i].is_none() {
                    first_bad[i] = Some(wall);
                    writeln!(out, "step {service} {wall}").ok();
                    out.flush().ok();
                }
                let line = format!(
                    r#"{{"ts":{wall},"service":"{service}","endpoint":"GET /","status":{},"duration_ms":{:.1}}}"#,
                    if bad { 503 } else { 200 },
                    20.0 + 30.0 * rng.next_f64()
                );
                let record = BaseRecord::<[u8], [u8]>::to(topic)
                    .key(service.as_bytes())
                    .payload(line.as_bytes());
                if let Err((e, _)) = producer.send(record) {
                    eprintln!("alert_load: {e}");
                }
            }
        }
        next += tick;
        if let Some(wait) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
    producer.flush(Duration::from_secs(10)).ok();
    writeln!(out, "done").ok();
}
