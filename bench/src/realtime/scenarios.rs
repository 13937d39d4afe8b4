//! The measurements. Each starts its own gateway on a fresh store, warms it up, measures, then
//! closes its sockets and waits for the gateway to finish their `$disconnect`s before it stops
//! it, so no step's tail runs into the next one's figures.
//!
//! - [`connects`]: sockets opened and closed per second, with bounded concurrency.
//! - [`fanout`]: one sender, everyone else subscribed to its session: the time until the last
//!   socket has each message, and where the gateway spent it.
//! - [`pairs`]: a customer and an agent per session, both sending as fast as their replies come
//!   back; every delivery is checked (nothing lost, duplicated or out of order).

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use futures::StreamExt;
use switchboard_shared::domain::Role;
use tokio::runtime::Handle;
use tokio::sync::{mpsc, watch, Barrier};
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use super::client::{self, Frame, Socket, FRAME_TIMEOUT};
use super::cpu::{self, CpuSnapshot, CpuSplit};
use super::dist::Dist;
use super::harness::{BenchGateway, GatewayOptions};
use super::probe::{Call, Event, Probe};
use super::{BenchError, Result};

/// How long the gateway must have been idle to count as settled.
const QUIET: Duration = Duration::from_millis(100);
/// How long settling may take.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(120);
/// How long stopping the gateway may take.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// Progress on stderr (stdout is the report).
fn progress(text: &str) {
    eprintln!("realtime-bench: {text}");
}

/// How many store calls of each kind (`query gsi1 SUBS`, `put CONN`, …) a set of events made.
pub type CallCounts = BTreeMap<String, usize>;

fn store_calls(events: &[Event]) -> CallCounts {
    let mut counts = CallCounts::new();
    for event in events {
        let name = match &event.call {
            Call::Store { op, target } => format!("{op} {target}"),
            Call::Post { .. } => "post".to_owned(),
        };
        *counts.entry(name).or_default() += 1;
    }
    counts
}

/// How long at least one of `events` was in flight (the union of their intervals).
fn busy<'a>(events: impl Iterator<Item = &'a Event>) -> Duration {
    let mut spans: Vec<(Instant, Instant)> = events.map(|e| (e.start, e.end)).collect();
    spans.sort_unstable();
    let mut total = Duration::ZERO;
    let mut current: Option<(Instant, Instant)> = None;
    for (start, end) in spans {
        current = match current {
            Some((open, close)) if start <= close => Some((open, close.max(end))),
            Some((open, close)) => {
                total += since(open, close);
                Some((start, end))
            }
            None => Some((start, end)),
        };
    }
    total + current.map_or(Duration::ZERO, |(open, close)| since(open, close))
}

fn failed_posts(events: &[Event]) -> usize {
    events.iter().filter(|e| matches!(e.call, Call::Post { ok: false })).count()
}

async fn open_all(
    gateway: &BenchGateway,
    tokens: Vec<String>,
    concurrency: usize,
) -> Result<Vec<(Socket, Duration)>> {
    let ws_root = Arc::new(gateway.ws_root.clone());
    let tokens = Arc::new(tokens);
    let count = tokens.len();
    client::bounded(count, concurrency, move |index| {
        let (ws_root, tokens) = (Arc::clone(&ws_root), Arc::clone(&tokens));
        async move { client::connect(&ws_root, &tokens[index]).await }
    })
    .await
}

fn tokens_for(gateway: &BenchGateway, users: &[(String, Role)]) -> Result<Vec<String>> {
    users.iter().map(|(user, role)| gateway.token(user, *role)).collect()
}

/// Closes the sockets, waits for the gateway to settle, stops it.
async fn finish(gateway: BenchGateway, sockets: Vec<Socket>, concurrency: usize) -> Result<()> {
    client::close_all(sockets, concurrency).await?;
    gateway.settle(true, QUIET, SETTLE_TIMEOUT).await?;
    gateway.stop(STOP_TIMEOUT).await
}

// ---------------------------------------------------------------------------------------------
// Connects and disconnects
// ---------------------------------------------------------------------------------------------

/// Sizes of the connect measurement.
#[derive(Debug, Clone, Copy)]
pub struct ConnectsConfig {
    /// Sockets opened (then closed).
    pub sockets: usize,
    /// Opened (closed) at once.
    pub concurrency: usize,
    /// Sockets opened and closed first, unmeasured.
    pub warmup: usize,
}

/// What the connect measurement found.
#[derive(Debug, Clone)]
pub struct ConnectsResult {
    /// The sizes.
    pub config: ConnectsConfig,
    /// From the first connect to the last socket open.
    pub connect_wall: Duration,
    /// Each connect: TCP, the upgrade request, the authorizer, `$connect`, the 101.
    pub connects: Dist,
    /// CPU while connecting.
    pub connect_cpu: CpuSplit,
    /// The gateway's store calls while connecting.
    pub connect_calls: CallCounts,
    /// From the first close to the last close handshake done on the client's side.
    pub close_wall: Duration,
    /// Each close handshake, on the client's side.
    pub closes: Dist,
    /// From the first close to the end of the gateway's last store call of the `$disconnect`s.
    pub disconnect_wall: Duration,
    /// CPU while disconnecting (over `disconnect_wall`).
    pub disconnect_cpu: CpuSplit,
    /// The gateway's store calls while disconnecting.
    pub disconnect_calls: CallCounts,
}

/// Opens `sockets` sockets as distinct customers, `concurrency` at a time, then closes them.
pub async fn connects(
    runtime: &Handle,
    options: GatewayOptions,
    config: ConnectsConfig,
) -> Result<ConnectsResult> {
    let gateway = BenchGateway::start(runtime, options)?;
    let users: Vec<(String, Role)> =
        (0..config.sockets + config.warmup).map(|i| (format!("conn-{i:06}"), Role::Customer)).collect();
    let mut tokens = tokens_for(&gateway, &users)?;
    let warm_tokens = tokens.split_off(config.sockets);

    progress(&format!("connects: warming up with {} sockets", config.warmup));
    let warm = open_all(&gateway, warm_tokens, config.concurrency).await?;
    client::close_all(warm.into_iter().map(|(s, _)| s).collect(), config.concurrency).await?;
    gateway.settle(true, QUIET, SETTLE_TIMEOUT).await?;
    gateway.probe.take();

    progress(&format!("connects: opening {} sockets, {} at a time", config.sockets, config.concurrency));
    let before = cpu::snapshot();
    let started = Instant::now();
    let opened = open_all(&gateway, tokens, config.concurrency).await?;
    let connect_wall = started.elapsed();
    let connect_cpu = cpu::snapshot().since(&before);
    gateway.settle(false, QUIET, SETTLE_TIMEOUT).await?;
    let connect_calls = store_calls(&gateway.probe.take());
    let connects = Dist::of(opened.iter().map(|(_, took)| *took));
    let open = gateway.gateway.connections().count();
    if open != config.sockets {
        return Err(BenchError::Protocol(format!(
            "{} sockets opened but the gateway has {open}",
            config.sockets
        )));
    }

    progress(&format!("connects: closing {} sockets, {} at a time", config.sockets, config.concurrency));
    let before = cpu::snapshot();
    let started = Instant::now();
    let closes = client::close_all(opened.into_iter().map(|(s, _)| s).collect(), config.concurrency).await?;
    let close_wall = started.elapsed();
    gateway.settle(true, QUIET, SETTLE_TIMEOUT).await?;
    let disconnect_wall = gateway
        .probe
        .last_end()
        .map_or(close_wall, |end| end.saturating_duration_since(started))
        .max(close_wall);
    let disconnect_cpu = CpuSplit { wall: disconnect_wall, ..cpu::snapshot().since(&before) };
    let disconnect_calls = store_calls(&gateway.probe.take());
    gateway.stop(STOP_TIMEOUT).await?;
    Ok(ConnectsResult {
        config,
        connect_wall,
        connects,
        connect_cpu,
        connect_calls,
        close_wall,
        closes: Dist::of(closes),
        disconnect_wall,
        disconnect_cpu,
        disconnect_calls,
    })
}

// ---------------------------------------------------------------------------------------------
// Fan-out latency
// ---------------------------------------------------------------------------------------------

/// Sizes of the fan-out measurement.
#[derive(Debug, Clone, Copy)]
pub struct FanoutConfig {
    /// Sockets subscribed to the session: the customer (the sender), the agent, and admins.
    pub sockets: usize,
    /// Messages measured, sent one after the other.
    pub messages: usize,
    /// Messages sent first, unmeasured.
    pub warmup: usize,
    /// Sockets opened and subscribed at once while setting up.
    pub concurrency: usize,
}

/// One message's fan-out. Times are from the moment the sender's frame was written.
#[derive(Debug, Clone, Copy)]
pub struct FanoutSample {
    /// When it was sent, from the first measured message's send.
    pub at: Duration,
    /// Until the last socket had it (the sender's own reply included).
    pub last: Duration,
    /// Until the first other socket had it.
    pub first: Duration,
    /// Until half the other sockets had it.
    pub median: Duration,
    /// Until the sender had its reply.
    pub reply: Duration,
    /// Until the gateway's store write of the message started (frame transit, routing, the
    /// Lambda-shaped event).
    pub before_write: Duration,
    /// The store write (one transaction).
    pub write: Duration,
    /// The subscription Queries (all pages).
    pub query: Duration,
    /// How many subscription Query pages.
    pub queries: usize,
    /// From the write's end to the first post (reading the subscriptions included).
    pub write_to_posts: Duration,
    /// From the first post's start to the last post's end.
    pub posts: Duration,
    /// Posts made (`message.created` to the others, the receipt to the sender).
    pub post_count: usize,
    /// Posts that failed.
    pub post_failures: usize,
    /// Median time of one post.
    pub post_p50: Duration,
    /// Longest post.
    pub post_max: Duration,
    /// From the last post's end until the sender had its reply.
    pub posts_to_reply: Duration,
    /// From the last post's end until the last socket had the message.
    pub posts_to_last: Duration,
}

/// What the fan-out measurement found.
#[derive(Debug, Clone)]
pub struct FanoutResult {
    /// The sizes.
    pub config: FanoutConfig,
    /// One sample per measured message.
    pub samples: Vec<FanoutSample>,
    /// CPU over the measured messages.
    pub cpu: CpuSplit,
    /// The gateway's store calls and posts over the measured messages.
    pub calls: CallCounts,
}

/// The sequence number in a fanned-out `message.created` frame of the fan-out measurement (body
/// `fo-<n>`), found without parsing the frame: 1,000 receivers share the CPU with the gateway.
fn fanout_seq(text: &str) -> Option<u64> {
    const BODY: &str = "\"body\":\"fo-";
    if !text.contains("\"message.created\"") {
        return None;
    }
    let start = text.find(BODY)? + BODY.len();
    let digits = text.get(start..)?;
    let end = digits.find(|c: char| !c.is_ascii_digit()).unwrap_or(digits.len());
    digits.get(..end)?.parse().ok()
}

/// A receiving socket of the fan-out: reports when each message arrived until told to stop.
async fn receive_fanout(
    mut socket: Socket,
    arrivals: mpsc::UnboundedSender<(u64, Instant)>,
    mut stop: watch::Receiver<bool>,
) -> Result<Socket> {
    loop {
        tokio::select! {
            biased;
            _ = stop.changed() => return Ok(socket),
            next = socket.next() => match next {
                Some(Ok(WsMessage::Text(text))) => {
                    let at = Instant::now();
                    if let Some(seq) = fanout_seq(text.as_str()) {
                        let _ = arrivals.send((seq, at));
                    }
                }
                Some(Ok(WsMessage::Close(close))) => {
                    return Err(BenchError::Protocol(format!("the gateway closed a receiver: {close:?}")))
                }
                Some(Ok(_)) => {}
                Some(Err(error)) => return Err(error.into()),
                None => return Err(BenchError::Protocol("a receiver's socket ended".into())),
            }
        }
    }
}

fn since(from: Instant, to: Instant) -> Duration {
    to.saturating_duration_since(from)
}

/// One message's sample from its send time, the arrivals, and the gateway's calls meanwhile.
fn fanout_sample(sent: Instant, reply: Instant, arrivals: &mut [Instant], events: &[Event]) -> FanoutSample {
    arrivals.sort_unstable();
    let last = arrivals.last().copied().map_or(reply, |a| a.max(reply));
    let write = events.iter().find(|e| e.is_store("transact_write", ""));
    let queries: Vec<&Event> = events.iter().filter(|e| e.is_store("query", "SUBS")).collect();
    let posts: Vec<&Event> = events.iter().filter(|e| e.is_post()).collect();
    let first_post = posts.iter().map(|e| e.start).min();
    let last_post = posts.iter().map(|e| e.end).max();
    let post_times = Dist::of(posts.iter().map(|e| e.duration()));
    FanoutSample {
        at: Duration::ZERO,
        last: since(sent, last),
        first: arrivals.first().map_or(Duration::ZERO, |a| since(sent, *a)),
        median: arrivals.get(arrivals.len() / 2).map_or(Duration::ZERO, |a| since(sent, *a)),
        reply: since(sent, reply),
        before_write: write.map_or(Duration::ZERO, |w| since(sent, w.start)),
        write: write.map_or(Duration::ZERO, Event::duration),
        query: queries.iter().map(|e| e.duration()).sum(),
        queries: queries.len(),
        write_to_posts: match (write, first_post) {
            (Some(w), Some(p)) => since(w.end, p),
            _ => Duration::ZERO,
        },
        posts: match (first_post, last_post) {
            (Some(first), Some(last)) => since(first, last),
            _ => Duration::ZERO,
        },
        post_count: posts.len(),
        post_failures: failed_posts(events),
        post_p50: post_times.p50,
        post_max: post_times.max,
        posts_to_reply: last_post.map_or(Duration::ZERO, |p| since(p, reply)),
        posts_to_last: last_post.map_or(Duration::ZERO, |p| since(p, last)),
    }
}

/// One session, `sockets` sockets subscribed to it (customer, agent, admins); the customer sends
/// the messages one after the other, each once every socket has the previous one.
pub async fn fanout(runtime: &Handle, options: GatewayOptions, config: FanoutConfig) -> Result<FanoutResult> {
    if config.sockets < 2 {
        return Err(BenchError::Setup("the fan-out needs at least 2 sockets".into()));
    }
    let gateway = BenchGateway::start(runtime, options)?;
    let (customer, agent) = ("cust-fanout".to_owned(), "agent-fanout".to_owned());
    let session = gateway.open_session(&customer).await?;
    gateway.assign(&agent, &session).await?;
    let mut users = vec![(customer, Role::Customer), (agent, Role::Agent)];
    users.extend((0..config.sockets - 2).map(|i| (format!("admin-{i:05}"), Role::Admin)));
    let tokens = tokens_for(&gateway, &users)?;

    progress(&format!("fan-out: opening and subscribing {} sockets", config.sockets));
    let sockets: Vec<Socket> =
        open_all(&gateway, tokens, config.concurrency).await?.into_iter().map(|(s, _)| s).collect();
    let mut sockets =
        client::subscribe_all(sockets, vec![session.clone(); config.sockets], config.concurrency).await?;
    gateway.settle(false, QUIET, SETTLE_TIMEOUT).await?;
    let mut sender = sockets.remove(0);

    let (arrivals_tx, mut arrivals) = mpsc::unbounded_channel();
    let (stop, stopped) = watch::channel(false);
    let mut receivers = JoinSet::new();
    for socket in sockets {
        receivers.spawn(receive_fanout(socket, arrivals_tx.clone(), stopped.clone()));
    }
    drop(arrivals_tx);
    let others = config.sockets - 1;

    let total = config.warmup + config.messages;
    progress(&format!(
        "fan-out: {} warm-up and {} measured messages to {others} other sockets",
        config.warmup, config.messages
    ));
    let mut samples = Vec::with_capacity(config.messages);
    let mut before: Option<CpuSnapshot> = None;
    let mut first_sent: Option<Instant> = None;
    let mut calls = CallCounts::new();
    for seq in 0..total {
        if seq == config.warmup {
            before = Some(cpu::snapshot());
        }
        gateway.probe.take();
        let reference = format!("m{seq}");
        let frame = format!(
            r#"{{"action":"send_message","session_id":"{session}","body":"fo-{seq}","ref":"{reference}"}}"#
        );
        let sent = Instant::now();
        client::send(&mut sender, frame).await?;
        let reply = loop {
            let text = client::next_text(&mut sender).await?;
            let at = Instant::now();
            let parsed = Frame::parse(&text)?;
            if parsed.reference.as_deref() == Some(reference.as_str()) {
                if parsed.kind != "message.created" {
                    return Err(BenchError::Protocol(format!("message {seq} was answered with {text}")));
                }
                break at;
            }
        };
        let mut times = Vec::with_capacity(others);
        while times.len() < others {
            match tokio::time::timeout(FRAME_TIMEOUT, arrivals.recv()).await {
                Ok(Some((got, at))) if got == u64::try_from(seq).unwrap_or(u64::MAX) => times.push(at),
                Ok(Some((got, _))) => {
                    return Err(BenchError::Delivery(format!(
                        "message {got} arrived while message {seq} was awaited (a duplicate or a late frame)"
                    )))
                }
                Ok(None) => return Err(BenchError::Protocol("every receiver stopped".into())),
                Err(_) => {
                    return Err(BenchError::Delivery(format!(
                        "message {seq}: {} of {others} sockets had it after {FRAME_TIMEOUT:?}",
                        times.len()
                    )))
                }
            }
        }
        let events = gateway.probe.take();
        if seq >= config.warmup {
            for (name, count) in store_calls(&events) {
                *calls.entry(name).or_default() += count;
            }
            let at = since(*first_sent.get_or_insert(sent), sent);
            let sample = FanoutSample { at, ..fanout_sample(sent, reply, &mut times, &events) };
            if sample.post_failures > 0 {
                return Err(BenchError::Delivery(format!(
                    "message {seq}: {} posts failed",
                    sample.post_failures
                )));
            }
            samples.push(sample);
        }
    }
    let cpu = before.map(|b| cpu::snapshot().since(&b)).unwrap_or_default();
    // Anything still arriving now is a second copy of a message.
    tokio::time::sleep(QUIET).await;
    if let Ok((got, _)) = arrivals.try_recv() {
        return Err(BenchError::Delivery(format!("message {got} arrived again after every socket had it")));
    }

    let _ = stop.send(true);
    let mut sockets = vec![sender];
    while let Some(joined) = receivers.join_next().await {
        sockets.push(joined.map_err(|e| BenchError::Protocol(format!("a receiver task failed: {e}")))??);
    }
    progress("fan-out: closing");
    finish(gateway, sockets, config.concurrency).await?;
    Ok(FanoutResult { config, samples, cpu, calls })
}

// ---------------------------------------------------------------------------------------------
// Pairs: sustained deliveries, and the delivery check
// ---------------------------------------------------------------------------------------------

/// Sizes of a pairs measurement.
#[derive(Debug, Clone, Copy)]
pub struct PairsConfig {
    /// Sessions, each with its customer and its agent connected and subscribed.
    pub pairs: usize,
    /// Messages each socket sends, measured.
    pub messages: usize,
    /// Messages each socket sends first, unmeasured (checked all the same).
    pub warmup: usize,
    /// Sockets opened and subscribed at once while setting up.
    pub concurrency: usize,
}

/// What a pairs measurement found (the measured messages only).
#[derive(Debug, Clone)]
pub struct PairsResult {
    /// The sizes.
    pub config: PairsConfig,
    /// `message.created` frames the counterparts received (checked: in order, once each).
    pub deliveries: usize,
    /// Replies the senders received.
    pub replies: usize,
    /// `delivered` receipts the senders received (in their replies' `delivered_to`).
    pub receipts: usize,
    /// From the first send to the last frame received.
    pub wall: Duration,
    /// From a send to its reply.
    pub send_to_reply: Dist,
    /// From a send to the counterpart having it.
    pub send_to_delivery: Dist,
    /// CPU over the measured messages.
    pub cpu: CpuSplit,
    /// The gateway's store calls and posts over the measured messages.
    pub calls: CallCounts,
    /// How long at least one store call was in flight (SQLite runs one at a time).
    pub store_busy: Duration,
    /// Each message's store write (queueing for the store included).
    pub writes: Dist,
    /// Each subscriptions Query (queueing included).
    pub queries: Dist,
    /// Each post.
    pub posts: Dist,
}

/// What one socket saw in one phase.
#[derive(Debug, Default)]
struct PhaseStats {
    first_send: Option<Instant>,
    last_frame: Option<Instant>,
    replies: usize,
    received: usize,
    receipts: usize,
    send_to_reply: Vec<Duration>,
    send_to_delivery: Vec<Duration>,
}

/// What the pairs' sockets share.
struct PairsShared {
    barrier: Barrier,
    origin: Instant,
    probe: Arc<Probe>,
    measured_cpu: OnceLock<CpuSnapshot>,
}

/// One socket of a pair.
struct PairSocket {
    socket: Socket,
    session: String,
    user: String,
    peer: String,
    /// 0 for the customer, 1 for the agent.
    side: u8,
    shared: Arc<PairsShared>,
}

impl PairSocket {
    /// Runs the warm-up phase and then the measured one; returns the socket and what the
    /// measured phase saw.
    async fn run(mut self, warmup: usize, messages: usize) -> Result<(Socket, PhaseStats)> {
        self.shared.barrier.wait().await;
        self.phase('w', warmup).await?;
        if self.shared.barrier.wait().await.is_leader() {
            // Every socket is here, so every warm-up frame has arrived: the record starts over.
            self.shared.probe.take();
            let _ = self.shared.measured_cpu.set(cpu::snapshot());
        }
        let stats = self.phase('m', messages).await?;
        Ok((self.socket, stats))
    }

    fn stuck(&self, error: BenchError, stats: &PhaseStats, sent: usize, count: usize) -> BenchError {
        BenchError::Delivery(format!(
            "{} ({error}): sent {sent}/{count}, replies {}/{count}, received {}/{count} from {}",
            self.user, stats.replies, stats.received, self.peer
        ))
    }

    /// Sends `count` messages, each once the previous one's reply came, and reads until it has
    /// the `count` messages of its peer; checks every frame on the way.
    async fn phase(&mut self, tag: char, count: usize) -> Result<PhaseStats> {
        let mut stats = PhaseStats::default();
        let mut pending: Option<(String, Instant, String)> = None;
        let mut sent = 0;
        loop {
            if pending.is_none() && sent < count {
                let at = Instant::now();
                let nanos = since(self.shared.origin, at).as_nanos();
                let body = format!("{tag}:{}:{sent}:{nanos}", self.side);
                let reference = format!("{tag}{sent}");
                let frame = format!(
                    r#"{{"action":"send_message","session_id":"{}","body":"{body}","ref":"{reference}"}}"#,
                    self.session
                );
                stats.first_send.get_or_insert(at);
                client::send(&mut self.socket, frame).await?;
                pending = Some((reference, at, body));
                sent += 1;
            }
            if stats.replies == count && stats.received == count {
                break;
            }
            let text = match client::next_text(&mut self.socket).await {
                Ok(text) => text,
                Err(error) => return Err(self.stuck(error, &stats, sent, count)),
            };
            let at = Instant::now();
            let frame = Frame::parse(&text)?;
            match frame.kind.as_ref() {
                "message.created" => {
                    let message = frame.message().ok_or_else(|| {
                        BenchError::Protocol(format!("a message.created frame without a message: {text}"))
                    })?;
                    let body = message.body.as_deref().unwrap_or_default();
                    if let Some(reference) = frame.reference.as_deref() {
                        let Some((wanted, sent_at, sent_body)) = pending.take() else {
                            return Err(BenchError::Delivery(format!(
                                "{}: a reply to nothing: {text}",
                                self.user
                            )));
                        };
                        if reference != wanted || body != sent_body {
                            return Err(BenchError::Delivery(format!(
                                "{}: the reply to {wanted} ({sent_body}) was {text}",
                                self.user
                            )));
                        }
                        stats.replies += 1;
                        if frame.delivered_to.as_ref().is_some_and(|users| !users.is_empty()) {
                            stats.receipts += 1;
                        }
                        stats.send_to_reply.push(since(sent_at, at));
                    } else {
                        self.delivered(&stats, message.sender_id.as_ref(), body, tag, &text)?;
                        let nanos = body.rsplit(':').next().and_then(|n| n.parse::<u64>().ok()).unwrap_or(0);
                        stats
                            .send_to_delivery
                            .push(since(self.shared.origin + Duration::from_nanos(nanos), at));
                        stats.received += 1;
                    }
                    stats.last_frame = Some(at);
                }
                "receipt" if frame.status.as_deref() == Some("delivered") => stats.receipts += 1,
                "error" => {
                    return Err(BenchError::Protocol(format!("{}: an error frame: {text}", self.user)))
                }
                _ => {}
            }
        }
        if stats.receipts != count {
            return Err(BenchError::Delivery(format!(
                "{}: {} delivered receipts for {count} messages",
                self.user, stats.receipts
            )));
        }
        Ok(stats)
    }

    /// Checks a message fanned out to this socket: from its peer, of this phase, the next one.
    fn delivered(&self, stats: &PhaseStats, sender: &str, body: &str, tag: char, text: &str) -> Result<()> {
        let mut parts = body.split(':');
        let (got_tag, got_side, got_seq) = (parts.next(), parts.next(), parts.next());
        let seq = got_seq.and_then(|s| s.parse::<usize>().ok());
        let from_peer = sender == self.peer && got_side != Some(&self.side.to_string());
        if !from_peer || got_tag != Some(&tag.to_string()) {
            return Err(BenchError::Delivery(format!(
                "{} got a message not from its peer {} in phase {tag}: {text}",
                self.user, self.peer
            )));
        }
        match seq {
            Some(seq) if seq == stats.received => Ok(()),
            Some(seq) if seq < stats.received => Err(BenchError::Delivery(format!(
                "{} got message {seq} of {} twice (after {} messages)",
                self.user, self.peer, stats.received
            ))),
            Some(seq) => Err(BenchError::Delivery(format!(
                "{} got message {seq} of {} while {} was next: lost or out of order",
                self.user, self.peer, stats.received
            ))),
            None => Err(BenchError::Delivery(format!("{}: an unreadable body: {text}", self.user))),
        }
    }
}

/// `pairs` sessions, each with its customer and agent connected and subscribed; every socket
/// sends `messages` messages as fast as its replies come back, and checks what its peer sent.
pub async fn pairs(runtime: &Handle, options: GatewayOptions, config: PairsConfig) -> Result<PairsResult> {
    let gateway = BenchGateway::start(runtime, options)?;
    progress(&format!("pairs: {} sessions", config.pairs));
    let mut users = Vec::with_capacity(2 * config.pairs);
    let mut sessions = Vec::with_capacity(2 * config.pairs);
    for pair in 0..config.pairs {
        let (customer, agent) = (format!("cust-{pair:05}"), format!("agent-{pair:05}"));
        let session = gateway.open_session(&customer).await?;
        gateway.assign(&agent, &session).await?;
        users.push((customer, Role::Customer));
        users.push((agent, Role::Agent));
        sessions.push(session.clone());
        sessions.push(session);
    }
    let tokens = tokens_for(&gateway, &users)?;
    progress(&format!("pairs: opening and subscribing {} sockets", 2 * config.pairs));
    let sockets: Vec<Socket> =
        open_all(&gateway, tokens, config.concurrency).await?.into_iter().map(|(s, _)| s).collect();
    let sockets = client::subscribe_all(sockets, sessions.clone(), config.concurrency).await?;
    gateway.settle(false, QUIET, SETTLE_TIMEOUT).await?;

    progress(&format!(
        "pairs: {} sockets send {} warm-up and {} measured messages each",
        2 * config.pairs,
        config.warmup,
        config.messages
    ));
    let shared = Arc::new(PairsShared {
        barrier: Barrier::new(sockets.len()),
        origin: Instant::now(),
        probe: Arc::clone(&gateway.probe),
        measured_cpu: OnceLock::new(),
    });
    let mut tasks = JoinSet::new();
    for (index, socket) in sockets.into_iter().enumerate() {
        let side = u8::try_from(index % 2).unwrap_or(0);
        let peer = users[index ^ 1].0.clone();
        let task = PairSocket {
            socket,
            session: sessions[index].clone(),
            user: users[index].0.clone(),
            peer,
            side,
            shared: Arc::clone(&shared),
        };
        tasks.spawn(task.run(config.warmup, config.messages));
    }
    let mut sockets = Vec::with_capacity(2 * config.pairs);
    let mut stats = Vec::with_capacity(2 * config.pairs);
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(Ok((socket, seen))) => {
                sockets.push(socket);
                stats.push(seen);
            }
            Ok(Err(error)) => {
                tasks.abort_all();
                return Err(error);
            }
            Err(error) => {
                tasks.abort_all();
                return Err(BenchError::Protocol(format!("a socket task failed: {error}")));
            }
        }
    }
    let end = cpu::snapshot();
    let cpu = shared.measured_cpu.get().map(|b| end.since(b)).unwrap_or_default();
    let events = gateway.probe.take();
    let failures = failed_posts(&events);
    if failures > 0 {
        return Err(BenchError::Delivery(format!("{failures} posts failed")));
    }
    let first = stats.iter().filter_map(|s| s.first_send).min();
    let last = stats.iter().filter_map(|s| s.last_frame).max();
    let wall = match (first, last) {
        (Some(first), Some(last)) => since(first, last),
        _ => Duration::ZERO,
    };
    let result = PairsResult {
        config,
        deliveries: stats.iter().map(|s| s.received).sum(),
        replies: stats.iter().map(|s| s.replies).sum(),
        receipts: stats.iter().map(|s| s.receipts).sum(),
        wall,
        send_to_reply: Dist::of(stats.iter().flat_map(|s| s.send_to_reply.iter().copied())),
        send_to_delivery: Dist::of(stats.iter().flat_map(|s| s.send_to_delivery.iter().copied())),
        cpu: CpuSplit { wall, ..cpu },
        calls: store_calls(&events),
        store_busy: busy(events.iter().filter(|e| !e.is_post())),
        writes: Dist::of(events.iter().filter(|e| e.is_store("transact_write", "")).map(Event::duration)),
        queries: Dist::of(events.iter().filter(|e| e.is_store("query", "SUBS")).map(Event::duration)),
        posts: Dist::of(events.iter().filter(|e| e.is_post()).map(Event::duration)),
    };
    let expected = 2 * config.pairs * config.messages;
    if result.deliveries != expected || result.replies != expected || result.receipts != expected {
        return Err(BenchError::Delivery(format!(
            "{expected} messages: {} deliveries, {} replies, {} receipts",
            result.deliveries, result.replies, result.receipts
        )));
    }
    progress("pairs: closing");
    finish(gateway, sockets, config.concurrency).await?;
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(start_ms: u64, end_ms: u64, origin: Instant) -> Event {
        Event {
            call: Call::Post { ok: true },
            start: origin + Duration::from_millis(start_ms),
            end: origin + Duration::from_millis(end_ms),
        }
    }

    #[test]
    fn busy_time_counts_overlapping_calls_once() {
        let origin = Instant::now();
        let events =
            [event(0, 10, origin), event(5, 15, origin), event(20, 25, origin), event(21, 22, origin)];

        assert_eq!(busy(events.iter()), Duration::from_millis(20));
    }

    #[test]
    fn the_fanout_sequence_is_read_from_a_message_frame() {
        let frame = r#"{"message":{"body":"fo-42","id":"x"},"type":"message.created"}"#;

        assert_eq!(fanout_seq(frame), Some(42));
    }

    #[test]
    fn other_frames_have_no_fanout_sequence() {
        assert_eq!(fanout_seq(r#"{"type":"receipt","status":"delivered"}"#), None);
        assert_eq!(fanout_seq(r#"{"type":"message.created","message":{"body":"hello"}}"#), None);
    }
}
