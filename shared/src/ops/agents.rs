//! Agents' status and capacity, and what a lost connection does to them.
//!
//! Each change is one write of the agent's state (with its audit event); what follows from it —
//! the live dashboard's `presence` and figures, routing to an agent with room again — runs from
//! the change feed (`changes::reactions::dashboard`, `changes::reactions::agents_routing`).

use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::app::App;
use crate::domain::{now, AgentState, AgentStatus, Capacity, EventKind, Principal, Role, RoomId, UserId};
use crate::error::ApiError;
use crate::repo::{agents, events, rooms};
use crate::store::{ItemStore, NamedTxOp};

use super::{failed_conditions, role_forbidden};

/// Capacity of an agent who never chose one.
pub const DEFAULT_CAPACITY: u32 = 5;
/// Most rooms one agent serves by name (an empty list serves every room).
pub const MAX_ROOMS: usize = 20;
/// How long an agent whose last connection closed shows away before they count as offline.
pub const AWAY_GRACE: time::Duration = time::Duration::minutes(2);
/// Attempts at a status write that lost a race to a concurrent assignment.
const ATTEMPTS: usize = 8;
/// The condition of a status change that the agent's state is as it was read.
const STATE_UNCHANGED: &str = "state_unchanged";

/// Body of `PUT /agent/status`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetStatus {
    /// `online` (routing gives sessions), `away` (keeps sessions, gets no new routed ones) or
    /// `offline`.
    pub status: AgentStatus,
    /// Most sessions at once, 1 to 50 (default: unchanged, or 5).
    #[serde(default)]
    pub capacity: Option<Capacity>,
    /// The rooms served, at most 20; empty serves every room (default: unchanged, or every room).
    #[serde(default)]
    pub rooms: Option<Vec<RoomId>>,
}

/// Body of `PATCH /admin/agents/{agent_id}`: the fields sent change, the others stay.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateAgent {
    /// Most sessions at once, 1 to 50.
    #[serde(default)]
    pub capacity: Option<Capacity>,
    /// The rooms served, at most 20; empty serves every room.
    #[serde(default)]
    pub rooms: Option<Vec<RoomId>>,
}

/// `rooms` sorted and without repeats, refused when longer than [`MAX_ROOMS`].
fn room_list(mut rooms: Vec<RoomId>) -> Result<Vec<RoomId>, ApiError> {
    rooms.sort();
    rooms.dedup();
    if rooms.len() > MAX_ROOMS {
        return Err(ApiError::unprocessable(
            "validation_failed",
            format!("rooms: at most {MAX_ROOMS} rooms (an empty list serves every room)"),
        ));
    }
    Ok(rooms)
}

/// An agent's own state; never set means offline with the default capacity.
pub async fn get_status(app: &App, principal: &Principal) -> Result<AgentState, ApiError> {
    if principal.role != Role::Agent {
        return Err(role_forbidden("have an agent status; only agents do"));
    }
    let at = now();
    Ok(match agents::get(app.store.as_ref(), &principal.user_id).await? {
        Some(mut state) => {
            state.status = state.status_at(at);
            state
        }
        None => fresh(principal, at)?,
    })
}

fn fresh(principal: &Principal, at: time::OffsetDateTime) -> Result<AgentState, ApiError> {
    Ok(AgentState {
        agent_id: principal.user_id.clone(),
        name: principal.name.clone(),
        status: AgentStatus::Offline,
        capacity: Capacity::new(DEFAULT_CAPACITY)?,
        active_sessions: 0,
        rooms: Vec::new(),
        status_changed_at: at,
        last_assigned_at: None,
        away_until: None,
        version: 0,
    })
}

/// An agent sets their status, capacity and rooms. Going online (or having room for more)
/// routes waiting sessions to them, from the change feed. Lowering the capacity below the current load keeps
/// the sessions and routes none until the load is under it.
pub async fn set_status(app: &App, principal: &Principal, input: SetStatus) -> Result<AgentState, ApiError> {
    if principal.role != Role::Agent {
        return Err(role_forbidden("set an agent status; only agents do"));
    }
    let rooms_wanted = input.rooms.clone().map(room_list).transpose()?;
    let store = app.store.as_ref();
    for _ in 0..ATTEMPTS {
        let read = agents::get(store, &principal.user_id).await?;
        let at = now();
        let before = match &read {
            Some(state) => state.clone(),
            None => fresh(principal, at)?,
        };
        let mut next = before.clone();
        next.name = principal.name.clone().or(before.name.clone());
        next.status = input.status;
        next.capacity = input.capacity.unwrap_or(before.capacity);
        next.rooms = rooms_wanted.clone().unwrap_or(before.rooms.clone());
        next.away_until = None;
        if before.status_at(at) != input.status {
            next.status_changed_at = at;
        }
        next.version = before.version + 1;
        let event = events::record(
            principal,
            EventKind::AgentStatusChanged,
            &agents::key(&principal.user_id).pk,
            format!("agent:{}", principal.user_id),
            None,
            json!({"status": next.status, "capacity": next.capacity, "rooms": next.rooms,
                       "previous_status": before.status_at(at)}),
            at,
        )?
        .named("status_event");
        if !write_state(store, &next, read.as_ref(), event, input.rooms.is_some()).await? {
            continue;
        }
        tracing::info!(agent_id = %principal.user_id, status = next.status.as_str(), "agent status set");
        return Ok(next);
    }
    Err(ApiError::conflict("conflict", "your state kept changing meanwhile; retry"))
}

/// Writes an agent's next state (if the one read is still stored) with its event in one
/// transaction, checking that each of its rooms exists when the request named them: `false` when
/// the state changed meanwhile (read it again), 404 `room_not_found` for a room that does not.
async fn write_state(
    store: &dyn ItemStore,
    next: &AgentState,
    read: Option<&AgentState>,
    event: NamedTxOp,
    rooms_named: bool,
) -> Result<bool, ApiError> {
    let mut ops = vec![agents::put(next, read)?.named(STATE_UNCHANGED), event];
    let rooms = next.rooms.iter().filter(|_| rooms_named);
    ops.extend(rooms.map(|room| rooms::exists(room).named("room_exists")));
    let failed = failed_conditions(store.transact_write(ops).await)?;
    if failed.contains(&STATE_UNCHANGED) {
        return Ok(false);
    }
    if !failed.is_empty() {
        return Err(ApiError::not_found("room_not_found", "rooms: no such room"));
    }
    Ok(true)
}

/// An admin sets another agent's capacity and rooms; their status stays as it is. Only agents
/// who have set a status have a state to change (404 `agent_not_found` otherwise). A capacity
/// that leaves them room for more routes waiting sessions to them, from the change feed.
pub async fn update_agent(
    app: &App,
    principal: &Principal,
    agent_id: &UserId,
    input: UpdateAgent,
) -> Result<AgentState, ApiError> {
    if principal.role != Role::Admin {
        return Err(role_forbidden("change another agent's settings; only admins do"));
    }
    if input.capacity.is_none() && input.rooms.is_none() {
        return Err(ApiError::unprocessable("validation_failed", "send at least one of capacity and rooms"));
    }
    let rooms_wanted = input.rooms.clone().map(room_list).transpose()?;
    let store = app.store.as_ref();
    for _ in 0..ATTEMPTS {
        let Some(read) = agents::get(store, agent_id).await? else {
            return Err(ApiError::not_found("agent_not_found", "no agent with that id has set a status"));
        };
        let at = now();
        let mut next = read.clone();
        next.capacity = input.capacity.unwrap_or(read.capacity);
        next.rooms = rooms_wanted.clone().unwrap_or(read.rooms.clone());
        next.version = read.version + 1;
        let event = events::record(
            principal,
            EventKind::AgentSettingsChanged,
            &agents::key(agent_id).pk,
            format!("agent:{agent_id}"),
            None,
            json!({"capacity": next.capacity, "rooms": next.rooms,
                       "previous_capacity": read.capacity, "previous_rooms": read.rooms}),
            at,
        )?
        .named("settings_event");
        if !write_state(store, &next, Some(&read), event, input.rooms.is_some()).await? {
            continue;
        }
        tracing::info!(%agent_id, capacity = next.capacity.get(), "agent settings changed by an admin");
        return Ok(next);
    }
    Err(ApiError::conflict("conflict", "the agent's state kept changing meanwhile; retry"))
}

/// A connection of an agent came or went (`connected`: it is now their only one; otherwise none
/// is left). Losing the last connection while online shows them away for [`AWAY_GRACE`]; a
/// first connection within it brings them back online (and the change feed routes to them).
/// A failure is returned, so the change feed tries the connection's change again.
pub async fn connection_changed(app: &App, principal: &Principal, connected: bool) -> Result<(), ApiError> {
    if principal.role != Role::Agent {
        return Ok(());
    }
    let store = app.store.as_ref();
    for _ in 0..ATTEMPTS {
        let Some(read) = agents::get(store, &principal.user_id).await? else { return Ok(()) };
        let at = now();
        let mut next = read.clone();
        match (connected, read.status_at(at), read.away_until) {
            (false, AgentStatus::Online, _) => {
                next.status = AgentStatus::Away;
                next.away_until = Some(at + AWAY_GRACE);
            }
            (true, AgentStatus::Away, Some(_)) => {
                next.status = AgentStatus::Online;
                next.away_until = None;
            }
            _ => return Ok(()),
        }
        next.status_changed_at = at;
        next.version += 1;
        if agents::write(store, &next, Some(&read)).await? {
            tracing::info!(agent_id = %principal.user_id, status = next.status.as_str(), "agent connection changed");
            return Ok(());
        }
    }
    Err(ApiError::conflict("conflict", "the agent's state kept changing meanwhile"))
}
