//! The load of `scripts/bench-alerts.sh`: `requests` events at RATE a second per service, 1 % of
//! them 5xx, for STEPS services in turn: after a random 20–40 s, service `svc-i`'s error rate
//! steps to 6 % for 60 s, then back to 1 %. Events carry the wall time as `ts`. For each step it
//! prints `step SERVICE FIRST_BAD_WALL_MS` (the wall time the first 5xx of the step was sent), and
//! `done` at the end.
//!
//! With METRICS_ADDR (e.g. `127.0.0.1:19400`) it also serves `/metrics` there in Prometheus' text
//! format, as an instrumented service would: `http_requests_total{service, code}` counts the
//! requests it produced (code `200` or `503`; a request counts once the producer has taken it).
//! That is what the Prometheus + Alertmanager peer of the benchmark (`scripts/prometheus.sh`)
//! scrapes. With METRICS_ADDR the load also runs on for 90 s after the last step instead of 15 s:
//! Prometheus's 1-minute rate windows and `for: 30s` need that long to see the last step through.
//!
//! The step lasts STEP_S seconds (environment; default 60).
//!
//! Usage: alert_load BROKERS TOPIC RATE STEPS WARMUP_S SEED [METRICS_ADDR]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rdkafka::config::ClientConfig;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};

const USAGE: &str = "usage: alert_load BROKERS TOPIC RATE STEPS WARMUP_S SEED [METRICS_ADDR]";

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

/// `http_requests_total` of one service: the requests produced with status 200 and with 503.
#[derive(Default)]
struct Counts {
    ok: AtomicU64,
    failed: AtomicU64,
}

/// The `/metrics` body: an `http_requests_total` line for each service and code.
fn render(services: &[String], counts: &[Counts]) -> String {
    let mut body = String::from(
        "# HELP http_requests_total Requests produced by alert_load, by service and status code.\n\
         # TYPE http_requests_total counter\n",
    );
    for (service, count) in services.iter().zip(counts) {
        for (code, n) in [("200", &count.ok), ("503", &count.failed)] {
            body.push_str(&format!(
                "http_requests_total{{service=\"{service}\",code=\"{code}\"}} {}\n",
                n.load(Ordering::Relaxed)
            ));
        }
    }
    body
}

/// Answers scrapes on `listener`, one connection at a time, until the process exits.
fn serve(listener: TcpListener, services: Vec<String>, counts: Arc<Vec<Counts>>) {
    for stream in listener.incoming() {
        match stream {
            Ok(stream) => respond(stream, &services, &counts),
            Err(e) => eprintln!("alert_load: /metrics: {e}"),
        }
    }
}

/// One HTTP exchange: `GET /metrics` gets the counters, any other path a 404.
fn respond(mut stream: TcpStream, services: &[String], counts: &[Counts]) {
    // A client that stalls must not hold up the next scrape.
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok();
    // The whole request head is read before answering: closing a socket with unread input
    // resets the connection, and the client may lose the response.
    let mut buf = [0u8; 4096];
    let mut n = 0;
    while n < buf.len() {
        match stream.read(&mut buf[n..]) {
            Ok(0) | Err(_) => break,
            Ok(k) => n += k,
        }
        if buf[..n].windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
    }
    let request = String::from_utf8_lossy(&buf[..n]);
    let path = request.split_whitespace().nth(1).unwrap_or("/");
    let (status, body) = if path == "/metrics" {
        ("200 OK", render(services, counts))
    } else {
        ("404 Not Found", "see /metrics\n".to_string())
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).ok();
}

fn main() {
    let mut args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let metrics_addr: Option<String> = if args.len() == 7 { args.pop() } else { None };
    let [brokers, topic, rate, steps, warmup, seed] = args.as_slice() else {
        eprintln!("{USAGE}");
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
    let counts: Arc<Vec<Counts>> = Arc::new((0..steps).map(|_| Counts::default()).collect());
    if let Some(addr) = &metrics_addr {
        let listener = match TcpListener::bind(addr.as_str()) {
            Ok(listener) => listener,
            Err(e) => {
                eprintln!("alert_load: cannot serve /metrics on `{addr}`: {e}");
                std::process::exit(2);
            }
        };
        let services = services.clone();
        let counts = Arc::clone(&counts);
        std::thread::spawn(move || serve(listener, services, counts));
    }
    // how long each step lasts (STEP_S, default 60 s)
    let step_s: f64 = std::env::var("STEP_S")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|s: &f64| *s > 0.0)
        .unwrap_or(60.0);
    // (service index, step start, step end) in seconds after the start
    let mut plan = Vec::new();
    let mut t = warmup as f64;
    for i in 0..steps {
        t += 20.0 + 20.0 * rng.next_f64();
        plan.push((i, t, t + step_s));
        t += step_s;
    }
    let tail = if metrics_addr.is_some() { 90.0 } else { 15.0 };
    let end = t + tail;
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
                match producer.send(record) {
                    Ok(()) => {
                        let count = &counts[i];
                        let n = if bad { &count.failed } else { &count.ok };
                        n.fetch_add(1, Ordering::Relaxed);
                    }
                    Err((e, _)) => eprintln!("alert_load: {e}"),
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
