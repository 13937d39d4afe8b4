//! The scripted conversations, each driven through a [`Run`] action by action.
//!
//! - [`Profile::WebSocket`] (the main one): a customer opens a conversation over REST, routing
//!   assigns it, customer and agent connect and subscribe, they exchange 10 + 10 messages over
//!   the WebSocket, taking turns, each preceded by a typing start and read by the other side
//!   (whose read rides on the typing start of their answer, `read_message_id`; the last one
//!   goes alone as `mark_read`);
//!   the agent closes it, the customer rates it and disconnects: about 10 minutes connected.
//!   The agent's console stays connected all shift (one socket, opened before the
//!   conversations); each conversation pays its subscribe and the agent's connection minutes
//!   while it lasts, as if the agent handled one conversation at a time.
//! - [`Profile::Rest`]: the same conversation from REST-only clients, who fetch each new message
//!   once (`GET /chat/messages/{id}?after=`) and mark it read; no typing, no sockets.
//! - [`Profile::Widget`]: the same conversation as this project's own clients hold it: the widget
//!   and the console send a typing `start` before each message and the message over their
//!   WebSocket (`send_message`, the SDK's outbox while the socket is open), no `stop` after it
//!   (the message ends the indicator), and mark read over it with `mark_read`.
//! - [`Profile::Push`]: the main profile's first 10 messages, then the customer goes away
//!   (disconnects) and gets 5 answers as pushes to a registered phone, comes back, reads them
//!   and rates the conversation.

use reqwest::Method;
use serde_json::{json, Value};
use switchboard_shared::domain::Role;

use super::harness::{Run, Ws};
use crate::realtime::{BenchError, Result};

/// A scripted conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Profile {
    /// Over the WebSocket (the main profile).
    #[value(name = "websocket")]
    WebSocket,
    /// REST-only clients.
    Rest,
    /// This project's widget and console.
    Widget,
    /// Five pushes to a customer who went away.
    Push,
}

impl Profile {
    /// Every profile, the main one first.
    pub const ALL: [Profile; 4] = [Profile::WebSocket, Profile::Rest, Profile::Widget, Profile::Push];

    /// Its name in the report.
    pub fn name(self) -> &'static str {
        match self {
            Profile::WebSocket => "websocket",
            Profile::Rest => "rest",
            Profile::Widget => "widget",
            Profile::Push => "push",
        }
    }
}

/// Messages each side sends in a conversation.
pub const MESSAGES_PER_SIDE: usize = 10;
/// Pushes the push profile sends to the customer who went away.
pub const PUSHES: usize = 5;
/// Simulated time between two turns: 20 turns make the conversation's 10 minutes.
const TURN_MS: i64 = 30_000;
/// Simulated time between the answers to a customer away (one push each).
const PUSH_GAP_MS: i64 = 61_000;
/// Simulated time between one action and the next within a turn.
const STEP_MS: i64 = 2_000;

/// The agent who takes every conversation (online once, before the measured actions).
pub const AGENT: &str = "agent-cost";

fn id(value: &Value, wrapper: &str) -> Result<String> {
    value[wrapper]["id"]
        .as_str()
        .or_else(|| value["id"].as_str())
        .map(str::to_owned)
        .ok_or_else(|| BenchError::Protocol(format!("no {wrapper} id in {value}")))
}

/// Runs conversation `n` of `profile` on `run`, the agent's console on `console`.
pub async fn converse(run: &mut Run<'_>, profile: Profile, n: usize, console: Ws) -> Result<()> {
    let customer_id = format!("cust-{}-{n}", profile.name());
    let customer = run.gateway().token(&customer_id, Role::Customer)?;
    let agent = run.gateway().token(AGENT, Role::Agent)?;
    let started_ms = run.now_ms();

    run.begin();
    let opened =
        run.rest(&customer, Method::POST, "/chat/sessions", Some(json!({"subject": "my invoice"}))).await?;
    let session = id(&opened, "session")?;
    run.end("open a conversation (REST; routing assigns it)").await?;

    match profile {
        Profile::Rest => over_rest(run, &customer, &agent, &session).await?,
        Profile::Widget => {
            as_the_widget(run, &customer, &agent, console, &session).await?;
            run.begin();
            run.connected_for(started_ms);
            run.end("the agent's console, connected meanwhile").await?;
        }
        Profile::WebSocket | Profile::Push => {
            over_websocket(run, profile, &customer, &agent, console, &session).await?;
            run.begin();
            run.connected_for(started_ms);
            run.end("the agent's console, connected meanwhile").await?;
        }
    }
    Ok(())
}

async fn connect_and_subscribe(run: &mut Run<'_>, token: &str, session: &str) -> Result<Ws> {
    run.begin();
    let ws = run.connect(token).await?;
    run.request(ws, json!({"action": "subscribe", "session_id": session}), "sub").await?;
    run.end("connect and subscribe (customer)").await?;
    Ok(ws)
}

/// The agent's console, connected all along, subscribes to the session it was given.
async fn subscribe_console(run: &mut Run<'_>, console: Ws, session: &str) -> Result<()> {
    run.begin();
    run.request(console, json!({"action": "subscribe", "session_id": session}), "sub").await?;
    run.end("subscribe (agent)").await
}

/// One message over the WebSocket from `from`: a typing start (carrying `from`'s read of the
/// message before, when there is one: the reader of a message is the one who answers it), then
/// the send. Returns the message's id, for its reader.
async fn websocket_turn(
    run: &mut Run<'_>,
    from: Ws,
    session: &str,
    turn: usize,
    read: Option<String>,
) -> Result<String> {
    run.advance(TURN_MS - STEP_MS);
    run.begin();
    let mut typing = json!({"action": "typing", "session_id": session, "state": "start"});
    if let Some(message) = read {
        typing["read_message_id"] = json!(message);
    }
    run.tell(from, typing).await?;
    run.end("typing start (with the read of the message before)").await?;

    run.advance(STEP_MS);
    run.begin();
    let mut frame = chat_message(session, turn);
    frame["action"] = json!("send_message");
    let sent = run.request(from, frame, "send").await?;
    let message = id(&sent, "message")?;
    run.end("send a message (WebSocket)").await?;
    Ok(message)
}

/// `reader` marks `message` read on its own (`mark_read`): the last message of a run of turns.
async fn mark_read(run: &mut Run<'_>, reader: Ws, session: &str, message: &str) -> Result<()> {
    run.advance(STEP_MS);
    run.begin();
    run.tell(reader, json!({"action": "mark_read", "session_id": session, "message_id": message})).await?;
    run.end("mark read (WebSocket)").await
}

async fn over_websocket(
    run: &mut Run<'_>,
    profile: Profile,
    customer: &str,
    agent: &str,
    agent_ws: Ws,
    session: &str,
) -> Result<()> {
    let mut customer_ws = connect_and_subscribe(run, customer, session).await?;
    subscribe_console(run, agent_ws, session).await?;
    let turns = match profile {
        Profile::Push => MESSAGES_PER_SIDE,
        _ => 2 * MESSAGES_PER_SIDE,
    };
    let mut unread: Option<(String, Ws)> = None;
    for turn in 0..turns {
        let (from, to) = if turn % 2 == 0 { (customer_ws, agent_ws) } else { (agent_ws, customer_ws) };
        let message = websocket_turn(run, from, session, turn, unread.take().map(|(m, _)| m)).await?;
        unread = Some((message, to));
    }
    // The last message's reader has nothing to answer: its read goes alone.
    if let Some((message, reader)) = unread {
        mark_read(run, reader, session, &message).await?;
    }
    if profile == Profile::Push {
        run.begin();
        let phone = json!({"token": format!("fcm-{session}"), "platform": "android", "app_version": "1.0.0"});
        run.rest(customer, Method::POST, "/notifications/devices/register", Some(phone)).await?;
        run.end("register a phone (REST)").await?;

        run.begin();
        run.disconnect(customer_ws).await?;
        run.end("disconnect").await?;
        let mut last = String::new();
        for push in 0..PUSHES {
            // Pushes of one session are coalesced to one a minute: these answers are further apart.
            run.advance(PUSH_GAP_MS);
            run.begin();
            let frame = json!({
                "action": "send_message",
                "session_id": session,
                "body": format!("answer {push} while you were away"),
                "client_message_id": format!("{session}-away-{push}"),
            });
            last = id(&run.request(agent_ws, frame, "send").await?, "message")?;
            run.end("send a message to a customer away (push)").await?;
        }
        run.advance(TURN_MS);
        customer_ws = connect_and_subscribe(run, customer, session).await?;
        run.begin();
        run.rest(customer, Method::GET, &format!("/chat/messages/{session}?limit=50"), None).await?;
        run.end("fetch the messages (REST)").await?;
        run.begin();
        run.tell(customer_ws, json!({"action": "mark_read", "session_id": session, "message_id": last}))
            .await?;
        run.end("mark read (WebSocket)").await?;
    }
    finish(run, customer, agent, session).await?;
    leave(run, customer_ws).await
}

async fn as_the_widget(
    run: &mut Run<'_>,
    customer: &str,
    agent: &str,
    agent_ws: Ws,
    session: &str,
) -> Result<()> {
    let customer_ws = connect_and_subscribe(run, customer, session).await?;
    subscribe_console(run, agent_ws, session).await?;
    for turn in 0..2 * MESSAGES_PER_SIDE {
        let from = if turn % 2 == 0 { customer_ws } else { agent_ws };
        run.advance(TURN_MS - 2 * STEP_MS);
        run.begin();
        run.tell(from, json!({"action": "typing", "session_id": session, "state": "start"})).await?;
        run.end("typing start (widget, console)").await?;
        run.advance(STEP_MS);
        run.begin();
        let mut frame = chat_message(session, turn);
        frame["action"] = json!("send_message");
        let message = id(&run.request(from, frame, "send").await?, "message")?;
        run.end("send a message (WebSocket, as the widget and the console do)").await?;
        run.advance(STEP_MS);
        run.begin();
        let reader = if turn % 2 == 0 { agent_ws } else { customer_ws };
        run.tell(reader, json!({"action": "mark_read", "session_id": session, "message_id": message}))
            .await?;
        run.end("mark read (WebSocket)").await?;
    }
    finish(run, customer, agent, session).await?;
    leave(run, customer_ws).await
}

async fn over_rest(run: &mut Run<'_>, customer: &str, agent: &str, session: &str) -> Result<()> {
    let mut last: Option<String> = None;
    for turn in 0..2 * MESSAGES_PER_SIDE {
        let (from, to) = if turn % 2 == 0 { (customer, agent) } else { (agent, customer) };
        run.advance(TURN_MS - STEP_MS);
        run.begin();
        let body = chat_message(session, turn);
        let message = id(&run.rest(from, Method::POST, "/chat/messages", Some(body)).await?, "message")?;
        run.end("send a message (REST)").await?;

        run.advance(STEP_MS);
        run.begin();
        let path = match &last {
            Some(after) => format!("/chat/messages/{session}?after={after}"),
            None => format!("/chat/messages/{session}"),
        };
        run.rest(to, Method::GET, &path, None).await?;
        run.rest(
            to,
            Method::POST,
            &format!("/chat/sessions/{session}/read"),
            Some(json!({"message_id": message})),
        )
        .await?;
        run.end("fetch and mark read (REST)").await?;
        last = Some(message);
    }
    finish(run, customer, agent, session).await
}

/// The customer closes the tab.
async fn leave(run: &mut Run<'_>, customer_ws: Ws) -> Result<()> {
    run.begin();
    run.disconnect(customer_ws).await?;
    run.end("disconnect").await
}

/// The `turn`th message of a conversation: its session, text and client message id.
fn chat_message(session: &str, turn: usize) -> Value {
    json!({
        "session_id": session,
        "body": format!("message {turn}: a sentence of about the length people write in support chats."),
        "client_message_id": format!("{session}-{turn}"),
    })
}

async fn finish(run: &mut Run<'_>, customer: &str, agent: &str, session: &str) -> Result<()> {
    run.advance(STEP_MS);
    run.begin();
    run.rest(agent, Method::POST, &format!("/chat/sessions/{session}/close"), None).await?;
    run.end("close (REST)").await?;
    run.advance(STEP_MS);
    run.begin();
    run.rest(customer, Method::POST, &format!("/chat/sessions/{session}/rating"), Some(json!({"score": 5})))
        .await?;
    run.end("rate (REST)").await
}
