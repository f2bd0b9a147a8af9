//! `make run` (the local-stack binary) with a port already taken: it stops before starting
//! anything, naming the port and the variable that moves it.

use std::net::TcpListener;
use std::process::Command;
use std::time::{Duration, Instant};

fn run_with(variable: &str, taken: u16, other: &str) -> (bool, String, String, Duration) {
    let free = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_local-stack"))
        .env(variable, taken.to_string())
        .env(other, free.to_string())
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.success(), text(&out.stdout), text(&out.stderr), started.elapsed())
}

#[test]
fn a_taken_port_stops_make_run_before_anything_starts() {
    // something (a NestJS service, say) already listens on the port
    let held = TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = held.local_addr().unwrap().port();
    for (variable, other) in
        [("LOCAL_ADMIN_PORT", "LOCAL_DYNAMO_PORT"), ("LOCAL_DYNAMO_PORT", "LOCAL_ADMIN_PORT")]
    {
        let (ok, stdout, stderr, took) = run_with(variable, taken, other);
        assert!(!ok, "{variable}: it must fail");
        assert!(
            stderr.contains(&format!("port {taken}")) && stderr.contains(variable),
            "{variable}: {stderr}"
        );
        assert!(stdout.is_empty(), "{variable}: nothing started or printed first: {stdout}");
        assert!(took < Duration::from_secs(20), "{variable}: found at once, took {took:?}");
    }
}
