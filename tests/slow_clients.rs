//! A client that sends its headers slowly, or nothing at all, does not hold a connection of the
//! real server for good (slowloris); other clients are served meanwhile.
mod common;

use common::{ShopProcess, TestDatabase};
use std::{
    io::{Read, Write},
    net::TcpStream,
    process::Stdio,
    time::{Duration, Instant},
};

fn get_healthz(addr: &str) -> Option<String> {
    let mut stream = TcpStream::connect(addr).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: shop\r\nConnection: close\r\n\r\n").ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    Some(answer)
}

/// Seconds from `start` until the server closes `stream` (reads 0 bytes or fails), waiting at
/// most until `start + limit`.
fn seconds_until_closed(stream: &mut TcpStream, start: Instant, limit: Duration) -> Option<f64> {
    stream.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
    let mut buffer = [0u8; 1024];
    while start.elapsed() < limit {
        match stream.read(&mut buffer) {
            Ok(0) => return Some(start.elapsed().as_secs_f64()),
            Ok(_) => return Some(start.elapsed().as_secs_f64()), // an answer (408), then the close
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock || e.kind() == std::io::ErrorKind::TimedOut => {
            }
            Err(_) => return Some(start.elapsed().as_secs_f64()),
        }
    }
    None
}

/// Starts the real binary on a fresh database and waits until it answers.
fn start_shop() -> (ShopProcess, String, TestDatabase) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (db, url) = runtime.block_on(TestDatabase::create());
    let shop = ShopProcess::spawn(&url, &[], Stdio::null(), Stdio::inherit());
    let addr = shop.addr.clone();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !get_healthz(&addr).is_some_and(|a| a.starts_with("HTTP/1.1 200")) {
        assert!(Instant::now() < deadline, "the shop did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    (shop, addr, db)
}

#[test]
fn slow_or_silent_clients_are_cut_off_and_others_served() {
    let (_shop, addr, _db) = start_shop();

    // One client starts a request and sends nothing more; another says nothing at all; a
    // third drips a header line every 2 seconds.
    let start = Instant::now();
    let mut half = TcpStream::connect(&addr).unwrap();
    half.write_all(b"GET / HTTP/1.1\r\nHost: shop\r\n").unwrap();
    let mut silent = TcpStream::connect(&addr).unwrap();
    let mut dripping = TcpStream::connect(&addr).unwrap();
    dripping.write_all(b"GET / HTTP/1.1\r\nHost: shop\r\n").unwrap();
    let drip = std::thread::spawn(move || {
        for i in 0..30 {
            std::thread::sleep(Duration::from_secs(2));
            if dripping.write_all(format!("X-Drip-{i}: 1\r\n").as_bytes()).is_err() {
                return Some(start.elapsed().as_secs_f64());
            }
        }
        None
    });

    // Meanwhile the shop serves everyone else.
    for _ in 0..5 {
        assert!(get_healthz(&addr).unwrap().starts_with("HTTP/1.1 200"));
    }
    let limit = Duration::from_secs(30);
    let half_closed = seconds_until_closed(&mut half, start, limit).expect("a half-sent request is cut off");
    let silent_closed =
        seconds_until_closed(&mut silent, start, limit).expect("a silent connection is cut off");
    let drip_closed = drip.join().unwrap().expect("a dripping client is cut off");
    println!(
        "closed after: half {half_closed:.1} s, silent {silent_closed:.1} s, dripping {drip_closed:.1} s"
    );
    // The timeout is 15 s (HEADER_READ_TIMEOUT); dripping headers do not reset it.
    for (who, seconds) in [("half", half_closed), ("silent", silent_closed), ("dripping", drip_closed)] {
        assert!(seconds < 25.0, "the {who} client held on for {seconds:.1} s");
    }
    assert!(get_healthz(&addr).unwrap().starts_with("HTTP/1.1 200"));
}

#[test]
fn a_body_that_stops_arriving_is_a_408_with_the_json_error() {
    let (_shop, addr, _db) = start_shop();
    let stall = |path: &'static str, content_type: &'static str| {
        let addr = addr.clone();
        std::thread::spawn(move || {
            let mut stream = TcpStream::connect(&addr).unwrap();
            let head = format!(
                "POST {path} HTTP/1.1\r\nHost: shop\r\nContent-Type: {content_type}\r\n\
                 Accept: application/json\r\nContent-Length: 100\r\n\r\n"
            );
            stream.write_all(head.as_bytes()).unwrap();
            stream.write_all(b"{\"product_id\":").unwrap();
            let start = Instant::now();
            stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
            let mut answer = vec![0u8; 4096];
            let n = stream.read(&mut answer).unwrap_or(0);
            (start.elapsed().as_secs_f64(), String::from_utf8_lossy(&answer[..n]).into_owned())
        })
    };
    let api = stall("/api/v1/cart/items", "application/json");
    let server_fn = stall("/fn/cart/add", "application/x-www-form-urlencoded");
    for (what, waiter) in [("api", api), ("server function", server_fn)] {
        let (seconds, answer) = waiter.join().unwrap();
        assert!(answer.starts_with("HTTP/1.1 408"), "{what}: {answer}");
        assert!(answer.contains("request_timeout"), "{what}: {answer}");
        assert!((9.0..14.0).contains(&seconds), "{what}: answered after {seconds:.1} s");
    }
    assert!(get_healthz(&addr).unwrap().starts_with("HTTP/1.1 200"));
}
