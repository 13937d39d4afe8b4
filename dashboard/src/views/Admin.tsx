import { lazy, Suspense, useEffect, useState } from "react";
import type { AgentState, Api, LiveClient, Overview, WaitingSession } from "@switchboard/client";
import { duration, number, time } from "../format";
import { errorText, type Load, useLive, useLoad, useNow } from "../hooks";
import { AgentPicker, agentName, useRoomNames } from "./AgentPicker";
import { Analytics, Reports } from "./Analytics";
import { BulkSend } from "./Notifications";
import { Transcript } from "./Transcript";

type Props = { api: Api; live: LiveClient; path: string; go: (path: string) => void };

// Pages used now and then load when first opened: the first page stays small.
const AgentsPage = lazy(() => import("./AdminPages").then((m) => ({ default: m.AgentsPage })));
const RoomsPage = lazy(() => import("./AdminPages").then((m) => ({ default: m.RoomsPage })));
const AuditPage = lazy(() => import("./AdminPages").then((m) => ({ default: m.AuditPage })));
const BlockedPage = lazy(() => import("./AdminPages").then((m) => ({ default: m.BlockedPage })));

function Later({ children }: { children: React.ReactNode }) {
  return <Suspense fallback={<p role="status">Loading…</p>}>{children}</Suspense>;
}

export function AdminViews({ api, live, path, go }: Props) {
  if (path === "/admin/queue") return <Queue api={api} live={live} />;
  if (path === "/admin/active") return <ActiveSessions api={api} live={live} go={go} />;
  if (path === "/admin/analytics") return <Analytics api={api} />;
  if (path === "/admin/reports") return <Reports api={api} />;
  if (path === "/admin/announcements") return <BulkSend api={api} />;
  if (path === "/admin/agents") return <Later><AgentsPage api={api} live={live} /></Later>;
  if (path === "/admin/rooms") return <Later><RoomsPage api={api} /></Later>;
  if (path === "/admin/audit") return <Later><AuditPage api={api} /></Later>;
  if (path === "/admin/blocked") return <Later><BlockedPage api={api} /></Later>;
  const transcript = /^\/admin\/transcripts\/([0-9A-Z]+)$/.exec(path);
  if (transcript) return <Transcript api={api} sessionId={transcript[1]} />;
  return <FloorOverview api={api} live={live} />;
}

export function LoadState<T>({ load, empty, children }: { load: Load<T>; empty?: (data: T) => boolean; children: (data: T) => React.ReactNode }) {
  if (load.state === "loading") return <p className="muted" role="status">Loading…</p>;
  if (load.state === "error")
    return (
      <p className="error" role="alert">
        Could not load: {load.message}
      </p>
    );
  if (empty?.(load.data)) return <p className="muted">Nothing here yet.</p>;
  return <>{children(load.data)}</>;
}

function FloorOverview({ api, live }: { api: Api; live: LiveClient }) {
  useLive(live);
  const [initial] = useLoad(() => api.get("/admin/chat-dashboard/overview"), [api]);
  const figures: Overview | undefined = live.metrics ?? (initial.state === "ready" ? initial.data : undefined);
  // A floor too big for one message gets the first agents live: the rest come from the REST
  // overview, which lists every one, updated by what the live figures and presence frames say.
  const everyone = initial.state === "ready" ? initial.data.agents : [];
  const agents =
    live.metrics?.agents_complete === false
      ? [...new Map([...everyone.map((agent) => [agent.agent_id, agent] as const), ...live.agents]).values()]
      : live.agents.size > 0
        ? [...live.agents.values()]
        : (figures?.agents ?? []);
  const now = useNow();
  const since = (at: string) => Math.max(0, (now - Date.parse(at)) / 1000);
  return (
    <section aria-labelledby="overview-title">
      <h1 id="overview-title">Floor overview</h1>
      {!figures ? (
        initial.state === "error" ? (
          <p className="error" role="alert">Could not load: {initial.message}</p>
        ) : (
          <p className="muted" role="status">Loading…</p>
        )
      ) : (
        <>
          <dl className="cards" data-testid="overview" data-live={live.metrics ? "yes" : "no"}>
            <Card label="Waiting" value={String(figures.waiting)} testId="waiting" />
            <Card label="Active" value={String(figures.active)} testId="active" />
            <Card label="Closed today" value={String(figures.closed_today)} />
            <Card label="Agents online" value={String(figures.agents_online)} />
            <Card label="Agents away" value={String(figures.agents_away)} />
            <Card
              label="Longest wait"
              value={duration(figures.longest_wait_seconds == null ? null : figures.longest_wait_seconds + since(figures.generated_at))}
            />
            <Card
              label="CSAT today"
              value={figures.csat_today.average == null ? "—" : `${number(figures.csat_today.average, 2)} / 5`}
              note={`${figures.csat_today.ratings} ratings`}
            />
          </dl>
          <p className="muted small">
            {live.metrics ? "Live" : "Snapshot"} · as of {time(figures.generated_at)}
          </p>
        </>
      )}
      {agents.length > 0 && (
        <>
          <h2>Agents</h2>
          <table>
            <caption className="sr-only">Agents and their load</caption>
            <thead>
              <tr>
                <th scope="col">Agent</th>
                <th scope="col">Status</th>
                <th scope="col">Load</th>
              </tr>
            </thead>
            <tbody>
              {agents.map((agent) => (
                <tr key={agent.agent_id}>
                  <td data-label="Agent">{agent.name ?? agent.agent_id}</td>
                  <td data-label="Status">{agent.status}</td>
                  <td data-label="Load">
                    {agent.active_sessions} / {agent.capacity}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
      <Queue api={api} live={live} headingLevel={2} />
    </section>
  );
}

function Card({ label, value, note, testId }: { label: string; value: string; note?: string; testId?: string }) {
  return (
    <div className="card">
      <dt>{label}</dt>
      <dd data-testid={testId ? `metric-${testId}` : undefined}>{value}</dd>
      {note && <dd className="muted small">{note}</dd>}
    </div>
  );
}

export function Queue({ api, live, headingLevel = 1 }: { api: Api; live: LiveClient; headingLevel?: 1 | 2 }) {
  useLive(live);
  const [load, reload] = useLoad(
    async () => ({ ...(await api.get("/admin/chat-dashboard/waiting-sessions", { query: { limit: 50 } })), readAt: Date.now() }),
    [api, live.sessionEvents],
  );
  const Heading = headingLevel === 1 ? "h1" : "h2";
  const now = useNow();
  const roomNames = useRoomNames(api);
  const agents = [...live.agents.values()];
  return (
    <section aria-labelledby="queue-title">
      <Heading id="queue-title">Waiting queue</Heading>
      <LoadState load={load} empty={(page) => page.items.length === 0}>
        {(page) => (
          <table data-testid="queue">
            <caption className="sr-only">Sessions waiting for an agent, in routing order</caption>
            <thead>
              <tr>
                <th scope="col">Customer</th>
                <th scope="col">Subject</th>
                <th scope="col">Priority</th>
                <th scope="col">Waiting</th>
                <th scope="col">Assign to</th>
              </tr>
            </thead>
            <tbody>
              {page.items.map((session) => (
                <QueueRow key={session.id} api={api} session={session} agents={agents} roomNames={roomNames} onDone={reload} waitedSince={(now - page.readAt) / 1000} />
              ))}
            </tbody>
          </table>
        )}
      </LoadState>
    </section>
  );
}

/** A waiting session; `waitedSince` is how long ago the server measured its wait. */
function QueueRow(props: {
  api: Api;
  session: WaitingSession;
  agents: AgentState[];
  roomNames: Map<string, string>;
  onDone: () => void;
  waitedSince: number;
}) {
  const { api, session, agents, roomNames, onDone, waitedSince } = props;
  const [agent, setAgent] = useState("");
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const assign = async (event: React.FormEvent) => {
    event.preventDefault();
    if (!agent) {
      setError("Choose an agent from the list.");
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      await api.post("/admin/chat-dashboard/sessions/{id}/assign", { path: { id: session.id }, body: { agent_id: agent } });
      onDone();
    } catch (caught) {
      setError(errorText(caught));
    } finally {
      setBusy(false);
    }
  };
  return (
    <tr data-session={session.id}>
      <td data-label="Customer">{session.customer_name ?? session.customer_id}</td>
      <td data-label="Subject">{session.subject}</td>
      <td data-label="Priority">
        <span className={`priority ${session.priority}`}>{session.priority}</span>
      </td>
      <td data-label="Waiting">{duration(session.wait_seconds + Math.max(0, waitedSince))}</td>
      <td data-label="Assign to">
        <form className="inline" onSubmit={assign}>
          <AgentPicker label={`Agent for “${session.subject}”`} labelHidden agents={agents} value={agent} onChange={setAgent} roomNames={roomNames} />
          <button type="submit" disabled={busy}>
            Assign
          </button>
          {error && (
            <span role="alert" className="error">
              {error}
            </span>
          )}
        </form>
      </td>
    </tr>
  );
}

function ActiveSessions({ api, live, go }: { api: Api; live: LiveClient; go: (p: string) => void }) {
  useLive(live);
  const [load, reload] = useLoad(
    () => api.get("/admin/chat-dashboard/active-sessions", { query: { limit: 50 } }),
    [api, live.sessionEvents],
  );
  return (
    <section aria-labelledby="active-title">
      <h1 id="active-title">Active sessions</h1>
      <LoadState load={load} empty={(page) => page.items.length === 0}>
        {(page) => (
          <table>
            <caption className="sr-only">Sessions with an agent</caption>
            <thead>
              <tr>
                <th scope="col">Customer</th>
                <th scope="col">Subject</th>
                <th scope="col">Agent</th>
                <th scope="col">Handled for</th>
                <th scope="col">Waiting for reply</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {page.items.map((session) => (
                <tr key={session.id} data-session={session.id}>
                  <td data-label="Customer">{session.customer_name ?? session.customer_id}</td>
                  <td data-label="Subject">{session.subject}</td>
                  <td data-label="Agent">{session.agent_id ? agentName(live.agents.get(session.agent_id) ?? { agent_id: session.agent_id }) : "—"}</td>
                  <td data-label="Handled for">{duration(session.handle_seconds_so_far)}</td>
                  <td data-label="Waiting for reply">{session.waiting_for_agent_reply ? "Yes" : "No"}</td>
                  <td data-label="Actions">
                    <TransferForm api={api} live={live} sessionId={session.id} currentAgentId={session.agent_id} onDone={reload} />
                    <button type="button" className="link" onClick={() => go(`/admin/transcripts/${session.id}`)}>
                      Transcript
                    </button>
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

export function TransferForm(props: { api: Api; live: LiveClient; sessionId: string; currentAgentId?: string | null; onDone: () => void }) {
  const { api, live, sessionId, currentAgentId, onDone } = props;
  useLive(live);
  const roomNames = useRoomNames(api);
  const [to, setTo] = useState("");
  const [reason, setReason] = useState("");
  const [state, setState] = useState<string>();
  useEffect(() => setState(undefined), [sessionId]);
  const submit = async (event: React.FormEvent) => {
    event.preventDefault();
    if (!to) {
      setState("Choose the agent to transfer to from the list.");
      return;
    }
    setState("Transferring…");
    const name = agentName(live.agents.get(to) ?? { agent_id: to });
    try {
      await api.post("/admin/chat-dashboard/sessions/{id}/transfer", {
        path: { id: sessionId },
        body: { to_agent_id: to, reason: reason.trim() },
      });
      setState(`Transferred to ${name}.`);
      setTo("");
      setReason("");
      onDone();
    } catch (caught) {
      setState(`Transfer failed: ${errorText(caught)}`);
    }
  };
  return (
    <form className="transfer" onSubmit={submit} aria-label="Transfer">
      <AgentPicker label="Transfer to" agents={[...live.agents.values()]} value={to} onChange={setTo} currentAgentId={currentAgentId} roomNames={roomNames} />
      <label>
        Reason
        <input value={reason} onChange={(e) => setReason(e.target.value)} required maxLength={500} />
      </label>
      <button type="submit">Transfer</button>
      {state && <span role="status">{state}</span>}
    </form>
  );
}
