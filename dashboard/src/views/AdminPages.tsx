// Admin pages: the agents on the floor, the rooms (list and create), the blocked users (and
// unblocking) and the audit log with its filters. Loaded when first opened.
import { useEffect, useRef, useState } from "react";
import type { Api, LiveClient, Schemas } from "@switchboard/client";
import { time } from "../format";
import { errorText, useLive, useLoad } from "../hooks";
import { LoadState } from "./Admin";
import { agentName, useRoomNames } from "./AgentPicker";

export function AgentsPage({ api, live }: { api: Api; live: LiveClient }) {
  useLive(live);
  const roomNames = useRoomNames(api);
  const agents = [...live.agents.values()].sort((a, b) => agentName(a).localeCompare(agentName(b)));
  return (
    <section aria-labelledby="agents-title">
      <h1 id="agents-title">Agents</h1>
      <p className="muted small">Agents on the floor now (online or away), live. Each agent sets their own status in the console; their capacity and rooms are changed here too.</p>
      {agents.length === 0 ? (
        <p className="muted">No agent is on the floor.</p>
      ) : (
        <table data-testid="agents">
          <caption className="sr-only">Agents, their status, load and rooms</caption>
          <thead>
            <tr>
              <th scope="col">Agent</th>
              <th scope="col">Id</th>
              <th scope="col">Status</th>
              <th scope="col">Load / capacity</th>
              <th scope="col">Rooms</th>
              <th scope="col">Settings</th>
            </tr>
          </thead>
          <tbody>
            {agents.map((agent) => (
              <tr key={agent.agent_id}>
                <td data-label="Agent">{agentName(agent)}</td>
                <td data-label="Id">{agent.agent_id}</td>
                <td data-label="Status">{agent.status}</td>
                <td data-label="Load / capacity">
                  {agent.active_sessions} / {agent.capacity}
                </td>
                <td data-label="Rooms">{!agent.rooms?.length ? "All rooms" : agent.rooms.map((r) => roomNames.get(r) ?? r).join(", ")}</td>
                <td data-label="Settings">
                  <AgentSettings api={api} agent={agent} rooms={roomNames} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

type AgentState = Schemas["AgentState"];

/** An admin changes one agent's capacity and rooms (their status stays theirs); the row above
 * follows from the live presence frame the change sends. */
function AgentSettings({ api, agent, rooms }: { api: Api; agent: AgentState; rooms: Map<string, string> }) {
  const name = agentName(agent);
  const [open, setOpen] = useState(false);
  const [capacity, setCapacity] = useState(String(agent.capacity));
  const [chosen, setChosen] = useState<string[]>(agent.rooms ?? []);
  const [state, setState] = useState<string>();
  const edit = useRef<HTMLButtonElement>(null);
  const wasOpen = useRef(false);
  // Focus goes back to the agent's Edit button when the form closes, so keyboard users stay put.
  useEffect(() => {
    if (wasOpen.current && !open) edit.current?.focus();
    wasOpen.current = open;
  }, [open]);
  const start = () => {
    setCapacity(String(agent.capacity));
    setChosen(agent.rooms ?? []);
    setState(undefined);
    setOpen(true);
  };
  const toggle = (room: string, on: boolean) =>
    setChosen((current) => (on ? [...current, room] : current.filter((r) => r !== room)));
  const save = async (event: React.FormEvent) => {
    event.preventDefault();
    try {
      await api.patch("/admin/agents/{agent_id}", {
        path: { agent_id: agent.agent_id },
        body: { capacity: Number(capacity), rooms: chosen },
      });
      setState(`Saved ${name}.`);
      setOpen(false);
    } catch (caught) {
      setState(`Not saved: ${errorText(caught)}`);
    }
  };
  if (!open) {
    return (
      <>
        <button type="button" ref={edit} onClick={start}>
          Edit {name}
        </button>
        {state && <p role="status">{state}</p>}
      </>
    );
  }
  return (
    <form className="bulk" onSubmit={save} aria-label={`Settings of ${name}`}>
      <label>
        Capacity
        <input type="number" min={1} max={50} required autoFocus value={capacity} onChange={(e) => setCapacity(e.target.value)} />
      </label>
      <fieldset>
        <legend>Rooms (none ticked: every room)</legend>
        {[...rooms].map(([id, roomName]) => (
          <label key={id}>
            <input type="checkbox" checked={chosen.includes(id)} onChange={(e) => toggle(id, e.target.checked)} /> {roomName}
          </label>
        ))}
      </fieldset>
      <button type="submit">Save</button>
      <button type="button" onClick={() => setOpen(false)}>
        Cancel
      </button>
      {state && <p role="status">{state}</p>}
    </form>
  );
}

export function RoomsPage({ api }: { api: Api }) {
  const [rooms, reload] = useLoad(() => api.get("/chat/rooms", { query: { limit: 200 } }), [api]);
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [state, setState] = useState<string>();
  const create = async (event: React.FormEvent) => {
    event.preventDefault();
    try {
      const room = await api.post("/chat/rooms", { body: { name: name.trim(), description: description.trim() || null } });
      setState(`Created ${room.name}.`);
      setName("");
      setDescription("");
      reload();
    } catch (caught) {
      setState(`Not created: ${errorText(caught)}`);
    }
  };
  return (
    <section aria-labelledby="rooms-title">
      <h1 id="rooms-title">Rooms</h1>
      <form className="bulk" onSubmit={create} aria-labelledby="room-form-title">
        <h2 id="room-form-title">New room</h2>
        <label>
          Name
          <input value={name} onChange={(e) => setName(e.target.value)} required maxLength={80} />
        </label>
        <label>
          Description
          <input value={description} onChange={(e) => setDescription(e.target.value)} maxLength={500} />
        </label>
        <button type="submit">Create room</button>
        {state && <p role="status">{state}</p>}
      </form>
      <h2>All rooms</h2>
      <LoadState load={rooms} empty={(page) => page.items.length === 0}>
        {(page) => (
          <table data-testid="rooms">
            <caption className="sr-only">Rooms</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Description</th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {page.items.map((room) => (
                <tr key={room.id}>
                  <td data-label="Name">{room.name}</td>
                  <td data-label="Description">{room.description ?? "—"}</td>
                  <td data-label="Created">
                    {new Date(room.created_at).toLocaleDateString()} by {room.created_by}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </LoadState>
    </section>
  );
}

type AuditEvent = Schemas["AuditEvent"];
type Filters = { actor: string; session_id: string; from: string; to: string };

export function AuditPage({ api }: { api: Api }) {
  const [draft, setDraft] = useState<Filters>({ actor: "", session_id: "", from: "", to: "" });
  const [filters, setFilters] = useState(draft);
  const [more, setMore] = useState<{ items: AuditEvent[]; cursor?: string | null }>({ items: [] });
  const [log] = useLoad(async () => {
    const page = await api.get("/admin/audit-log", { query: { ...filters, limit: 50 } });
    setMore({ items: [], cursor: page.next_cursor });
    return page;
  }, [api, filters]);
  const [error, setError] = useState<string>();
  const loadMore = async () => {
    try {
      const page = await api.get("/admin/audit-log", { query: { ...filters, limit: 50, cursor: more.cursor ?? undefined } });
      setMore({ items: [...more.items, ...page.items], cursor: page.next_cursor });
    } catch (caught) {
      setError(errorText(caught));
    }
  };
  const input = (key: keyof Filters, label: string, type = "text") => (
    <label>
      {label}
      <input type={type} value={draft[key]} onChange={(e) => setDraft({ ...draft, [key]: e.target.value })} />
    </label>
  );
  return (
    <section aria-labelledby="audit-title">
      <h1 id="audit-title">Audit log</h1>
      <form
        className="filters"
        aria-label="Filters"
        onSubmit={(event) => {
          event.preventDefault();
          setError(undefined);
          setFilters({ ...draft });
        }}
      >
        {input("actor", "Actor (user id)")}
        {input("session_id", "Session id")}
        {input("from", "From", "date")}
        {input("to", "To", "date")}
        <button type="submit">Filter</button>
      </form>
      <LoadState load={log} empty={(page) => page.items.length === 0}>
        {(page) => (
          <>
            <table data-testid="audit">
              <caption className="sr-only">Events, newest first</caption>
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">What</th>
                  <th scope="col">Who</th>
                  <th scope="col">Target</th>
                  <th scope="col">Details</th>
                </tr>
              </thead>
              <tbody>
                {[...page.items, ...more.items].map((event) => (
                  <tr key={event.id}>
                    <td data-label="When">
                      {new Date(event.at).toLocaleDateString()} {time(event.at)}
                    </td>
                    <td data-label="What">{event.kind}</td>
                    <td data-label="Who">
                      {event.actor_id} ({event.actor_role})
                    </td>
                    <td data-label="Target">{event.target}</td>
                    <td data-label="Details" className="small">
                      {event.details == null ? "" : JSON.stringify(event.details)}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            {more.cursor && (
              <button type="button" onClick={() => void loadMore()}>
                Load older events
              </button>
            )}
          </>
        )}
      </LoadState>
      {error && <p role="alert" className="error">{error}</p>}
    </section>
  );
}

type Block = Schemas["BlockStatus"];

export function BlockedPage({ api }: { api: Api }) {
  const [first, reload] = useLoad(() => api.get("/chat/users/blocked", { query: { limit: 50 } }), [api]);
  const [more, setMore] = useState<{ items: Block[]; cursor?: string | null }>();
  const [state, setState] = useState<string>();
  const cursor = more ? more.cursor : first.state === "ready" ? first.data.next_cursor : undefined;
  const loadMore = async () => {
    try {
      const page = await api.get("/chat/users/blocked", { query: { limit: 50, cursor: cursor ?? undefined } });
      setMore({ items: [...(more?.items ?? []), ...page.items], cursor: page.next_cursor });
    } catch (caught) {
      setState(errorText(caught));
    }
  };
  const unblock = async (user: string) => {
    try {
      await api.post("/chat/users/{id}/unblock", { path: { id: user } });
      setState(`Unblocked ${user}.`);
      setMore(undefined);
      reload();
    } catch (caught) {
      setState(`Not unblocked: ${errorText(caught)}`);
    }
  };
  return (
    <section aria-labelledby="blocked-title">
      <h1 id="blocked-title">Blocked users</h1>
      {state && <p role="status">{state}</p>}
      <LoadState load={first} empty={(page) => page.items.length === 0}>
        {(page) => (
          <>
            <table data-testid="blocked">
              <caption className="sr-only">Blocked users, newest block first</caption>
              <thead>
                <tr>
                  <th scope="col">User</th>
                  <th scope="col">Blocked by</th>
                  <th scope="col">Since</th>
                  <th scope="col">Why</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {[...page.items, ...(more?.items ?? [])].map((block) => (
                  <tr key={block.user_id}>
                    <td data-label="User">{block.user_id}</td>
                    <td data-label="Blocked by">{block.blocked_by ?? "—"}</td>
                    <td data-label="Since">{block.blocked_at ? `${new Date(block.blocked_at).toLocaleDateString()} ${time(block.blocked_at)}` : "—"}</td>
                    <td data-label="Why">{block.reason ?? "—"}</td>
                    <td data-label="Actions">
                      <button type="button" aria-label={`Unblock ${block.user_id}`} onClick={() => void unblock(block.user_id)}>
                        Unblock
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            {cursor && (
              <button type="button" onClick={() => void loadMore()}>
                Load more
              </button>
            )}
          </>
        )}
      </LoadState>
    </section>
  );
}
