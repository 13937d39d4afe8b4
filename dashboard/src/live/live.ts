// The live connection: one WebSocket with reconnect (exponential backoff with jitter), the
// subscriptions re-sent after every reconnect, and every shown session resynced over REST with
// `GET /chat/messages/{id}?after=` paged to the end and merged by id.
import type { Message, Session } from "../api/client";
import { MessageStore } from "./messages";
import { type ClientFrame, laterSession, parseFrame, type ServerFrame } from "./frames";

export type ConnectionState = "connecting" | "open" | "reconnecting" | "refused";

export interface SocketLike {
  readyState: number;
  send(data: string): void;
  close(code?: number): void;
  onopen: ((event: unknown) => void) | null;
  onclose: ((event: { code: number }) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

export interface MessagePage {
  items: Message[];
  next_cursor?: string | null;
}

export interface LiveDeps {
  /** Opens a socket to the WebSocket API. */
  open: () => SocketLike;
  /** One page of `GET /chat/messages/{id}?after=&cursor=&limit=200`. */
  fetchMessages: (sessionId: string, after: string | undefined, cursor: string | undefined) => Promise<MessagePage>;
  /** Timers (fake ones in tests). */
  setTimeout: (fn: () => void, ms: number) => unknown;
  clearTimeout: (handle: unknown) => void;
  random?: () => number;
}

const OPEN = 1;
export const BACKOFF_BASE_MS = 1_000;
export const BACKOFF_MAX_MS = 60_000;
/** Keep-alive: the server closes sockets idle for 10 minutes. */
export const PING_EVERY_MS = 5 * 60_000;

export interface SessionView {
  messages: Message[];
  session?: Session;
  typing: Set<string>;
  /** Message id → users who read it. */
  readBy: Map<string, Set<string>>;
  delivered: Set<string>;
  /** Participants' online status from `presence` frames, by user id. */
  presence: Map<string, string>;
}

type Listener = () => void;

export class LiveClient {
  state: ConnectionState = "connecting";
  metrics: Extract<ServerFrame, { type: "dashboard.metrics" }>["metrics"] | undefined;
  /** Agents on the floor, by id: from the last `dashboard.metrics`, then its `presence` frames. */
  readonly agents = new Map<string, NonNullable<Extract<ServerFrame, { type: "presence" }>["agent"]>>();
  /** Counts changes a view may want to refetch on (queue, sessions). */
  sessionEvents = 0;
  lastError: string | undefined;
  /** Moves with every change, for React's useSyncExternalStore. */
  version = 0;

  private socket: SocketLike | undefined;
  private attempt = 0;
  private retryTimer: unknown;
  private pingTimer: unknown;
  private stopped = false;
  private dashboard = false;
  private refCounter = 0;
  private readonly sessions = new Map<string, { store: MessageStore; view: SessionView }>();
  private readonly listeners = new Set<Listener>();
  private readonly frameListeners = new Set<(frame: ServerFrame) => void>();

  constructor(private readonly deps: LiveDeps) {}

  start(): void {
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    this.deps.clearTimeout(this.retryTimer);
    this.deps.clearTimeout(this.pingTimer);
    this.socket?.close(1000);
    this.socket = undefined;
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onFrame(listener: (frame: ServerFrame) => void): () => void {
    this.frameListeners.add(listener);
    return () => this.frameListeners.delete(listener);
  }

  /** Follow the live floor (`subscribe_dashboard`), now and after every reconnect. */
  followDashboard(): void {
    this.dashboard = true;
    this.send({ action: "subscribe_dashboard", ref: this.ref() });
  }

  /** Follow a session: subscribe now and after every reconnect, and load what it missed. */
  followSession(sessionId: string): SessionView {
    let entry = this.sessions.get(sessionId);
    if (!entry) {
      entry = {
        store: new MessageStore(),
        view: { messages: [], typing: new Set(), readBy: new Map(), delivered: new Set(), presence: new Map() },
      };
      this.sessions.set(sessionId, entry);
      if (this.state === "open") {
        this.send({ action: "subscribe", session_id: sessionId, ref: this.ref() });
      }
      void this.resync(sessionId);
    }
    return entry.view;
  }

  view(sessionId: string): SessionView | undefined {
    return this.sessions.get(sessionId)?.view;
  }

  /** Merges messages a view got elsewhere (its own REST send). */
  merge(sessionId: string, messages: Message[]): void {
    const entry = this.sessions.get(sessionId);
    if (entry && entry.store.applyAll(messages)) {
      entry.view.messages = entry.store.list();
      this.emit();
    }
  }

  /** Sends a frame when connected; false when not (the caller falls back to REST). */
  send(frame: ClientFrame): boolean {
    if (!this.socket || this.socket.readyState !== OPEN) return false;
    this.socket.send(JSON.stringify(frame));
    this.schedulePing();
    return true;
  }

  /** Reads everything after the resync anchor, page by page, and merges it by id. */
  async resync(sessionId: string): Promise<void> {
    const entry = this.sessions.get(sessionId);
    if (!entry) return;
    const after = entry.store.resyncAfter();
    let cursor: string | undefined;
    try {
      do {
        const page = await this.deps.fetchMessages(sessionId, after, cursor);
        entry.store.applyAll(page.items);
        cursor = page.next_cursor ?? undefined;
      } while (cursor);
      this.lastError = undefined;
    } catch (error) {
      this.lastError = `Could not load messages: ${error instanceof Error ? error.message : String(error)}`;
    }
    entry.view.messages = entry.store.list();
    this.emit();
  }

  private ref(): string {
    this.refCounter += 1;
    return `r${this.refCounter}`;
  }

  private emit(): void {
    this.version += 1;
    for (const listener of this.listeners) listener();
  }

  private connect(): void {
    if (this.stopped) return;
    let socket: SocketLike;
    try {
      socket = this.deps.open();
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      this.attempt = 0;
      this.state = "open";
      if (this.dashboard) this.send({ action: "subscribe_dashboard", ref: this.ref() });
      for (const sessionId of this.sessions.keys()) {
        this.send({ action: "subscribe", session_id: sessionId, ref: this.ref() });
      }
      this.emit();
      for (const sessionId of this.sessions.keys()) void this.resync(sessionId);
    };
    socket.onmessage = (event) => {
      if (typeof event.data !== "string") return;
      const frame = parseFrame(event.data);
      if (frame) this.handle(frame);
    };
    socket.onclose = () => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      this.deps.clearTimeout(this.pingTimer);
      if (this.stopped) return;
      this.state = "reconnecting";
      this.emit();
      this.scheduleReconnect();
    };
    socket.onerror = () => undefined;
  }

  /** The delay before reconnect attempt `attempt` (0-based): 1 s, 2 s, 4 s… up to 60 s, ±20 %. */
  static backoff(attempt: number, random: number): number {
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** attempt);
    return Math.round(base * (0.8 + 0.4 * random));
  }

  private scheduleReconnect(): void {
    const delay = LiveClient.backoff(this.attempt, (this.deps.random ?? Math.random)());
    this.attempt += 1;
    this.retryTimer = this.deps.setTimeout(() => this.connect(), delay);
  }

  private schedulePing(): void {
    this.deps.clearTimeout(this.pingTimer);
    this.pingTimer = this.deps.setTimeout(() => {
      this.send({ action: "ping", ref: this.ref() });
    }, PING_EVERY_MS);
  }

  private handle(frame: ServerFrame): void {
    switch (frame.type) {
      case "message.created":
      case "message.updated":
      case "message.deleted": {
        const entry = this.sessions.get(frame.message.session_id);
        if (entry && entry.store.apply(frame.message)) entry.view.messages = entry.store.list();
        break;
      }
      case "subscribed":
      case "session.updated": {
        this.sessionEvents += 1;
        const entry = this.sessions.get(frame.session.id);
        if (entry) entry.view.session = laterSession(entry.view.session, frame.session);
        break;
      }
      case "typing": {
        const entry = this.sessions.get(frame.session_id);
        if (entry) {
          const typing = new Set(entry.view.typing);
          if (frame.state === "start") typing.add(frame.user_id);
          else typing.delete(frame.user_id);
          entry.view.typing = typing;
        }
        break;
      }
      case "receipt": {
        const entry = this.sessions.get(frame.session_id);
        if (entry) {
          if (frame.status === "delivered") {
            entry.view.delivered = new Set(entry.view.delivered).add(frame.message_id);
          } else {
            const readBy = new Map(entry.view.readBy);
            readBy.set(frame.message_id, new Set([...(readBy.get(frame.message_id) ?? []), ...frame.user_ids]));
            entry.view.readBy = readBy;
          }
        }
        break;
      }
      case "dashboard.metrics":
        this.metrics = frame.metrics;
        // The figures list every agent on the floor: they replace what presence frames said.
        this.agents.clear();
        for (const agent of frame.metrics.agents) this.agents.set(agent.agent_id, agent);
        this.sessionEvents += 1;
        break;
      case "presence": {
        if (frame.agent) this.agents.set(frame.agent.agent_id, frame.agent);
        const entry = frame.session_id ? this.sessions.get(frame.session_id) : undefined;
        if (entry) entry.view.presence = new Map(entry.view.presence).set(frame.user_id, frame.status);
        break;
      }
      case "error":
        this.lastError = `${frame.code}: ${frame.message}`;
        break;
      default:
        break;
    }
    for (const listener of this.frameListeners) listener(frame);
    this.emit();
  }
}

/**
 * Where the WebSocket API is: `VITE_WS_URL` at build time (in AWS, the stack's WebSocketUrl
 * output), else `/ws` on the page's own origin (the local gateway).
 */
export function webSocketUrl(token: string, configured: string | undefined, location: { protocol: string; host: string }): string {
  const base = configured || `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;
  return `${base}${base.includes("?") ? "&" : "?"}token=${encodeURIComponent(token)}`;
}

/** The browser's dependencies: the configured WebSocket URL, the token in the query. */
export function browserDeps(token: string, fetchMessages: LiveDeps["fetchMessages"]): LiveDeps {
  return {
    open: () => {
      const url = webSocketUrl(token, import.meta.env.VITE_WS_URL as string | undefined, window.location);
      return new WebSocket(url) as unknown as SocketLike;
    },
    fetchMessages,
    setTimeout: (fn, ms) => window.setTimeout(fn, ms),
    clearTimeout: (handle) => window.clearTimeout(handle as number),
  };
}
