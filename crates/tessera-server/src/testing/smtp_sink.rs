//! A small SMTP server on loopback for tests: it accepts every message
//! (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT), keeps the raw messages,
//! and lets a test wait for the next message to an address and read the link
//! or the code in it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

/// One delivered message.
#[derive(Debug, Clone)]
pub struct SinkMessage {
    pub from: String,
    pub to: Vec<String>,
    /// The message as sent after DATA (dot-stuffing undone), CRLF lines.
    pub raw: String,
}

impl SinkMessage {
    /// A header's value (the first one; folded lines joined).
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.raw.split("\r\n\r\n").next()?;
        let mut value: Option<String> = None;
        for line in head.split("\r\n") {
            if let Some(v) = value.as_mut() {
                if line.starts_with([' ', '\t']) {
                    v.push_str(line.trim_start());
                    continue;
                }
                break;
            }
            if let Some((n, v)) = line.split_once(':')
                && n.eq_ignore_ascii_case(name)
            {
                value = Some(v.trim().to_owned());
            }
        }
        value
    }

    /// The decoded `text/plain` part of a multipart message.
    pub fn text(&self) -> String {
        self.part("text/plain")
    }

    /// The decoded `text/html` part.
    pub fn html(&self) -> String {
        self.part("text/html")
    }

    fn part(&self, mime: &str) -> String {
        let chunks: Vec<&str> = self.raw.split("\r\n\r\n").collect();
        // Each MIME part: its headers then its body up to the next boundary.
        for (i, head) in chunks.iter().enumerate() {
            let lower = head.to_ascii_lowercase();
            if !lower.contains(&format!("content-type: {mime}")) {
                continue;
            }
            let rest = chunks[i + 1..].join("\r\n\r\n");
            let body = rest.split("\r\n--").next().unwrap_or("");
            return if lower.contains("content-transfer-encoding: base64") {
                let joined: String = body.split_whitespace().collect();
                base64::engine::general_purpose::STANDARD
                    .decode(joined)
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .unwrap_or_default()
            } else if lower.contains("content-transfer-encoding: quoted-printable") {
                decode_quoted_printable(body)
            } else {
                body.to_owned()
            };
        }
        String::new()
    }

    /// The first URL in the text part that starts with `prefix`.
    pub fn link(&self, prefix: &str) -> Option<String> {
        let text = self.text();
        let start = text.find(prefix)?;
        let end = text[start..]
            .find(|c: char| c.is_whitespace() || c == '"' || c == '<' || c == '>')
            .map(|n| start + n)
            .unwrap_or(text.len());
        Some(text[start..end].to_owned())
    }

    /// The first run of exactly six digits in the text part.
    pub fn code(&self) -> Option<String> {
        self.text()
            .split(|c: char| !c.is_ascii_digit())
            .find(|run| run.len() == 6)
            .map(str::to_owned)
    }
}

fn decode_quoted_printable(body: &str) -> String {
    let joined = body.replace("=\r\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && let Some(v) = joined
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[derive(Default)]
struct Inbox {
    messages: Mutex<Vec<SinkMessage>>,
    /// Which messages `next_to` has handed out, by index.
    taken: Mutex<Vec<bool>>,
    arrived: Notify,
}

/// The sink: runs until dropped.
pub struct SmtpSink {
    port: u16,
    inbox: Arc<Inbox>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let inbox = Arc::new(Inbox::default());
        let shared = inbox.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let inbox = shared.clone();
                tokio::spawn(async move {
                    let _ = session(stream, inbox).await;
                });
            }
        });
        SmtpSink { port, inbox, task }
    }

    /// `smtp://127.0.0.1:PORT` (plain SMTP, allowed to loopback).
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message received so far.
    pub fn messages(&self) -> Vec<SinkMessage> {
        self.inbox.messages.lock().unwrap().clone()
    }

    /// Messages received so far with `to` among the recipients.
    pub fn messages_to(&self, to: &str) -> Vec<SinkMessage> {
        self.messages()
            .into_iter()
            .filter(|m| m.to.iter().any(|r| r.eq_ignore_ascii_case(to)))
            .collect()
    }

    /// The next message to `to` not yet returned by this method, waiting up
    /// to `deadline`; `None` when none arrives in time.
    pub async fn next_to(&self, to: &str, deadline: Duration) -> Option<SinkMessage> {
        let until = tokio::time::Instant::now() + deadline;
        loop {
            let notified = self.inbox.arrived.notified();
            {
                let messages = self.inbox.messages.lock().unwrap();
                let mut taken = self.inbox.taken.lock().unwrap();
                taken.resize(messages.len(), false);
                for (i, m) in messages.iter().enumerate() {
                    if !taken[i] && m.to.iter().any(|r| r.eq_ignore_ascii_case(to)) {
                        taken[i] = true;
                        return Some(m.clone());
                    }
                }
            }
            if tokio::time::timeout_at(until, notified).await.is_err() {
                return None;
            }
        }
    }

    /// As `next_to`, failing the test when nothing arrives within 10 s.
    pub async fn wait_for(&self, to: &str) -> SinkMessage {
        self.next_to(to, Duration::from_secs(10))
            .await
            .unwrap_or_else(|| panic!("no email to {to} within 10 s"))
    }
}

async fn session(stream: TcpStream, inbox: Arc<Inbox>) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    write
        .write_all(b"220 sink.test ESMTP test sink\r\n")
        .await?;
    let mut from = String::new();
    let mut to: Vec<String> = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end();
        let verb = command
            .split([' ', ':'])
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        let answer: &[u8] = match verb.as_str() {
            "EHLO" => b"250-sink.test\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n",
            "HELO" => b"250 sink.test\r\n",
            "MAIL" => {
                from = address(command);
                to.clear();
                b"250 OK\r\n"
            }
            "RCPT" => {
                to.push(address(command));
                b"250 OK\r\n"
            }
            "DATA" if to.is_empty() => b"503 RCPT first\r\n",
            "DATA" => {
                write
                    .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    .await?;
                let mut raw = String::new();
                loop {
                    line.clear();
                    if lines.read_line(&mut line).await? == 0 {
                        return Ok(());
                    }
                    if line == ".\r\n" || line == ".\n" {
                        break;
                    }
                    // RFC 5321 §4.5.2: a leading dot was doubled by the sender.
                    let l = line.strip_prefix('.').unwrap_or(&line);
                    raw.push_str(l.trim_end_matches(['\r', '\n']));
                    raw.push_str("\r\n");
                }
                let message = SinkMessage {
                    from: std::mem::take(&mut from),
                    to: std::mem::take(&mut to),
                    raw,
                };
                inbox.messages.lock().unwrap().push(message);
                inbox.arrived.notify_waiters();
                b"250 OK queued\r\n"
            }
            "RSET" => {
                from.clear();
                to.clear();
                b"250 OK\r\n"
            }
            "NOOP" => b"250 OK\r\n",
            "QUIT" => {
                write.write_all(b"221 Bye\r\n").await?;
                return Ok(());
            }
            _ => b"502 Command not implemented\r\n",
        };
        write.write_all(answer).await?;
    }
}

/// The address in `MAIL FROM:<a>` / `RCPT TO:<a>` (parameters after it ignored).
fn address(command: &str) -> String {
    let after = command.split_once(':').map(|(_, a)| a).unwrap_or("");
    let after = after.trim_start();
    match after.strip_prefix('<').and_then(|a| a.split_once('>')) {
        Some((addr, _)) => addr.to_owned(),
        None => after.split(' ').next().unwrap_or("").to_owned(),
    }
}
