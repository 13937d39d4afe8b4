//! The simulated support floor: the real operations (`switchboard_shared::ops`) on an `App` over
//! the metered SQLite store, with the change feed's reactions drained as the local gateway runs
//! them, at a target load, in simulated time (ten ticks a second; the clock is set, not waited
//! for). Set-up (agents online, dashboards and conversations open) is metered apart and left out
//! of the figures.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use switchboard_shared::app::App;
use switchboard_shared::changes::consumer::{self, ConsumerHandle};
use switchboard_shared::changes::sqlite::SqliteFeed;
use switchboard_shared::domain::{
    clock, AgentStatus, Capacity, ConnectionId, MessageBody, Principal, Priority, Role, SessionId,
    SessionStatus, Subject, UserId,
};
use switchboard_shared::ops::{
    self, dashboard, live, presence, routing, CreateSession, SendMessage, SetStatus,
};
use switchboard_shared::store::sqlite::SqliteItemStore;
use switchboard_shared::store::ItemStore;
use time::OffsetDateTime;

use super::posts::MeteredPosts;
use crate::metering::store::{MeteredStore, REQUEST};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The load to simulate.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    /// Agents online on the floor.
    pub agents: u32,
    /// Conversations open (active) at once.
    pub conversations: u32,
    /// Messages sent a second (customers and agents, alternately).
    pub messages_per_second: u32,
    /// Dashboards open (admins subscribed to the live dashboard, each reloading the overview
    /// every 30 seconds).
    pub dashboards: u32,
    /// Conversations opened (and as many closed) a day.
    pub conversations_per_day: u32,
    /// Simulated seconds measured after the set-up.
    pub seconds: u64,
    /// Operations run at once within a tick.
    pub concurrency: usize,
    /// The load above is the target divided by this (1: the target itself); the report scales
    /// the figures back up (see [`super::report`]).
    pub scale: u32,
}

/// Ticks per simulated second.
const TICKS: u64 = 10;
/// How often an agent steps away and comes back: every agent once in this many seconds.
const AGENT_BREAK_EVERY_SECONDS: u64 = 3_600;
/// How often a dashboard reloads its overview (seconds).
const DASHBOARD_RELOAD_SECONDS: u64 = 30;
/// How often the routing sweep runs (seconds).
const SWEEP_SECONDS: u64 = 60;

/// One open conversation: its customer and agent, with their connections.
#[derive(Debug, Clone)]
struct Conversation {
    session: SessionId,
    customer: Principal,
    customer_connection: ConnectionId,
    agent: Option<(Principal, ConnectionId)>,
}

/// The requests made, per function name, in the measured seconds.
pub type Invocations = HashMap<&'static str, u64>;

/// A running simulation.
pub struct Floor {
    /// The metered store.
    pub store: Arc<MeteredStore<SqliteItemStore>>,
    /// The metered real-time port.
    pub posts: Arc<MeteredPosts>,
    app: App,
    feed: ConsumerHandle,
    load: Load,
    start_ms: i64,
    open: VecDeque<Conversation>,
    agents: Vec<(Principal, ConnectionId)>,
    invocations: Mutex<Invocations>,
    refused: std::sync::atomic::AtomicU64,
}

fn principal(id: &str, role: Role) -> Result<Principal, BoxError> {
    Ok(Principal { user_id: UserId::parse(id)?, role, name: None })
}

fn connection(id: &str) -> Result<ConnectionId, BoxError> {
    Ok(ConnectionId::parse(id)?)
}

impl Floor {
    /// A floor on a fresh in-memory SQLite store (a file's syncs would make the wall time, not
    /// the figures), its clock at `start`.
    pub async fn open(load: Load, start: OffsetDateTime) -> Result<Self, BoxError> {
        let sqlite = SqliteItemStore::in_memory()?;
        let store = Arc::new(MeteredStore::new(sqlite.clone()));
        let posts = Arc::new(MeteredPosts::default());
        let app = App::new(store.clone() as Arc<dyn ItemStore>, posts.clone());
        let feed = consumer::spawn(app.clone(), Arc::new(SqliteFeed::open(sqlite).await?));
        let start_ms = (start.unix_timestamp_nanos() / 1_000_000) as i64;
        clock::set(start_ms);
        Ok(Self {
            store,
            posts,
            app,
            feed,
            load,
            start_ms,
            open: VecDeque::new(),
            agents: Vec::new(),
            invocations: Mutex::new(Invocations::new()),
            refused: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// Messages refused in the measured seconds (a conversation closed meanwhile).
    pub fn refused(&self) -> u64 {
        self.refused.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The requests made in the measured seconds, per function.
    pub fn invocations(&self) -> Invocations {
        self.invocations.lock().map(|i| i.clone()).unwrap_or_default()
    }

    async fn request<T>(&self, name: &'static str, call: impl Future<Output = T>) -> T {
        if let Ok(mut invocations) = self.invocations.lock() {
            *invocations.entry(name).or_default() += 1;
        }
        REQUEST.scope(name, call).await
    }

    async fn drain(&self) -> Result<(), BoxError> {
        Ok(self.feed.drain().await?)
    }

    /// Brings the agents online, opens the dashboards and the conversations; then forgets what
    /// that cost.
    pub async fn set_up(&mut self) -> Result<(), BoxError> {
        let capacity =
            Capacity::new((self.load.conversations.div_ceil(self.load.agents.max(1)) + 2).min(50))?;
        for n in 0..self.load.agents {
            let agent = principal(&format!("agent-{n}"), Role::Agent)?;
            let conn = connection(&format!("a{n}"))?;
            presence::connect(&self.app, &agent, conn.clone()).await?;
            let status = SetStatus { status: AgentStatus::Online, capacity: Some(capacity), rooms: None };
            ops::set_status(&self.app, &agent, status).await?;
            self.agents.push((agent, conn));
        }
        for n in 0..self.load.dashboards {
            let admin = principal(&format!("admin-{n}"), Role::Admin)?;
            let conn = connection(&format!("d{n}"))?;
            presence::connect(&self.app, &admin, conn.clone()).await?;
            dashboard::subscribe(&self.app, &admin, &conn).await?;
        }
        self.drain().await?;
        let mut opened = 0;
        while opened < self.load.conversations {
            let batch = (self.load.conversations - opened).min(64);
            let new = futures::stream::iter(0..batch)
                .map(|_| self.start_conversation())
                .buffer_unordered(self.load.concurrency)
                .collect::<Vec<_>>()
                .await;
            for conversation in new {
                self.open.push_back(conversation?);
            }
            opened += batch;
            self.drain().await?;
        }
        self.store.reset();
        self.posts.reset();
        if let Ok(mut invocations) = self.invocations.lock() {
            invocations.clear();
        }
        Ok(())
    }

    async fn start_conversation(&self) -> Result<Conversation, BoxError> {
        let n = NEXT_CUSTOMER.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let customer = principal(&format!("customer-{n}"), Role::Customer)?;
        let customer_connection = connection(&format!("c{n}"))?;
        self.request(
            "realtime-connect",
            presence::connect(&self.app, &customer, customer_connection.clone()),
        )
        .await?;
        let input = CreateSession {
            subject: Subject::parse("My order has not arrived yet")?,
            priority: Priority::Normal,
            room_id: None,
        };
        let session =
            self.request("chat-create-session", ops::create_session(&self.app, &customer, input)).await?;
        self.request(
            "realtime-subscribe",
            presence::subscribe(&self.app, &customer, &customer_connection, &session.id),
        )
        .await?;
        let agent = match (&session.status, &session.agent_id) {
            (SessionStatus::Active, Some(agent_id)) => {
                let found = self.agents.iter().find(|(agent, _)| agent.user_id == *agent_id).cloned();
                if let Some((agent, conn)) = &found {
                    self.request(
                        "realtime-subscribe",
                        presence::subscribe(&self.app, agent, conn, &session.id),
                    )
                    .await?;
                }
                found
            }
            _ => None,
        };
        Ok(Conversation { session: session.id, customer, customer_connection, agent })
    }

    /// Runs the measured seconds.
    pub async fn run(&mut self) -> Result<(), BoxError> {
        let per_tick = f64::from(self.load.messages_per_second) / TICKS as f64;
        let opened_per_tick = f64::from(self.load.conversations_per_day) / 86_400.0 / TICKS as f64;
        let breaks_per_tick = f64::from(self.load.agents) / AGENT_BREAK_EVERY_SECONDS as f64 / TICKS as f64;
        let reloads_per_tick =
            f64::from(self.load.dashboards) / DASHBOARD_RELOAD_SECONDS as f64 / TICKS as f64;
        let (mut sends, mut opens, mut breaks, mut reloads) = (0.0, 0.0, 0.0, 0.0);
        let mut cursor = 0usize;
        let mut on_break: VecDeque<usize> = VecDeque::new();
        for second in 0..self.load.seconds {
            self.store.set_second(second);
            self.posts.set_second(second);
            for tick in 0..TICKS {
                let at = self.start_ms + ((second * TICKS + tick) * (1000 / TICKS)) as i64;
                clock::set(at);
                sends += per_tick;
                opens += opened_per_tick;
                breaks += breaks_per_tick;
                reloads += reloads_per_tick;
                let send_count = take(&mut sends);
                let mut picks = Vec::with_capacity(send_count);
                for _ in 0..send_count {
                    // A stride co-prime with most sizes visits every conversation evenly.
                    cursor = (cursor + 7919) % self.open.len().max(1);
                    if let Some(conversation) = self.open.get(cursor) {
                        picks.push((conversation.clone(), (second + tick) % 2 == 0));
                    }
                }
                futures::stream::iter(picks)
                    .map(|(conversation, from_customer)| self.send(conversation, from_customer))
                    .buffer_unordered(self.load.concurrency)
                    .collect::<Vec<_>>()
                    .await;
                for _ in 0..take(&mut opens) {
                    self.turn_over().await?;
                }
                for _ in 0..take(&mut breaks) {
                    self.agent_break(&mut on_break).await?;
                }
                for _ in 0..take(&mut reloads) {
                    let _ = self
                        .request("dashboard-overview", dashboard::overview(self.app.store.as_ref()))
                        .await;
                }
                if tick == 0 && second % SWEEP_SECONDS == SWEEP_SECONDS - 1 {
                    let _ = self.request("routing-sweep", routing::sweep(&self.app)).await;
                }
                self.drain().await?;
            }
        }
        Ok(())
    }

    async fn send(&self, conversation: Conversation, from_customer: bool) {
        let (who, conn) = match (&conversation.agent, from_customer) {
            (Some((agent, conn)), false) => (agent, conn),
            _ => (&conversation.customer, &conversation.customer_connection),
        };
        let Ok(body) = MessageBody::parse("Thanks, I am checking your order now; one moment please.") else {
            return;
        };
        let input = SendMessage {
            session_id: conversation.session,
            body: Some(body),
            client_message_id: None,
            attachments: Vec::new(),
            channel: None,
        };
        if self
            .request("realtime-send-message", live::send_message(&self.app, who, conn, input))
            .await
            .is_err()
        {
            self.refused.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// The oldest conversation closes (its agent closes it, its customer leaves) and a new one
    /// opens: the floor stays at its size.
    async fn turn_over(&mut self) -> Result<(), BoxError> {
        if let Some(old) = self.open.pop_front() {
            let closer = old.agent.as_ref().map(|(agent, _)| agent).unwrap_or(&old.customer);
            let _ =
                self.request("chat-close-session", ops::close_session(&self.app, closer, &old.session)).await;
            let _ = self
                .request("realtime-disconnect", presence::disconnect(&self.app, &old.customer_connection))
                .await;
        }
        let new = self.start_conversation().await?;
        self.open.push_back(new);
        Ok(())
    }

    /// The next agent steps away; the one away longest comes back online.
    async fn agent_break(&self, on_break: &mut VecDeque<usize>) -> Result<(), BoxError> {
        let next = (on_break.back().map(|n| n + 1).unwrap_or(0)) % self.agents.len().max(1);
        if on_break.len() >= 2 {
            if let Some(back) = on_break.pop_front() {
                let (agent, _) = &self.agents[back];
                let online = SetStatus { status: AgentStatus::Online, capacity: None, rooms: None };
                let _ = self.request("agent-set-status", ops::set_status(&self.app, agent, online)).await;
            }
        }
        if let Some((agent, _)) = self.agents.get(next) {
            let away = SetStatus { status: AgentStatus::Away, capacity: None, rooms: None };
            let _ = self.request("agent-set-status", ops::set_status(&self.app, agent, away)).await;
            on_break.push_back(next);
        }
        Ok(())
    }
}

static NEXT_CUSTOMER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The whole units due from an accumulated fraction, keeping the rest.
fn take(due: &mut f64) -> usize {
    let whole = due.floor();
    *due -= whole;
    whole as usize
}
