// The live connection: one WebSocket with reconnect (exponential backoff with jitter), the
// subscriptions re-sent after every reconnect, every shown session resynced over REST with
// `GET /chat/messages/{id}?after=` paged to the end and merged by id, and an outbox of messages
// not yet stored, retried with their `client_message_id` (so a retry never makes a duplicate).
// Messages go over the socket while it is open (`send_message`: one billed message in, its reply
// out, where `POST /chat/messages` is a request and a push of the message to the sender's own
// socket) and over REST while it is not.
import { ApiError, type Message, type Session } from "./api.js";
import { MessageStore } from "./messages.js";
import { type ClientFrame, laterSession, parseFrame, type ServerFrame } from "./frames.js";

/** Where the live connection is. */
export type ConnectionState = "connecting" | "open" | "reconnecting" | "refused";

/** The part of a browser WebSocket the client uses (a fake one in tests). */
export interface SocketLike {
  readyState: number;
  send(data: string): void;
  close(code?: number): void;
  onopen: ((event: unknown) => void) | null;
  onclose: ((event: { code: number }) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

/** One page of a session's messages. */
export interface MessagePage {
  items: Message[];
  next_cursor?: string | null;
}

/** A message the outbox hands to the API: `send_message` or `POST /chat/messages`. */
export interface NewMessage {
  session_id: string;
  body: string;
  client_message_id: string;
  /** Uploaded attachments of the session it carries. */
  attachments?: string[];
}

/** A message as it goes to the API: without an empty body (files alone) or an empty file list. */
export type MessageToSend = Omit<NewMessage, "body"> & { body?: string };

/** Where the outbox is kept between page loads (localStorage in a browser). */
export interface OutboxStorage {
  load(): string | null;
  save(value: string): void;
}

/** What the live client needs from the outside world (fakes in tests). */
export interface LiveDeps {
  /** Opens a socket to the WebSocket API. */
  open: () => SocketLike;
  /** One page of `GET /chat/messages/{id}?after=&cursor=&limit=200`. */
  fetchMessages: (sessionId: string, after: string | undefined, cursor: string | undefined) => Promise<MessagePage>;
  /** Stores one message (`POST /chat/messages`); a retry with the same id answers the original. */
  postMessage: (message: MessageToSend) => Promise<Message>;
  /** Keeps the outbox across reloads; without it the outbox lives as long as the page. */
  storage?: OutboxStorage;
  /** A new `client_message_id`. */
  newId?: () => string;
  /** Timers (fake ones in tests). */
  setTimeout: (fn: () => void, ms: number) => unknown;
  clearTimeout: (handle: unknown) => void;
  random?: () => number;
}

const OPEN = 1;
/** The first reconnect delay. */
export const BACKOFF_BASE_MS = 1_000;
/** The longest reconnect delay. */
export const BACKOFF_MAX_MS = 60_000;
/** Keep-alive: the server closes sockets idle for 10 minutes. */
export const PING_EVERY_MS = 5 * 60_000;
/** How long a `send_message` waits for its reply before it is sent again (same id: no duplicate). */
export const SEND_REPLY_TIMEOUT_MS = 10_000;

/** A message in the outbox: written, not yet stored by the server. */
export interface OutgoingMessage extends NewMessage {
  /** When it was written (RFC 3339). */
  written_at: string;
  /** `sending` until stored; `failed` when the API refused it (not retried until asked). */
  state: "sending" | "failed";
  /** The API's error code when refused. */
  error?: string;
}

/** What a client shows of one session, kept up to date by the live client. */
export interface SessionView {
  messages: Message[];
  /** The outbox's messages of this session, oldest first. */
  pending: OutgoingMessage[];
  session?: Session;
  typing: Set<string>;
  /** Message id → users who read it. */
  readBy: Map<string, Set<string>>;
  delivered: Set<string>;
  /** Participants' online status from `presence` frames, by user id. */
  presence: Map<string, string>;
}

type Listener = () => void;

/** A random id of 128 bits (also on plain-HTTP pages, where `crypto.randomUUID` is missing). */
export function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Answers that a retry cannot change: the outbox marks the message failed. */
function refused(error: unknown): error is ApiError {
  return error instanceof ApiError && error.status < 500 && error.status !== 408 && error.status !== 429;
}

/** The HTTP status a socket's `error` code stands for, as `POST /chat/messages` would answer it. */
function statusOf(code: string): number {
  switch (code) {
    case "rate_limited":
      return 429;
    case "internal":
      return 500;
    case "store_unavailable":
      return 503;
    default:
      return 400;
  }
}

/** A send over the socket, waiting for its reply. */
interface AwaitedReply {
  ref: string;
  resolve: (message: Message) => void;
  reject: (error: unknown) => void;
  timer: unknown;
}

/** One WebSocket to the API, kept open, with the sessions and floor it follows. */
export class LiveClient {
  /** Where the connection is. */
  state: ConnectionState = "connecting";
  /** The last `dashboard.metrics` (admins and agents who follow the floor). */
  metrics: Extract<ServerFrame, { type: "dashboard.metrics" }>["metrics"] | undefined;
  /**
   * Agents on the floor, by id: from the last `dashboard.metrics`, then its `presence` frames (on a
   * floor too big for one message, the figures' first agents update those already known).
   */
  readonly agents = new Map<string, NonNullable<Extract<ServerFrame, { type: "presence" }>["agent"]>>();
  /** Counts changes a view may want to refetch on (queue, sessions). */
  sessionEvents = 0;
  /** The last error the server or a resync reported, for the user to see. */
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
  private outbox: OutgoingMessage[];
  /** Sends over the socket waiting for their reply, by `client_message_id`. */
  private readonly replies = new Map<string, AwaitedReply>();
  private flushing = false;
  private outboxAttempt = 0;
  private outboxTimer: unknown;

  constructor(private readonly deps: LiveDeps) {
    this.outbox = LiveClient.loadOutbox(deps.storage);
  }

  /** Connects (and keeps reconnecting until stopped), and sends what the outbox holds. */
  start(): void {
    if (!this.stopped && this.socket) return;
    this.stopped = false;
    this.connect();
    void this.flush();
  }

  /** Closes the socket and stops reconnecting and retrying. */
  stop(): void {
    this.stopped = true;
    this.deps.clearTimeout(this.retryTimer);
    this.deps.clearTimeout(this.pingTimer);
    this.deps.clearTimeout(this.outboxTimer);
    this.socket?.close(1000);
    this.socket = undefined;
  }

  /**
   * Forgets everything this client held: closes the socket, stops following the floor and every
   * session, and empties the outbox (its storage too), so that on a shared browser the next user
   * inherits nothing from one who signed out. `start()` begins anew.
   */
  reset(): void {
    this.stop();
    this.sessions.clear();
    this.dashboard = false;
    this.metrics = undefined;
    this.agents.clear();
    this.lastError = undefined;
    this.outbox = [];
    this.outboxAttempt = 0;
    this.outboxChanged();
  }

  /** Calls `listener` after every change; returns the function that stops it. */
  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Calls `listener` with every frame the server sends; returns the function that stops it. */
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
        view: {
          messages: [],
          pending: this.outbox.filter((m) => m.session_id === sessionId),
          typing: new Set(),
          readBy: new Map(),
          delivered: new Set(),
          presence: new Map(),
        },
      };
      this.sessions.set(sessionId, entry);
      if (this.state === "open") {
        this.send({ action: "subscribe", session_id: sessionId, ref: this.ref() });
      }
      void this.resync(sessionId);
    }
    return entry.view;
  }

  /** What is known of a followed session. */
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

  /** Everything the outbox holds, oldest first. */
  get pending(): readonly OutgoingMessage[] {
    return this.outbox;
  }

  /**
   * Writes a message: it joins the outbox (kept across reloads when there is storage) and is sent
   * at once and, while the API cannot be reached, again after every reconnect and with backoff,
   * always with the same `client_message_id`. Returns that id.
   */
  sendMessage(sessionId: string, body: string, clientMessageId?: string): string {
    const id = clientMessageId ?? (this.deps.newId ?? randomId)();
    this.outbox.push({
      session_id: sessionId,
      body,
      client_message_id: id,
      written_at: new Date().toISOString(),
      state: "sending",
    });
    this.outboxChanged();
    void this.flush();
    return id;
  }

  /** Sends a message the API refused once more (after the cause is fixed). */
  retry(clientMessageId: string): void {
    const held = this.outbox.find((m) => m.client_message_id === clientMessageId);
    if (!held) return;
    held.state = "sending";
    held.error = undefined;
    this.outboxChanged();
    void this.flush();
  }

  /** Drops a message from the outbox. */
  discard(clientMessageId: string): void {
    this.outbox = this.outbox.filter((m) => m.client_message_id !== clientMessageId);
    this.outboxChanged();
  }

  /**
   * Sends the outbox in order, one message at a time. A message the API stored leaves it; one the
   * API refused (a client error) is marked failed and skipped; when the API cannot be reached
   * (network, 5xx, 429) the rest waits for the next reconnect or the backoff timer.
   */
  async flush(): Promise<void> {
    if (this.flushing || this.stopped) return;
    this.flushing = true;
    try {
      for (;;) {
        const next = this.outbox.find((m) => m.state === "sending");
        if (!next) {
          this.outboxAttempt = 0;
          return;
        }
        try {
          const stored = await this.post({
            session_id: next.session_id,
            body: next.body,
            client_message_id: next.client_message_id,
          });
          this.outbox = this.outbox.filter((m) => m.client_message_id !== next.client_message_id);
          this.sessions.get(stored.session_id)?.store.apply(stored);
          this.outboxAttempt = 0;
          this.outboxChanged();
        } catch (error) {
          if (!refused(error)) {
            this.deps.clearTimeout(this.outboxTimer);
            const delay = LiveClient.backoff(this.outboxAttempt, (this.deps.random ?? Math.random)());
            this.outboxAttempt += 1;
            this.outboxTimer = this.deps.setTimeout(() => void this.flush(), delay);
            return;
          }
          next.state = "failed";
          next.error = error.code;
          this.outboxChanged();
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  /**
   * Stores one message: over the socket while it is open (its `message.created` reply, or an
   * `error` frame as an {@link ApiError} with the status REST would answer), else `POST
   * /chat/messages`. A socket that closes or stays silent for {@link SEND_REPLY_TIMEOUT_MS} fails
   * it as unreachable: send it again with the same `client_message_id`.
   */
  post(message: NewMessage): Promise<Message> {
    const wire: MessageToSend = { ...message };
    if (!wire.body) delete wire.body;
    if (!wire.attachments?.length) delete wire.attachments;
    if (!this.socket || this.socket.readyState !== OPEN) return this.deps.postMessage(wire);
    this.replies.get(message.client_message_id)?.reject(new Error("sent again"));
    return new Promise<Message>((resolve, reject) => {
      const ref = this.ref();
      const timer = this.deps.setTimeout(() => {
        this.replies.delete(message.client_message_id);
        reject(new Error("no reply to send_message"));
      }, SEND_REPLY_TIMEOUT_MS);
      this.replies.set(message.client_message_id, { ref, resolve, reject, timer });
      this.send({ action: "send_message", ...wire, ref });
    });
  }

  /** Settles the send waiting for `clientMessageId` (a reply, an error or a lost socket). */
  private settle(clientMessageId: string, outcome: { message: Message } | { error: unknown }): void {
    const waiting = this.replies.get(clientMessageId);
    if (!waiting) return;
    this.replies.delete(clientMessageId);
    this.deps.clearTimeout(waiting.timer);
    if ("message" in outcome) waiting.resolve(outcome.message);
    else waiting.reject(outcome.error);
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

  private static loadOutbox(storage: OutboxStorage | undefined): OutgoingMessage[] {
    try {
      const saved: unknown = JSON.parse(storage?.load() ?? "[]");
      return Array.isArray(saved) ? (saved as OutgoingMessage[]) : [];
    } catch {
      return [];
    }
  }

  /** Saves the outbox and refreshes the views' pending lists and messages. */
  private outboxChanged(): void {
    try {
      this.deps.storage?.save(JSON.stringify(this.outbox));
    } catch {
      // Storage full or forbidden: the outbox still lives as long as the page.
    }
    for (const [sessionId, entry] of this.sessions) {
      entry.view.pending = this.outbox.filter((m) => m.session_id === sessionId);
      entry.view.messages = entry.store.list();
    }
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
      // Back online: what waits in the outbox goes now, not when its backoff ends.
      this.deps.clearTimeout(this.outboxTimer);
      this.outboxAttempt = 0;
      void this.flush();
    };
    socket.onmessage = (event) => {
      if (typeof event.data !== "string") return;
      const frame = parseFrame(event.data);
      if (frame) this.handle(frame);
    };
    socket.onclose = () => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      // Their replies will not come on a new socket: they go again (same ids, no duplicates).
      for (const clientMessageId of [...this.replies.keys()]) {
        this.settle(clientMessageId, { error: new Error("the connection closed before the reply") });
      }
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

  /** Records that `users` read up to `messageId`. */
  private readBy(view: SessionView, messageId: string, users: string[]): void {
    const readBy = new Map(view.readBy);
    readBy.set(messageId, new Set([...(readBy.get(messageId) ?? []), ...users]));
    view.readBy = readBy;
  }

  private handle(frame: ServerFrame): void {
    switch (frame.type) {
      case "message.created":
      case "message.updated":
      case "message.deleted": {
        const entry = this.sessions.get(frame.message.session_id);
        if (entry && entry.store.apply(frame.message)) entry.view.messages = entry.store.list();
        // Their message ends their typing: a sender need not send a `stop` after it.
        if (entry && frame.type === "message.created" && entry.view.typing.has(frame.message.sender_id)) {
          const typing = new Set(entry.view.typing);
          typing.delete(frame.message.sender_id);
          entry.view.typing = typing;
        }
        // The reply to this connection's own send names who got it (no separate receipt comes).
        if (entry && frame.type === "message.created" && frame.delivered_to?.length) {
          entry.view.delivered = new Set(entry.view.delivered).add(frame.message.id);
        }
        // Stored (this send's reply, an answer lost before a reload, or another tab): it
        // leaves the outbox.
        const sent = frame.message.client_message_id;
        if (sent && frame.type === "message.created") this.settle(sent, { message: frame.message });
        if (sent && this.outbox.some((m) => m.client_message_id === sent && m.session_id === frame.message.session_id)) {
          this.outbox = this.outbox.filter((m) => m.client_message_id !== sent);
          this.outboxChanged();
        }
        break;
      }
      case "subscribed":
      case "session.updated": {
        this.sessionEvents += 1;
        const entry = this.sessions.get(frame.session.id);
        if (entry) entry.view.session = laterSession(entry.view.session, frame.session);
        break;
      }
      case "queue.updated": {
        // A waiting customer's place and wait, pushed as the queue moves.
        const entry = this.sessions.get(frame.session_id);
        if (entry?.view.session?.status === "waiting") {
          entry.view.session = {
            ...entry.view.session,
            queue_position: frame.queue_position,
            estimated_wait_seconds: frame.estimated_wait_seconds,
          };
        }
        break;
      }
      case "typing": {
        const entry = this.sessions.get(frame.session_id);
        if (entry) {
          const typing = new Set(entry.view.typing);
          if (frame.state === "start") typing.add(frame.user_id);
          else typing.delete(frame.user_id);
          entry.view.typing = typing;
          // The typist's read marker moved with the frame: a read receipt from them.
          if (frame.read_message_id) this.readBy(entry.view, frame.read_message_id, [frame.user_id]);
        }
        break;
      }
      case "receipt": {
        const entry = this.sessions.get(frame.session_id);
        if (entry) {
          if (frame.status === "delivered") {
            entry.view.delivered = new Set(entry.view.delivered).add(frame.message_id);
          } else {
            this.readBy(entry.view, frame.message_id, frame.user_ids);
          }
        }
        break;
      }
      case "dashboard.metrics":
        this.metrics = frame.metrics;
        // Figures that list every agent on the floor replace what presence frames said; on a
        // floor too big for one message they list the first agents only, which update the rest.
        if (frame.metrics.agents_complete !== false) this.agents.clear();
        for (const agent of frame.metrics.agents) this.agents.set(agent.agent_id, agent);
        this.sessionEvents += 1;
        break;
      case "presence": {
        if (frame.agent) this.agents.set(frame.agent.agent_id, frame.agent);
        const entry = frame.session_id ? this.sessions.get(frame.session_id) : undefined;
        if (entry) entry.view.presence = new Map(entry.view.presence).set(frame.user_id, frame.status);
        break;
      }
      case "error": {
        // A send's refusal is its message's (the outbox shows it); others are the client's.
        const send = [...this.replies].find(([, waiting]) => frame.ref !== undefined && waiting.ref === frame.ref);
        if (send) this.settle(send[0], { error: new ApiError(statusOf(frame.code), frame.code, frame.message) });
        else this.lastError = `${frame.code}: ${frame.message}`;
        break;
      }
      default:
        break;
    }
    for (const listener of this.frameListeners) listener(frame);
    this.emit();
  }
}

/**
 * Where the WebSocket API is: `configured` (in AWS, the stack's WebSocketUrl output), else `/ws`
 * on the given origin (the local gateway), with the token in the query.
 */
export function webSocketUrl(token: string, configured: string | undefined, location: { protocol: string; host: string }): string {
  const base = configured || `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;
  return `${base}${base.includes("?") ? "&" : "?"}token=${encodeURIComponent(token)}`;
}

/** How a browser reaches the live API. */
export interface BrowserOptions {
  /** The current token (read at every connect, so a renewed token is used on reconnect). */
  token: () => string;
  /** The WebSocket API's URL; else `/ws` on `origin`. */
  webSocketUrl?: string;
  /** Where the API is (`location` of the page by default). */
  origin?: { protocol: string; host: string };
  fetchMessages: LiveDeps["fetchMessages"];
  postMessage: LiveDeps["postMessage"];
  storage?: OutboxStorage;
}

/** The browser's dependencies: a real WebSocket, real timers. */
export function browserDeps(options: BrowserOptions): LiveDeps {
  return {
    open: () => {
      const url = webSocketUrl(options.token(), options.webSocketUrl, options.origin ?? window.location);
      return new WebSocket(url) as unknown as SocketLike;
    },
    fetchMessages: options.fetchMessages,
    postMessage: options.postMessage,
    storage: options.storage,
    setTimeout: (fn, ms) => window.setTimeout(fn, ms),
    clearTimeout: (handle) => window.clearTimeout(handle as number),
  };
}

/** An outbox kept in localStorage under `key` (nothing kept where storage is blocked). */
export function localOutbox(key: string): OutboxStorage | undefined {
  try {
    const storage = window.localStorage;
    return { load: () => storage.getItem(key), save: (value) => storage.setItem(key, value) };
  } catch {
    return undefined;
  }
}
