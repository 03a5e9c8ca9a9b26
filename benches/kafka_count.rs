//! The bare-consumer peer of `scripts/bench-kafka.sh`: reads a whole topic with librdkafka (the
//! same rdkafka build postlaunch uses) and only counts messages and bytes, then prints
//! `messages bytes seconds`. No decoding, no lake: the client-side limit on this machine.
//!
//! Usage: kafka_count BROKERS TOPIC EXPECTED_MESSAGES

use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::Message;

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let [brokers, topic, expected] = args.as_slice() else {
        eprintln!("usage: kafka_count BROKERS TOPIC EXPECTED_MESSAGES");
        std::process::exit(2);
    };
    let expected: u64 = expected.parse().expect("EXPECTED_MESSAGES is a number");
    let group = format!("kafka-count-{}", std::process::id());
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", &group)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set("fetch.max.bytes", "16777216")
        .set("queued.max.messages.kbytes", "16384")
        .create()
        .expect("consumer");
    consumer.subscribe(&[topic.as_str()]).expect("subscribe");
    let started = Instant::now();
    let (mut n, mut bytes) = (0u64, 0u64);
    while n < expected {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => {
                n += 1;
                bytes += m.payload().map_or(0, |p| p.len() as u64);
            }
            Some(Err(e)) => eprintln!("kafka_count: {e}"),
            None => {
                if started.elapsed() > Duration::from_secs(600) {
                    eprintln!("kafka_count: gave up after 600 s at {n} messages");
                    std::process::exit(1);
                }
            }
        }
    }
    println!("{n} {bytes} {:.3}", started.elapsed().as_secs_f64());
}
