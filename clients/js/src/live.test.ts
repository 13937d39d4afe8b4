import { describe, expect, it } from "vitest";
import type { Message } from "./api.js";
import { ApiError } from "./api.js";
import {
  LiveClient,
  type LiveDeps,
  type MessagePage,
  type MessageToSend,
  type OutboxStorage,
  SEND_REPLY_TIMEOUT_MS,
  type SocketLike,
  webSocketUrl,
} from "./live.js";
import { MessageStore } from "./messages.js";

const SESSION = "01JD0000000000000000000002";

function message(id: string, at: string, extra: Partial<Message> = {}): Message {
  return {
    id,
    session_id: SESSION,
    sender_id: "cust-ada",
    sender_role: "customer",
    body: `body ${id}`,
    client_message_id: null,
    created_at: at,
    edited_at: null,
    deleted: false,
    ...extra,
  };
}

class FakeSocket implements SocketLike {
  readyState = 0;
  sent: Record<string, unknown>[] = [];
  /** The refs of the frames the server answered. */
  answered = new Set<unknown>();
  onopen: SocketLike["onopen"] = null;
  onclose: SocketLike["onclose"] = null;
  onmessage: SocketLike["onmessage"] = null;
  onerror: SocketLike["onerror"] = null;
  send(data: string) {
    this.sent.push(JSON.parse(data) as Record<string, unknown>);
  }
  close() {
    this.readyState = 3;
  }
  serverOpens() {
    this.readyState = 1;
    this.onopen?.({});
  }
  serverSends(frame: object) {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }
  drops() {
    this.readyState = 3;
    this.onclose?.({ code: 1006 });
  }
}

/** What the fake API does with a posted message: store it, or fail the way a server can. */
type PostOutcome = "store" | "offline" | { status: number; code: string };

function harness(
  pages: (after: string | undefined, cursor: string | undefined) => MessagePage,
  options: { post?: (message: MessageToSend) => PostOutcome; storage?: OutboxStorage } = {},
) {
  const sockets: FakeSocket[] = [];
  const posts: MessageToSend[] = [];
  const stored = new Map<string, Message>();
  const timers: { fn: () => void; ms: number; id: number }[] = [];
  const fetches: { after?: string; cursor?: string }[] = [];
  let next = 0;
  const deps: LiveDeps = {
    open: () => {
      const socket = new FakeSocket();
      sockets.push(socket);
      return socket;
    },
    fetchMessages: async (_id, after, cursor) => {
      fetches.push({ after, cursor });
      return pages(after, cursor);
    },
    setTimeout: (fn, ms) => {
      next += 1;
      timers.push({ fn, ms, id: next });
      return next;
    },
    clearTimeout: (handle) => {
      const index = timers.findIndex((t) => t.id === handle);
      if (index >= 0) timers.splice(index, 1);
    },
    postMessage: async (message) => {
      posts.push(message);
      const outcome = options.post?.(message) ?? "store";
      if (outcome === "offline") throw new TypeError("Failed to fetch");
      if (outcome !== "store") throw new ApiError(outcome.status, outcome.code, outcome.code);
      // The server's idempotency: the same client_message_id answers the message stored first.
      const held = stored.get(message.client_message_id);
      if (held) return held;
      const created = message_(`01M${stored.size}`, message);
      stored.set(message.client_message_id, created);
      return created;
    },
    storage: options.storage,
    newId: () => `cm-${posts.length}-${Math.random().toString(16).slice(2, 8)}`,
    random: () => 0.5,
  };
  const runTimer = (ms: number) => {
    const index = timers.findIndex((t) => t.ms === ms);
    expect(index, `a timer of ${ms} ms`).toBeGreaterThanOrEqual(0);
    const [timer] = timers.splice(index, 1);
    timer.fn();
  };
  return { client: new LiveClient(deps), deps, sockets, timers, fetches, runTimer, posts, stored };
}

function message_(id: string, sent: MessageToSend): Message {
  return message(id, "2026-11-25T10:01:00.000Z", { body: sent.body ?? null, client_message_id: sent.client_message_id });
}

/** A storage that outlives a client, as localStorage outlives a page. */
function memoryStorage(): OutboxStorage & { value: string | null } {
  const storage = {
    value: null as string | null,
    load: () => storage.value,
    save: (value: string) => {
      storage.value = value;
    },
  };
  return storage;
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

/** The server refuses a `send_message` frame with `code`. */
function refuseSend(socket: FakeSocket, frame: Record<string, unknown>, code: string): void {
  socket.answered.add(frame.ref);
  socket.serverSends({ type: "error", ref: frame.ref, action: "send_message", code, message: code });
}

/** The `send_message` frames a socket got, in order. */
function sends(socket: FakeSocket): Record<string, unknown>[] {
  return socket.sent.filter((frame) => frame.action === "send_message");
}

/**
 * The server's reply to every `send_message` the socket got and has not answered yet: the stored
 * message, one per `client_message_id` however often it was sent (the server's idempotency).
 */
function answerSends(socket: FakeSocket, stored = new Map<string, Message>()): void {
  for (const frame of sends(socket)) {
    if (socket.answered.has(frame.ref)) continue;
    socket.answered.add(frame.ref);
    const id = String(frame.client_message_id);
    const message = stored.get(id) ?? message_(`01S${id}`, frame as unknown as MessageToSend);
    stored.set(id, message);
    socket.serverSends({ type: "message.created", ref: frame.ref, message, delivered_to: [] });
  }
}

describe("MessageStore", () => {
  it("keeps messages by id in id order and ignores a frame applied twice", () => {
    const store = new MessageStore();
    expect(store.apply(message("01B", "2026-11-25T10:00:02.000Z"))).toBe(true);
    expect(store.apply(message("01A", "2026-11-25T10:00:01.000Z"))).toBe(true);
    expect(store.apply(message("01B", "2026-11-25T10:00:02.000Z"))).toBe(false);
    expect(store.list().map((m) => m.id)).toEqual(["01A", "01B"]);
  });

  it("takes an edit only when newer, and a tombstone always wins", () => {
    const store = new MessageStore();
    store.apply(message("01A", "2026-11-25T10:00:01.000Z", { body: "v2", edited_at: "2026-11-25T10:00:05.000Z" }));
    store.apply(message("01A", "2026-11-25T10:00:01.000Z", { body: "v1" }));
    expect(store.list()[0].body).toBe("v2");
    store.apply(message("01A", "2026-11-25T10:00:01.000Z", { body: null, deleted: true }));
    store.apply(message("01A", "2026-11-25T10:00:01.000Z", { body: "v3", edited_at: "2026-11-25T10:00:09.000Z" }));
    expect(store.list()[0]).toMatchObject({ deleted: true, body: null });
  });

  it("resyncs from a message at least 10 s older than the newest, or from the start", () => {
    const store = new MessageStore();
    expect(store.resyncAfter()).toBeUndefined();
    store.apply(message("01A", "2026-11-25T10:00:00.000Z"));
    store.apply(message("01B", "2026-11-25T10:00:05.000Z"));
    expect(store.resyncAfter()).toBeUndefined();
    store.apply(message("01C", "2026-11-25T10:00:12.000Z"));
    expect(store.resyncAfter()).toBe("01A");
    store.apply(message("01D", "2026-11-25T10:00:30.000Z"));
    expect(store.resyncAfter()).toBe("01C");
  });
});

describe("LiveClient", () => {
  it("backs off 1 s, 2 s, 4 s… up to 60 s", () => {
    expect([0, 1, 2, 6, 10].map((n) => LiveClient.backoff(n, 0.5))).toEqual([1000, 2000, 4000, 60000, 60000]);
    expect(LiveClient.backoff(0, 0)).toBe(800);
    expect(LiveClient.backoff(0, 1)).toBe(1200);
  });

  it("reconnects after a drop, subscribes again and resyncs what it missed, without duplicates", async () => {
    const history = [
      message("01A", "2026-11-25T10:00:00.000Z"),
      message("01B", "2026-11-25T10:00:20.000Z"),
    ];
    const missed = message("01C", "2026-11-25T10:00:40.000Z");
    let serverHas = history;
    const { client, sockets, fetches, runTimer } = harness((after) => ({
      items: serverHas.filter((m) => after === undefined || m.id > after),
      next_cursor: null,
    }));
    const states: string[] = [];
    client.subscribe(() => states.push(client.state));
    client.start();
    client.followDashboard();
    const view = client.followSession(SESSION);
    await settle();
    expect(view.messages.map((m) => m.id)).toEqual(["01A", "01B"]);

    sockets[0].serverOpens();
    expect(sockets[0].sent.map((f) => f.action)).toEqual(["subscribe_dashboard", "subscribe"]);
    sockets[0].serverSends({ type: "message.created", message: history[1] });
    expect(client.view(SESSION)?.messages).toHaveLength(2);

    sockets[0].drops();
    expect(client.state).toBe("reconnecting");
    serverHas = [...history, missed];
    runTimer(1000);
    sockets[1].serverOpens();
    expect(sockets[1].sent.map((f) => f.action)).toEqual(["subscribe_dashboard", "subscribe"]);
    await settle();
    expect(fetches.at(-1)?.after).toBe("01A");
    expect(client.view(SESSION)?.messages.map((m) => m.id)).toEqual(["01A", "01B", "01C"]);
    sockets[1].serverSends({ type: "message.created", message: missed });
    expect(client.view(SESSION)?.messages).toHaveLength(3);
    expect(states).toContain("reconnecting");
    expect(client.state).toBe("open");
  });

  it("pages a resync through next_cursor", async () => {
    const { client, fetches } = harness((_after, cursor) =>
      cursor === undefined
        ? { items: [message("01A", "2026-11-25T10:00:00.000Z")], next_cursor: "page-2" }
        : { items: [message("01B", "2026-11-25T10:00:01.000Z")], next_cursor: null },
    );
    client.start();
    const view = client.followSession(SESSION);
    await settle();
    await settle();
    expect(fetches.map((f) => f.cursor)).toEqual([undefined, "page-2"]);
    expect(view.messages.map((m) => m.id)).toEqual(["01A", "01B"]);
  });

  it("grows the backoff while the server stays away and resets it after a connection", () => {
    const { client, sockets, runTimer } = harness(() => ({ items: [] }));
    client.start();
    sockets[0].drops();
    runTimer(1000);
    sockets[1].drops();
    runTimer(2000);
    sockets[2].drops();
    runTimer(4000);
    sockets[3].serverOpens();
    sockets[3].drops();
    runTimer(1000);
    expect(sockets).toHaveLength(5);
  });

  it("keeps live figures, typing and receipts, and ignores unknown frames", () => {
    const { client, sockets } = harness(() => ({ items: [] }));
    client.start();
    const view = client.followSession(SESSION);
    sockets[0].serverOpens();
    sockets[0].serverSends({ type: "something.new", x: 1 });
    sockets[0].onmessage?.({ data: "not json" });
    sockets[0].serverSends({
      type: "dashboard.metrics",
      metrics: { waiting: 3, active: 1, closed_today: 0, agents_online: 1, agents_away: 0, longest_wait_seconds: 5, csat_today: { ratings: 0, average: null }, agents: [], agents_complete: true, generated_at: "2026-11-25T10:00:00.000Z" },
    });
    sockets[0].serverSends({ type: "typing", session_id: SESSION, user_id: "cust-ada", state: "start" });
    sockets[0].serverSends({ type: "receipt", session_id: SESSION, message_id: "01A", status: "read", user_ids: ["cust-ada"] });
    expect(client.metrics?.waiting).toBe(3);
    expect(client.view(SESSION)?.typing.has("cust-ada")).toBe(true);
    expect(client.view(SESSION)?.readBy.get("01A")?.has("cust-ada")).toBe(true);
    sockets[0].serverSends({ type: "typing", session_id: SESSION, user_id: "cust-ada", state: "stop" });
    expect(client.view(SESSION)?.typing.size).toBe(0);
    sockets[0].serverSends({ type: "presence", session_id: SESSION, user_id: "cust-ada", status: "offline" });
    expect(client.view(SESSION)?.presence.get("cust-ada")).toBe("offline");
    expect(view).toBe(client.view(SESSION));
  });

  it("stops showing someone typing when their message arrives, without a stop", () => {
    const { client, sockets } = harness(() => ({ items: [] }));
    client.start();
    sockets[0].serverOpens();
    client.followSession(SESSION);
    sockets[0].serverSends({ type: "typing", session_id: SESSION, user_id: "cust-ada", state: "start" });
    sockets[0].serverSends({ type: "typing", session_id: SESSION, user_id: "agent-bob", state: "start" });

    sockets[0].serverSends({ type: "message.created", message: message("01T", "2026-11-25T10:00:00.000Z") });

    expect([...(client.view(SESSION)?.typing ?? [])]).toEqual(["agent-bob"]);
  });

  it("takes a typing frame that carries a read marker as that user's read receipt", () => {
    const { client, sockets } = harness(() => ({ items: [] }));
    client.start();
    client.followSession(SESSION);
    sockets[0].serverOpens();
    sockets[0].serverSends({ type: "typing", session_id: SESSION, user_id: "agent-bob", state: "start", read_message_id: "01B" });
    expect(client.view(SESSION)?.typing.has("agent-bob")).toBe(true);
    expect(client.view(SESSION)?.readBy.get("01B")?.has("agent-bob")).toBe(true);
  });

  it("marks a message delivered from its send's reply, which names who got it", () => {
    const { client, sockets } = harness(() => ({ items: [] }));
    client.start();
    client.followSession(SESSION);
    sockets[0].serverOpens();
    sockets[0].serverSends({ type: "message.created", ref: "r-1", message: message("01B", "2026-11-25T10:00:00.000Z"), delivered_to: ["agent-bob"] });
    sockets[0].serverSends({ type: "message.created", message: message("01C", "2026-11-25T10:00:01.000Z") });
    expect(client.view(SESSION)?.delivered.has("01B")).toBe(true);
    expect(client.view(SESSION)?.delivered.has("01C")).toBe(false);
  });

  it("takes the agents on the floor from each dashboard.metrics, then its presence frames", () => {
    const { client, sockets } = harness(() => ({ items: [] }));
    client.start();
    sockets[0].serverOpens();
    const agent = (id: string, status: string, load: number) => ({
      agent_id: id, status, capacity: 3, active_sessions: load, rooms: [], status_changed_at: "2026-11-25T09:00:00.000Z", version: 1,
    });
    const metrics = (agents: unknown[], agents_complete = true) => ({
      type: "dashboard.metrics",
      metrics: { waiting: 0, active: 1, closed_today: 0, agents_online: 1, agents_away: 1, longest_wait_seconds: null, csat_today: { ratings: 0, average: null }, agents, agents_complete, generated_at: "2026-11-25T10:00:00.000Z" },
    });
    sockets[0].serverSends(metrics([agent("agent-bob", "online", 1), agent("agent-cy", "away", 0)]));
    expect([...client.agents.keys()]).toEqual(["agent-bob", "agent-cy"]);
    sockets[0].serverSends({ type: "presence", user_id: "agent-cy", status: "online", agent: agent("agent-cy", "online", 0) });
    expect(client.agents.get("agent-cy")?.status).toBe("online");
    sockets[0].serverSends(metrics([agent("agent-cy", "online", 2)]));
    expect([...client.agents.values()].map((a) => [a.agent_id, a.active_sessions])).toEqual([["agent-cy", 2]]);
  });

  it("keeps the agents it knows when the figures list only the first of a big floor", () => {
    const { client, sockets } = harness(() => ({ items: [] }));
    client.start();
    sockets[0].serverOpens();
    const agent = (id: string, load: number) => ({
      agent_id: id, status: "online", capacity: 3, active_sessions: load, rooms: [], status_changed_at: "2026-11-25T09:00:00.000Z", version: 1,
    });
    const metrics = (agents: unknown[], agents_complete: boolean) => ({
      type: "dashboard.metrics",
      metrics: { waiting: 0, active: 1, closed_today: 0, agents_online: 2, agents_away: 0, longest_wait_seconds: null, csat_today: { ratings: 0, average: null }, agents, agents_complete, generated_at: "2026-11-25T10:00:00.000Z" },
    });
    sockets[0].serverSends({ type: "presence", user_id: "agent-zed", status: "online", agent: agent("agent-zed", 1) });
    sockets[0].serverSends(metrics([agent("agent-amy", 2)], false));
    expect([...client.agents.values()].map((a) => [a.agent_id, a.active_sessions])).toEqual([["agent-zed", 1], ["agent-amy", 2]]);
  });

  it("moves a waiting session's place and wait with queue.updated, and not once it is taken", () => {
    const { client, sockets } = harness(() => ({ items: [] }));
    client.start();
    client.followSession(SESSION);
    sockets[0].serverOpens();
    const waiting = { id: SESSION, status: "waiting", queue_position: 3, estimated_wait_seconds: 240 };
    sockets[0].serverSends({ type: "subscribed", session: waiting });
    sockets[0].serverSends({ type: "queue.updated", session_id: SESSION, queue_position: 2, estimated_wait_seconds: 120 });
    expect(client.view(SESSION)?.session).toMatchObject({ queue_position: 2, estimated_wait_seconds: 120 });
    sockets[0].serverSends({ type: "session.updated", session: { ...waiting, status: "active", queue_position: null } });
    sockets[0].serverSends({ type: "queue.updated", session_id: SESSION, queue_position: 1, estimated_wait_seconds: 60 });
    expect(client.view(SESSION)?.session).toMatchObject({ status: "active", queue_position: null });
  });

  it("keeps the session further along when updates arrive out of order", () => {
    const { client, sockets } = harness(() => ({ items: [] }));
    client.start();
    client.followSession(SESSION);
    sockets[0].serverOpens();
    const base = { id: SESSION, status: "active", assigned_at: "2026-11-25T10:00:00.000Z" };
    sockets[0].serverSends({ type: "session.updated", session: { ...base, status: "closed" } });
    sockets[0].serverSends({ type: "session.updated", session: base });
    expect(client.view(SESSION)?.session?.status).toBe("closed");
  });
});

describe("the outbox", () => {
  it("shows a message as pending until the API stores it, then as a message", async () => {
    const { client } = harness(() => ({ items: [] }));
    client.start();
    const view = client.followSession(SESSION);
    client.sendMessage(SESSION, "hello", "cm-hello");
    expect(client.view(SESSION)?.pending.map((m) => m.body)).toEqual(["hello"]);
    await settle();
    expect(client.view(SESSION)?.pending).toEqual([]);
    expect(client.view(SESSION)?.messages.map((m) => m.client_message_id)).toEqual(["cm-hello"]);
    expect(view).toBe(client.view(SESSION));
  });

  it("keeps messages while offline and sends them in order, once each, over the socket when it is back", async () => {
    const { client, sockets, posts } = harness(() => ({ items: [] }), { post: () => "offline" });
    client.start();
    client.followSession(SESSION);
    client.sendMessage(SESSION, "first", "cm-1");
    client.sendMessage(SESSION, "second", "cm-2");
    await settle();
    expect(posts.map((p) => p.client_message_id)).toEqual(["cm-1"]);
    expect(client.view(SESSION)?.pending.map((m) => m.body)).toEqual(["first", "second"]);

    sockets[0].serverOpens();
    await settle();
    answerSends(sockets[0]);
    await settle();
    answerSends(sockets[0]);
    await settle();

    expect(sends(sockets[0]).map((f) => f.client_message_id)).toEqual(["cm-1", "cm-2"]);
    expect(posts.map((p) => p.client_message_id)).toEqual(["cm-1"]);
    expect(client.view(SESSION)?.pending).toEqual([]);
    expect(client.view(SESSION)?.messages.map((m) => m.body)).toEqual(["first", "second"]);
  });

  it("marks a message the socket refuses failed, and sends one it rate-limits again after the backoff", async () => {
    const { client, sockets, runTimer } = harness(() => ({ items: [] }));
    client.start();
    sockets[0].serverOpens();
    client.followSession(SESSION);
    client.sendMessage(SESSION, "to a closed session", "cm-closed");
    await settle();
    const [closed] = sends(sockets[0]);
    refuseSend(sockets[0], closed, "session_closed");
    await settle();
    client.sendMessage(SESSION, "too fast", "cm-fast");
    await settle();
    const fast = sends(sockets[0])[1];
    refuseSend(sockets[0], fast, "rate_limited");
    await settle();
    expect(client.view(SESSION)?.pending.map((m) => [m.client_message_id, m.state])).toEqual([
      ["cm-closed", "failed"],
      ["cm-fast", "sending"],
    ]);

    runTimer(1000);
    await settle();
    answerSends(sockets[0]);
    await settle();

    expect(sends(sockets[0]).map((f) => f.client_message_id)).toEqual(["cm-closed", "cm-fast", "cm-fast"]);
    expect(client.view(SESSION)?.pending).toMatchObject([{ client_message_id: "cm-closed", state: "failed", error: "session_closed" }]);
    expect(client.view(SESSION)?.messages.map((m) => m.body)).toEqual(["too fast"]);
    expect(client.lastError).toBeUndefined();
  });

  it("sends a message again, with the same id, when the socket drops or stays silent before the reply", async () => {
    const { client, sockets, runTimer } = harness(() => ({ items: [] }));
    client.start();
    sockets[0].serverOpens();
    client.followSession(SESSION);
    client.sendMessage(SESSION, "lost with the socket", "cm-drop");
    await settle();
    sockets[0].drops();
    await settle();
    runTimer(1000);
    sockets[1].serverOpens();
    await settle();
    answerSends(sockets[1]);
    await settle();
    client.sendMessage(SESSION, "no answer", "cm-silent");
    await settle();
    runTimer(SEND_REPLY_TIMEOUT_MS);
    await settle();
    runTimer(1000);
    await settle();
    answerSends(sockets[1]);
    await settle();

    expect(sends(sockets[0]).map((f) => f.client_message_id)).toEqual(["cm-drop"]);
    expect(sends(sockets[1]).map((f) => f.client_message_id)).toEqual(["cm-drop", "cm-silent", "cm-silent"]);
    expect(client.view(SESSION)?.pending).toEqual([]);
    expect(client.view(SESSION)?.messages.map((m) => m.body)).toEqual(["lost with the socket", "no answer"]);
  });

  it("retries with backoff while the API answers 503, with the same client_message_id", async () => {
    let failures = 2;
    const { client, posts, runTimer } = harness(() => ({ items: [] }), {
      post: () => (failures-- > 0 ? { status: 503, code: "store_unavailable" } : "store"),
    });
    client.start();
    client.followSession(SESSION);
    client.sendMessage(SESSION, "are you there?", "cm-503");
    await settle();
    runTimer(1000);
    await settle();
    runTimer(2000);
    await settle();
    expect(posts.map((p) => p.client_message_id)).toEqual(["cm-503", "cm-503", "cm-503"]);
    expect(client.view(SESSION)?.messages.map((m) => m.body)).toEqual(["are you there?"]);
  });

  it("marks a refused message failed, sends the ones after it, and retries it only when asked", async () => {
    const { client, posts } = harness(() => ({ items: [] }), {
      post: (m) => (m.body === undefined ? { status: 422, code: "invalid_body" } : "store"),
    });
    client.start();
    client.followSession(SESSION);
    client.sendMessage(SESSION, "", "cm-empty");
    client.sendMessage(SESSION, "fine", "cm-fine");
    await settle();
    await settle();
    expect(client.view(SESSION)?.pending).toMatchObject([{ client_message_id: "cm-empty", state: "failed", error: "invalid_body" }]);
    expect(client.view(SESSION)?.messages.map((m) => m.body)).toEqual(["fine"]);
    client.retry("cm-empty");
    await settle();
    expect(posts.filter((p) => p.client_message_id === "cm-empty")).toHaveLength(2);
    client.discard("cm-empty");
    expect(client.view(SESSION)?.pending).toEqual([]);
  });

  it("survives a reload: the next page sends what the last one could not", async () => {
    const storage = memoryStorage();
    const before = harness(() => ({ items: [] }), { storage, post: () => "offline" });
    before.client.start();
    before.client.followSession(SESSION);
    before.client.sendMessage(SESSION, "written before the reload", "cm-reload");
    await settle();
    before.client.stop();

    const after = harness(() => ({ items: [] }), { storage });
    after.client.start();
    const view = after.client.followSession(SESSION);
    expect(view.pending.map((m) => m.body)).toEqual(["written before the reload"]);
    await settle();
    expect(after.posts.map((p) => p.client_message_id)).toEqual(["cm-reload"]);
    expect(after.client.view(SESSION)?.pending).toEqual([]);
    expect(JSON.parse(storage.value ?? "null")).toEqual([]);
  });

  it("is emptied by reset, storage included, and the next connection follows nothing of before", async () => {
    const storage = memoryStorage();
    const { client, sockets, posts } = harness(() => ({ items: [] }), { storage, post: () => "offline" });
    client.start();
    client.followDashboard();
    client.followSession(SESSION);
    client.sendMessage(SESSION, "written by the user who signs out", "cm-gone");
    await settle();

    client.reset();
    client.start();
    sockets[1].serverOpens();
    await settle();

    expect(client.pending).toEqual([]);
    expect(JSON.parse(storage.value ?? "null")).toEqual([]);
    expect(client.view(SESSION)).toBeUndefined();
    expect(sockets[1].sent).toEqual([]);
    expect(posts.map((p) => p.client_message_id)).toEqual(["cm-gone"]);
  });

  it("drops a pending message when its message.created arrives (stored, answer lost)", async () => {
    const { client, sockets } = harness(() => ({ items: [] }), { post: () => "offline" });
    client.start();
    client.followSession(SESSION);
    client.sendMessage(SESSION, "hi", "cm-echo");
    sockets[0].serverOpens();
    sockets[0].serverSends({ type: "message.created", message: message("01E", "2026-11-25T10:00:00.000Z", { body: "hi", client_message_id: "cm-echo" }) });
    expect(client.view(SESSION)?.pending).toEqual([]);
    expect(client.view(SESSION)?.messages.map((m) => m.id)).toEqual(["01E"]);
  });
});

describe("webSocketUrl", () => {
  it("uses the page's origin locally and the configured API in AWS, with the token", () => {
    expect(webSocketUrl("a.b.c", undefined, { protocol: "http:", host: "127.0.0.1:3000" })).toBe("ws://127.0.0.1:3000/ws?token=a.b.c");
    expect(webSocketUrl("t", "wss://x.execute-api.eu-west-1.amazonaws.com/prod", { protocol: "https:", host: "d.cloudfront.net" })).toBe(
      "wss://x.execute-api.eu-west-1.amazonaws.com/prod?token=t",
    );
  });
});
