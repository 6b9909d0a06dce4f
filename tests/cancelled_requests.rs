//! A client that goes away mid-request (a closed tab, a load generator stopping, the request
//! deadline) drops the request's work wherever it is. No write may be left half-begun: on
//! SQLite a transaction that began but was never ended keeps the database's write lock, and
//! every later write would wait out the busy timeout and fail.

mod common;

use axum::http::StatusCode;
use common::{TestApp, APPLE, BANANA};
use std::time::{Duration, Instant};

fn random_below(limit: u64) -> u64 {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).expect("random bytes");
    u64::from_le_bytes(bytes) % limit
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_cancelled_at_any_moment_leave_the_database_writable() {
    let app = TestApp::new().await;
    let client = app.client();
    let (email, password) = client.register("Cancel").await;
    assert_eq!(client.login(&email, &password, "session").await.status, StatusCode::OK);
    assert_eq!(client.add(APPLE, 1).await.status, StatusCode::OK);

    // How long sixteen adds at once take here, so that the cuts fall all along their way.
    let started = Instant::now();
    let adds: Vec<_> = (0..16).map(|_| client.add(BANANA, 1)).collect();
    for response in futures::future::join_all(adds).await {
        assert_eq!(response.status, StatusCode::OK);
    }
    let window = started.elapsed().as_micros() as u64;

    let mut finished = 0;
    for round in 0..40 {
        let mut tasks = Vec::new();
        for _ in 0..16 {
            let client = client.clone();
            let cut_after = Duration::from_micros(random_below(window + 1));
            tasks.push(tokio::spawn(async move {
                tokio::time::timeout(cut_after, client.add(BANANA, 1)).await.is_ok()
            }));
        }
        for task in tasks {
            finished += task.await.unwrap() as u32;
        }
        // A write that left the lock behind makes the next one wait for the busy timeout.
        let check = tokio::time::timeout(Duration::from_secs(3), client.add(APPLE, 1)).await;
        let response = check
            .unwrap_or_else(|_| panic!("round {round}: an add waited 3 s: a write lock was left behind"));
        assert_eq!(response.status, StatusCode::OK, "round {round}: {}", response.text());
    }
    // Some requests were cut, some were not: the test covered both.
    assert!(finished > 0 && finished < 40 * 16, "{finished} of 640 adds finished");

    // What was committed is whole: the cart reads, with no line beyond its limits.
    let cart = client.cart().await;
    for line in cart["lines"].as_array().unwrap() {
        let quantity = line["quantity"].as_i64().unwrap();
        assert!((1..=99).contains(&quantity), "{line}");
    }
    let signed_in = app.sql_i64("SELECT COUNT(*) FROM carts WHERE user_id IS NOT NULL").await;
    assert_eq!(signed_in, 1, "one saved cart for the one user");
}
