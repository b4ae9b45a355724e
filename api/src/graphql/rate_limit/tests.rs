//! The limiter's unit tests: local buckets, leases, a hung Redis.

use super::*;

#[test]
fn buckets_drain_and_refill() {
    let limits = Limits {
        budget: 100.0,
        restore_per_second: 1_000_000.0,
        ..Limits::default()
    };
    let limiter = RateLimiter::new(None);
    assert!(limiter.charge_locally(&limits, "a", 60).is_ok());
    // A million points a second refill a 100-point bucket within 2 ms.
    std::thread::sleep(std::time::Duration::from_millis(2));
    assert!(limiter.charge_locally(&limits, "a", 60).is_ok());
    let slow = Limits {
        budget: 100.0,
        restore_per_second: 1.0,
        ..Limits::default()
    };
    assert!(limiter.charge_locally(&slow, "b", 60).is_ok());
    let retry = limiter.charge_locally(&slow, "b", 60).unwrap_err();
    assert!((19.0..=21.0).contains(&retry), "retry after {retry}");
    assert!(
        limiter.charge_locally(&slow, "c", 60).is_ok(),
        "buckets are per principal"
    );
}

fn limits(budget: f64, restore: f64) -> Limits {
    Limits {
        budget,
        restore_per_second: restore,
        ..Limits::default()
    }
}

/// A Redis that accepts connections and never answers costs the first request one
/// deadline; the breaker then sends everyone to the local buckets at once, also 32
/// requests at a time, and they still limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_redis_costs_one_deadline_not_one_per_request() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let broker =
        crate::broker::Broker::connect_lazily(&format!("redis://127.0.0.1:{port}")).unwrap();
    let limiter = Arc::new(RateLimiter::new(Some(SharedBuckets::new(broker, "hung"))));
    let limits = Arc::new(limits(1000.0, 1.0));
    let started = Instant::now();
    assert!(limiter.charge(&limits, "a", 10).await.is_ok());
    let first = started.elapsed();
    assert!(first < std::time::Duration::from_secs(1), "{first:?}");

    let started = Instant::now();
    let requests: Vec<_> = (0..32)
        .map(|_| {
            let (limiter, limits) = (limiter.clone(), limits.clone());
            tokio::spawn(async move { limiter.charge(&limits, "a", 10).await })
        })
        .collect();
    for request in requests {
        assert!(request.await.unwrap().is_ok());
    }
    let all = started.elapsed();
    assert!(all < std::time::Duration::from_millis(100), "{all:?}");
    // 33 × 10 of the local 1,000 points are gone; 67 more fit, the 68th does not.
    for _ in 0..67 {
        assert!(limiter.charge(&limits, "a", 10).await.is_ok());
    }
    assert!(limiter.charge(&limits, "a", 10).await.is_err());
}

/// The Redis of `TEST_REDIS_URL` and a key prefix of this test's own; `None` (the test
/// is not run) when the variable is not set.
fn test_redis(test: &str) -> Option<(crate::broker::Broker, String)> {
    let Ok(url) = std::env::var("TEST_REDIS_URL") else {
        eprintln!("TEST_REDIS_URL is not set: {test} test not run");
        return None;
    };
    let prefix = format!("{test}-test-{}", uuid::Uuid::new_v4().simple());
    Some((crate::broker::Broker::connect_lazily(&url).unwrap(), prefix))
}

/// With a live Redis, a cheap request leases a twentieth of the budget and the next
/// ones spend it here: Redis sees one charge for many requests, and never more than
/// the bucket held in all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cheap_requests_spend_a_lease_and_leases_never_overspend() {
    let Some((broker, prefix)) = test_redis("lease") else {
        return;
    };
    let shared = SharedBuckets::new(broker.clone(), &prefix);
    let limits = limits(1000.0, 0.0);
    let level = |broker: crate::broker::Broker| {
        let key = format!("{prefix}:rate:a");
        async move {
            let level: String = broker
                .run(
                    redis::cmd("HGET").arg(key).arg("a"),
                    std::time::Duration::from_secs(2),
                )
                .await
                .expect("Redis answers");
            level.parse::<f64>().unwrap()
        }
    };
    // Two instances on one bucket of 1,000 points, 10 points a request.
    let one = RateLimiter::new(Some(shared.clone()));
    let two = RateLimiter::new(Some(shared));
    let first = one.charge(&limits, "a", 10).await.unwrap();
    assert!((first.available - 990.0).abs() < 1e-9, "{first:?}");
    assert!(
        (level(broker.clone()).await - 940.0).abs() < 1e-9,
        "10 + a 50-point lease"
    );
    for _ in 0..5 {
        one.charge(&limits, "a", 10).await.unwrap();
    }
    assert!(
        (level(broker.clone()).await - 940.0).abs() < 1e-9,
        "the lease paid for five more"
    );
    // Both instances spend until refused: together never more than 1,000 points.
    let mut served = 6;
    loop {
        let a = one.charge(&limits, "a", 10).await.is_ok();
        let b = two.charge(&limits, "a", 10).await.is_ok();
        served += usize::from(a) + usize::from(b);
        if !a && !b {
            break;
        }
    }
    assert!(
        (90..=100).contains(&served),
        "{served} requests of 10 points"
    );
}

/// A burst of concurrent cheap requests from one principal leases one share, not one
/// each: 64 requests of 20 points from a 20,000-point bucket all pass.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_leases_one_share_not_one_each() {
    let Some((broker, prefix)) = test_redis("burst") else {
        return;
    };
    let limiter = Arc::new(RateLimiter::new(Some(SharedBuckets::new(broker, &prefix))));
    let limits = Arc::new(limits(20_000.0, 0.0));
    let burst: Vec<_> = (0..64)
        .map(|_| {
            let (limiter, limits) = (limiter.clone(), limits.clone());
            tokio::spawn(async move { limiter.charge(&limits, "a", 20).await })
        })
        .collect();
    for request in burst {
        assert!(request.await.unwrap().is_ok());
    }
}
