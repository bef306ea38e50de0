//! Slow and numerous clients (issue 9, point 5): the server closes connections
//! whose headers do not arrive in time, serves at most `max_connections` at once,
//! and still answers ordinary and kept-alive HTTP/1.1 requests. Raw TCP, so the
//! test controls exactly what reaches the server and when.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::*;

fn addr(s: &TestServer) -> String {
    s.base
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned()
}

fn get(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
}

/// Reads one HTTP/1.1 response (headers and a `Content-Length` body); its
/// status. Bytes of a following (pipelined) response stay in `buf`.
async fn read_buffered(stream: &mut TcpStream, buf: &mut Vec<u8>) -> u16 {
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(n > 0, "the connection closed before a response");
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map(|v| v.trim().parse().unwrap())
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(n > 0, "the connection closed inside a body");
        buf.extend_from_slice(&chunk[..n]);
    }
    buf.drain(..head_end + length);
    head[9..12].parse().unwrap()
}

async fn read_response(stream: &mut TcpStream) -> u16 {
    let mut buf = Vec::new();
    let status = read_buffered(stream, &mut buf).await;
    assert!(buf.is_empty(), "unexpected bytes after the response");
    status
}

/// Waits (at most `limit`) for the server to close the connection; how long it
/// took. Whatever the server sends first (a 408, say) is read and ignored.
async fn until_closed(stream: &mut TcpStream, limit: Duration) -> Duration {
    let started = Instant::now();
    let mut chunk = [0u8; 1024];
    loop {
        match tokio::time::timeout_at((started + limit).into(), stream.read(&mut chunk)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return started.elapsed(),
            Ok(Ok(_)) => continue,
            Err(_) => panic!("the server kept the connection open for {limit:?}"),
        }
    }
}

/// A server serving two connections at once, with a header timeout long enough
/// not to interfere.
async fn capped_at_two() -> TestServer {
    start_opts(Options {
        configure: |c| {
            c.max_connections = 2;
            c.header_read_timeout = Duration::from_secs(30);
        },
        ..Options::default()
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_with_unfinished_headers_is_closed_after_the_header_timeout() {
    let s = start_opts(Options {
        configure: |c| c.header_read_timeout = Duration::from_secs(1),
        ..Options::default()
    })
    .await;
    // A request line and a header, then nothing (slowloris).
    let mut slow = TcpStream::connect(addr(&s)).await.unwrap();
    slow.write_all(b"POST /oauth/token HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        .await
        .unwrap();
    // A connection that sends nothing at all.
    let mut silent = TcpStream::connect(addr(&s)).await.unwrap();
    let took = until_closed(&mut slow, Duration::from_secs(6)).await;
    assert!(
        took >= Duration::from_millis(800),
        "closed too early: {took:?}"
    );
    until_closed(&mut silent, Duration::from_secs(6)).await;

    // Headers trickled in a byte at a time do not restart the clock: writing
    // fails soon after the server closed (its reset answers the next byte).
    let mut trickle = TcpStream::connect(addr(&s)).await.unwrap();
    let started = Instant::now();
    let mut closed_after = None;
    for b in b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" {
        if trickle.write_all(&[*b]).await.is_err() {
            closed_after = Some(started.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let closed_after = closed_after.expect("a trickling client kept its connection");
    assert!(closed_after < Duration::from_secs(4), "{closed_after:?}");

    // The server still answers complete requests.
    let r = reply(http().get(s.url("healthz")).send().await.unwrap()).await;
    assert_eq!(r.status, 200, "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_alive_serves_several_requests_and_an_idle_connection_is_closed() {
    let s = start_opts(Options {
        configure: |c| c.header_read_timeout = Duration::from_secs(1),
        ..Options::default()
    })
    .await;
    let mut conn = TcpStream::connect(addr(&s)).await.unwrap();
    for path in ["/healthz", "/.well-known/jwks.json", "/healthz"] {
        conn.write_all(get(path).as_bytes()).await.unwrap();
        assert_eq!(read_response(&mut conn).await, 200, "{path}");
    }
    // Pipelined: two requests in one write, two answers in order.
    conn.write_all(format!("{}{}", get("/healthz"), get("/nowhere")).as_bytes())
        .await
        .unwrap();
    let mut buf = Vec::new();
    assert_eq!(read_buffered(&mut conn, &mut buf).await, 200);
    assert_eq!(read_buffered(&mut conn, &mut buf).await, 404);
    assert!(buf.is_empty());
    // Then idle: closed once the header timeout passes.
    let took = until_closed(&mut conn, Duration::from_secs(6)).await;
    assert!(took >= Duration::from_millis(800), "{took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_cap_wait_until_one_closes() {
    let s = capped_at_two().await;
    // Two connections in the middle of a request (a body still arriving).
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut c = TcpStream::connect(addr(&s)).await.unwrap();
        c.write_all(
            b"POST /oauth/token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ngrant_type",
        )
        .await
        .unwrap();
        held.push(c);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The third connects (the kernel's backlog takes it) but is not served.
    let mut third = TcpStream::connect(addr(&s)).await.unwrap();
    third.write_all(get("/healthz").as_bytes()).await.unwrap();
    let mut byte = [0u8; 1];
    let early = tokio::time::timeout(Duration::from_millis(1500), third.peek(&mut byte)).await;
    assert!(
        early.is_err(),
        "a connection beyond the cap was served: {early:?}"
    );
    // A held connection closes: the waiting one is served.
    drop(held.pop());
    let status = tokio::time::timeout(Duration::from_secs(5), read_response(&mut third))
        .await
        .expect("the waiting connection was not served after one closed");
    assert_eq!(status, 200);
}

/// Clients idling on kept-alive connections cannot hold every place: at the cap,
/// connections between requests are closed and the newcomer is served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_cap_idle_kept_alive_connections_make_room() {
    let s = capped_at_two().await;
    let mut idle = Vec::new();
    for _ in 0..2 {
        let mut c = TcpStream::connect(addr(&s)).await.unwrap();
        c.write_all(get("/healthz").as_bytes()).await.unwrap();
        assert_eq!(read_response(&mut c).await, 200);
        idle.push(c);
    }
    let mut third = TcpStream::connect(addr(&s)).await.unwrap();
    third.write_all(get("/healthz").as_bytes()).await.unwrap();
    let status = tokio::time::timeout(Duration::from_secs(5), read_response(&mut third))
        .await
        .expect("the newcomer waited behind idle connections");
    assert_eq!(status, 200);
    for c in &mut idle {
        until_closed(c, Duration::from_secs(5)).await;
    }
}

/// Connections that never send a byte cannot hold the places either: at the
/// cap they are dropped, not left to the header timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_cap_silent_connections_make_room() {
    let s = capped_at_two().await;
    let mut silent = Vec::new();
    for _ in 0..2 {
        silent.push(TcpStream::connect(addr(&s)).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut third = TcpStream::connect(addr(&s)).await.unwrap();
    third.write_all(get("/healthz").as_bytes()).await.unwrap();
    let status = tokio::time::timeout(Duration::from_secs(5), read_response(&mut third))
        .await
        .expect("the newcomer waited behind silent connections");
    assert_eq!(status, 200);
    for c in &mut silent {
        until_closed(c, Duration::from_secs(5)).await;
    }
}
