// The chat UI chunk, loaded by the loader when the visitor first opens the widget. Plain DOM on
// the client SDK: a visitor token kept in localStorage (renewed for the same visitor by its
// `resume` key), the pre-chat form the site asks for, the conversation live over the SDK's
// reconnecting connection and outbox, queue place and wait, agent's name, typing, receipts, the
// unread badge and title blink while closed, earlier conversations and the rating prompt.
import {
  Api,
  ApiError,
  browserDeps,
  LiveClient,
  localOutbox,
  type Message,
  type Session,
  type WidgetSite,
  type WidgetToken,
} from "@switchboard/client";
import { acceptFiles, attachmentList } from "./attachments";
import { CHAT_CSS } from "./chat-css";
import { DEFAULT_COLOUR, fill, pickLocale, type Strings, textOn, validColour } from "./config";
import type { ChatWidget, Identity, LoaderContext } from "./loader";
import en from "./locales/en.json";
import es from "./locales/es.json";
import { isReopenable, readUpTo, unreadCount } from "./rules";

/** The visitor's credentials, kept per site in localStorage. */
type Visitor = Omit<WidgetToken, "moved_sessions">;

/** How long before its expiry a token is renewed. */
const RENEW_BEFORE_MS = 60_000;
/** How often a waiting customer's place in the queue is read again, until the server pushes it. */
const QUEUE_POLL_MS = 15_000;
/** How long to wait before trying a failed background read or renewal again. */
const RETRY_MS = 15_000;
/** Typing `start` is sent at most this often; `stop` after this long without a key. */
const TYPING_MS = 3_000;

/** For background reads whose failure the next live update or poll makes good. */
function ignore(): void {}

/** An element with attributes and children. */
function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | boolean | undefined> = {},
  ...children: (Node | string | undefined | false)[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === true) el.setAttribute(key, "");
    else if (typeof value === "string") el.setAttribute(key, value);
  }
  for (const child of children) if (child) el.append(child);
  return el;
}

/** Reads and writes this site's keys in localStorage; a blocked storage keeps nothing. */
function store(site: string) {
  const key = (name: string) => `switchboard:${site}:${name}`;
  return {
    get(name: string): string | null {
      try {
        return localStorage.getItem(key(name));
      } catch {
        return null;
      }
    },
    set(name: string, value: string | undefined): void {
      try {
        if (value === undefined) localStorage.removeItem(key(name));
        else localStorage.setItem(key(name), value);
      } catch {
        // Blocked or full: the widget still works for this page.
      }
    },
    outbox: localOutbox(key("outbox")),
  };
}

/** Starts the widget in the loader's shadow root. */
export function start(context: LoaderContext): ChatWidget {
  const { config, shadow, root, launcher, badge } = context;
  const saved = store(config.site);
  let t: Strings = pickLocale(config.locale, undefined, navigator.language) === "es" ? es : en;
  let visitor: Visitor | undefined = parse<Visitor>(saved.get("visitor"));
  let identity: Identity | undefined;
  let site: WidgetSite | undefined;
  let sessionId = saved.get("session") ?? undefined;
  let session: Session | undefined;
  let agentName: string | undefined;
  let isOpen = false;
  let screen: "loading" | "prechat" | "chat" | "history" | "rating" | "thanks" = "loading";
  let problem: string | undefined;
  let renewTimer: number | undefined;
  let queueTimer: number | undefined;
  let blinkTimer: number | undefined;
  const pageTitle = document.title;

  const api = new Api(() => visitor?.token, { baseUrl: config.api });
  // The visitor route takes no token: an expired one must not stand in the way of a new one.
  const publicApi = new Api(undefined, { baseUrl: config.api });
  const live = new LiveClient(
    browserDeps({
      token: () => visitor?.token ?? "",
      webSocketUrl: config.ws,
      origin: new URL(config.api),
      fetchMessages: (id, after, cursor) =>
        api.get("/chat/messages/{session_id}", { path: { session_id: id }, query: { after, cursor, limit: 200 } }),
      postMessage: (message) => api.post("/chat/messages", { body: message }),
      storage: saved.outbox,
    }),
  );

  const style = h("style");
  style.textContent = CHAT_CSS;
  shadow.prepend(style);
  const title = h("h2", { id: "sb-title" });
  const subtitle = h("p");
  const historyButton = h("button", { type: "button" });
  const closeButton = h("button", { type: "button" }, "×");
  const body = h("div", { class: "body" });
  const panel = h(
    "div",
    { class: "panel", id: "sb-panel", role: "dialog", "aria-modal": "true", "aria-labelledby": "sb-title", hidden: true },
    h("header", {}, h("div", { class: "who" }, title, subtitle), historyButton, closeButton),
    body,
  );
  root.prepend(panel);
  launcher.setAttribute("aria-controls", "sb-panel");

  // ---- the conversation's elements, kept across renders so focus and the live region hold ----
  const status = h("p", { class: "status", role: "status" });
  // The log is the live region: screen readers read each message as it is added.
  const log = h("ol", { class: "log" });
  const logRegion = h("div", { role: "log", "aria-live": "polite" }, log);
  const typing = h("p", { class: "typing" });
  const input = h("textarea", { rows: "2" });
  const sendButton = h("button", { type: "submit" });
  const inputLabel = h("label", { class: "sr", for: "sb-input" });
  const composer = h("form", { class: "composer" }, inputLabel, input, sendButton);
  input.id = "sb-input";
  const endButton = h("button", { type: "button", class: "quiet" });
  const newChatButton = h("button", { type: "button" });
  const notice = h("p", { class: "notice" });
  const alertLine = h("p", { class: "error", role: "alert" });
  const chatActions = h("div", { class: "row" }, endButton, newChatButton);
  const rendered = new Map<string, HTMLLIElement>();

  function parse<T>(text: string | null): T | undefined {
    try {
      return text ? (JSON.parse(text) as T) : undefined;
    } catch {
      return undefined;
    }
  }

  function errorText(error: unknown): string {
    return fill(t.error, { e: error instanceof ApiError ? error.code : "network" });
  }

  // ---- tokens ----
  function remember(next: Visitor): void {
    visitor = { ...next, resume: next.resume ?? visitor?.resume };
    saved.set("visitor", JSON.stringify(visitor));
    window.clearTimeout(renewTimer);
    const wait = Date.parse(visitor.expires_at) - Date.now() - RENEW_BEFORE_MS;
    renewTimer = window.setTimeout(renewSoon, Math.max(wait, 1_000));
  }

  /** Renews the token; when the API cannot be reached, tries again in a while. */
  function renewSoon(): void {
    renew().catch(() => {
      renewTimer = window.setTimeout(renewSoon, RETRY_MS);
    });
  }

  async function renew(details: { name?: string; email?: string } = {}): Promise<void> {
    if (identity) {
      await identify(identity);
      return;
    }
    const fresh = await publicApi.post("/widget/visitors", {
      body: { site_id: config.site, resume: visitor?.resume, ...details },
    });
    remember(fresh);
  }

  /** Whether a token is good for more than the renewal margin. */
  function fresh(held: Visitor | undefined): held is Visitor {
    return held !== undefined && Date.parse(held.expires_at) - Date.now() > RENEW_BEFORE_MS;
  }

  async function ensureVisitor(): Promise<void> {
    if (fresh(visitor)) remember(visitor);
    else await renew();
  }

  /** The user id a signed identity names, as tokens carry it (`wu:<site>:<id>`). */
  function identifiedAs(next: Identity): string | undefined {
    if ("user_id" in next) return `wu:${config.site}:${next.user_id}`;
    try {
      const payload = next.identity_token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      const sub: unknown = JSON.parse(atob(payload)).sub;
      return typeof sub === "string" ? `wu:${config.site}:${sub}` : undefined;
    } catch {
      return undefined;
    }
  }

  async function identify(next: Identity): Promise<void> {
    // The page identifies its user on every load: while the token held is already theirs, that
    // costs no request (the server checked this identity when it issued the token).
    if (fresh(visitor) && visitor.user_id === identifiedAs(next)) {
      identity = next;
      return;
    }
    // The exchange is made with an anonymous visitor's token: the one held, or a fresh one for
    // the same visitor (so renewing an identified token cannot loop back here).
    const anonymous =
      fresh(visitor) && visitor.user_id.startsWith("wv:")
        ? visitor
        : await publicApi.post("/widget/visitors", { body: { site_id: config.site, resume: visitor?.resume } });
    const answer = await publicApi.post("/widget/identify", {
      body: { site_id: config.site, ...next },
      headers: { authorization: `Bearer ${anonymous.token}` },
    });
    identity = next;
    remember({ ...answer, resume: anonymous.resume ?? visitor?.resume });
    // The conversation moved to the identified user: reconnect with the new token, read again.
    live.stop();
    live.start();
    // Identified either way; the session is read again by the next update when this fails.
    if (sessionId) await loadSession().catch(ignore);
    render();
  }

  /**
   * The site's user signed out: forget them on this browser (token, conversation, unsent
   * messages, what was read) and go on as a new anonymous visitor, so the next person at a shared
   * computer sees nothing of theirs.
   */
  async function logout(): Promise<void> {
    identity = undefined;
    live.reset();
    follow(undefined);
    saved.set("seen", undefined);
    saved.set("visitor", undefined);
    visitor = undefined;
    window.clearTimeout(renewTimer);
    window.clearTimeout(queueTimer);
    queuePushed = false;
    stopTyping();
    problem = undefined;
    screen = "prechat";
    try {
      await renew();
    } finally {
      live.start();
      if (isOpen) showScreen();
      else render();
    }
  }

  // ---- the session ----
  async function loadSite(): Promise<void> {
    site = await publicApi.get("/widget/sites/{site_id}", { path: { site_id: config.site } });
    t = pickLocale(config.locale, site.locale, navigator.language) === "es" ? es : en;
    const colour = config.colour ?? validColour(site.colour) ?? DEFAULT_COLOUR;
    root.style.setProperty("--accent", colour);
    root.style.setProperty("--on-accent", textOn(colour));
    if (!config.position && site.position === "left") root.classList.add("left");
  }

  async function loadSession(): Promise<void> {
    if (!sessionId) return;
    const askedAs = visitor?.token;
    try {
      session = await api.get("/chat/sessions/{id}", { path: { id: sessionId } });
    } catch (error) {
      // Not theirs any more (another visitor on this browser) or gone: start afresh — unless the
      // token changed while asking (identify moved the session to the signed-in user, whose
      // token reads it next): then the refusal is stale.
      if (error instanceof ApiError && (error.status === 403 || error.status === 404)) {
        if (visitor?.token === askedAs) follow(undefined);
        return;
      }
      throw error;
    }
    await loadAgent();
    scheduleQueuePoll();
  }

  async function loadAgent(): Promise<void> {
    if (!session?.agent_id || !sessionId) {
      agentName = undefined;
      return;
    }
    try {
      const people = await api.get("/chat/sessions/{id}/participants", { path: { id: sessionId } });
      agentName = people.items.find((p) => p.user_id === session?.agent_id)?.name ?? undefined;
    } catch {
      // The name is a nicety: without it the header says an agent has joined.
      agentName = undefined;
    }
  }

  function follow(id: string | undefined): void {
    sessionId = id;
    saved.set("session", id);
    session = undefined;
    agentName = undefined;
    rendered.clear();
    log.replaceChildren();
    if (id) live.followSession(id);
  }

  /** Whether the server pushes `queue.updated` (then the place is not polled). */
  let queuePushed = false;
  function scheduleQueuePoll(): void {
    window.clearTimeout(queueTimer);
    if (session?.status !== "waiting" || queuePushed) return;
    queueTimer = window.setTimeout(() => {
      loadSession().then(render, () => {
        queueTimer = window.setTimeout(scheduleQueuePoll, RETRY_MS);
      });
    }, QUEUE_POLL_MS);
  }

  async function startChat(form: HTMLFormElement): Promise<void> {
    const data = new FormData(form);
    const text = (name: string) => {
      const value = String(data.get(name) ?? "").trim();
      return value || undefined;
    };
    const name = text("name");
    const email = text("email");
    // The pre-chat name and e-mail go into the visitor's token (the agent sees them).
    if (name || email) await renew({ name, email });
    const created = await api.post("/chat/sessions", { body: { subject: text("subject") ?? t.defaultSubject } });
    follow(created.id);
    session = created;
    screen = "chat";
    scheduleQueuePoll();
  }

  // ---- live updates ----
  live.onFrame((frame) => {
    if (frame.type === "queue.updated" && frame.session_id === sessionId && session?.status === "waiting") {
      queuePushed = true;
      window.clearTimeout(queueTimer);
      session = { ...session, queue_position: frame.queue_position, estimated_wait_seconds: frame.estimated_wait_seconds };
    }
    if ((frame.type === "session.updated" || frame.type === "subscribed") && frame.session.id === sessionId) {
      const before = session?.status;
      const agentBefore = session?.agent_id;
      // A pushed session may carry no queue place: keep the last one read until it is read again.
      session = {
        ...frame.session,
        queue_position: frame.session.queue_position ?? session?.queue_position,
        estimated_wait_seconds: frame.session.estimated_wait_seconds ?? session?.estimated_wait_seconds,
      };
      if (frame.session.status === "waiting" && frame.session.queue_position == null) loadSession().then(render, ignore);
      // The agent's name is read once per agent.
      if (session.agent_id !== agentBefore) loadAgent().then(render, ignore);
      if (before !== "closed" && session.status === "closed" && session.rating == null && screen === "chat") {
        screen = "rating";
        if (isOpen) showScreen();
      }
    }
  });
  live.subscribe(() => render());
  // Messages count as read only while the page is on screen: coming back marks them.
  document.addEventListener("visibilitychange", () => render());

  // ---- unread badge and title blink ----
  /** The customer's own messages (by role: identify changes their user id, not the messages'). */
  function mine(message: Message): boolean {
    return message.sender_role === "customer";
  }

  function updateUnread(messages: Message[]): void {
    const seen = saved.get("seen") ?? undefined;
    if (isOpen && document.visibilityState === "visible") {
      const latest = messages.filter((m) => !mine(m)).at(-1);
      if (latest && (!seen || latest.id > seen)) {
        saved.set("seen", latest.id);
        const read = { session_id: latest.session_id, message_id: latest.id };
        if (!live.send({ action: "mark_read", ...read })) {
          void api.post("/chat/sessions/{id}/read", { path: { id: read.session_id }, body: { message_id: read.message_id } }).catch(ignore);
        }
      }
    }
    const unread = isOpen ? 0 : unreadCount(messages, saved.get("seen") ?? undefined);
    badge.hidden = unread === 0;
    badge.textContent = String(unread);
    launcher.setAttribute("aria-label", unread ? fill(t.openUnread, { n: unread }) : t.open);
    blink(unread);
  }

  let blinking = 0;
  function blink(unread: number): void {
    if (unread === blinking) return;
    blinking = unread;
    window.clearInterval(blinkTimer);
    blinkTimer = undefined;
    if (!unread) {
      document.title = pageTitle;
      return;
    }
    const alert = fill(t.blink, { n: unread });
    if (matchMedia("(prefers-reduced-motion: reduce)").matches) {
      document.title = `${alert} · ${pageTitle}`;
      return;
    }
    blinkTimer = window.setInterval(() => {
      document.title = document.title === alert ? pageTitle : alert;
    }, 1_000);
  }

  // ---- rendering ----
  function render(): void {
    title.textContent = config.greeting || site?.greeting || site?.name || t.title;
    subtitle.textContent = agentName ? fill(t.agent, { name: agentName }) : session?.agent_id ? t.agentJoined : "";
    historyButton.textContent = screen === "history" ? t.back : t.history;
    historyButton.hidden = screen === "loading" || !visitor;
    closeButton.setAttribute("aria-label", t.close);
    inputLabel.textContent = t.message;
    sendButton.textContent = t.send;
    endButton.textContent = t.end;
    logRegion.setAttribute("aria-label", t.messages);
    const view = sessionId ? live.view(sessionId) : undefined;
    updateUnread(view?.messages ?? []);
    if (screen === "chat") renderChat();
  }

  function show(...children: (Node | undefined | false)[]): void {
    body.replaceChildren(...children.filter((c): c is Node => Boolean(c)));
  }

  function problemNode(): Node | undefined {
    return problem ? h("p", { class: "error", role: "alert" }, problem) : undefined;
  }

  /** Whether to say nobody is online: no agent is, and the visitor has nobody yet. */
  function nobodyOnline(): boolean {
    return site?.agents_online === false && (!session || session.status === "waiting");
  }

  function renderPrechat(): void {
    const fields = site?.prechat_fields ?? { name: "optional", email: "optional", subject: "required" };
    const field = (name: "name" | "email" | "subject", type: string) => {
      if (fields[name] === "off") return undefined;
      const required = fields[name] === "required";
      const control =
        name === "subject"
          ? h("textarea", { name, rows: "2", required, "aria-required": String(required) })
          : h("input", { name, type, required, "aria-required": String(required), autocomplete: name });
      return h("label", {}, required ? t[name] : `${t[name]} (${t.optional})`, control);
    };
    const form = h("form", {}, field("name", "text"), field("email", "email"), field("subject", "text"), h("button", { type: "submit" }, t.start));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      // Creating a session is not idempotent: one click, one conversation.
      if (form.getAttribute("aria-busy") === "true") return;
      form.setAttribute("aria-busy", "true");
      problem = undefined;
      void startChat(form).then(
        () => {
          showScreen();
          input.focus();
        },
        (error: unknown) => failed(form, error),
      );
    });
    show(nobodyOnline() && h("p", { class: "notice" }, t.offline), problemNode(), form);
  }

  /** A form's request failed: say why above it and let it be sent again, as filled in. */
  function failed(form: HTMLFormElement, error: unknown): void {
    form.removeAttribute("aria-busy");
    const shown = body.querySelector(".error");
    const line = h("p", { class: "error", role: "alert" }, errorText(error));
    if (shown) shown.replaceWith(line);
    else form.before(line);
  }

  function statusText(): string {
    if (live.state === "reconnecting") return t.reconnecting;
    if (!session) return "";
    if (session.status === "closed") return t.closed;
    // The header names the agent.
    if (session.status === "active") return "";
    const parts = [session.queue_position ? fill(t.queue, { n: session.queue_position }) : t.waiting];
    if (session.estimated_wait_seconds != null) parts.push(fill(t.wait, { m: Math.max(1, Math.round(session.estimated_wait_seconds / 60)) }));
    return parts.join(" ");
  }

  function renderChat(): void {
    const view = sessionId ? live.view(sessionId) : undefined;
    status.textContent = statusText();
    const messages = view?.messages ?? [];
    const readUpToId = view ? readUpTo(view.readBy, visitor?.user_id) : undefined;
    const lastMine = messages.filter(mine).at(-1);
    const items: [string, string, string | undefined, boolean, (() => Node) | undefined][] = messages
      .filter((m) => !m.deleted)
      .map((m) => [
        m.id,
        m.body ?? "",
        m === lastMine ? (readUpToId && m.id <= readUpToId ? t.read : t.sent) : undefined,
        mine(m),
        m.attachments?.length && sessionId ? attachmentList.bind(null, api, sessionId, m, t, h) : undefined,
      ]);
    for (const p of view?.pending ?? []) {
      const actions =
        p.state === "failed"
          ? () =>
              h(
                "span",
                { class: "row" },
                button(t.retry, () => live.retry(p.client_message_id), "quiet"),
                button(t.discard, () => live.discard(p.client_message_id), "quiet"),
              )
          : undefined;
      items.push([`p:${p.client_message_id}`, p.body, p.state === "failed" ? t.failed : t.sending, true, actions]);
    }
    const keep = new Set(items.map(([key]) => key));
    for (const [key, el] of rendered) {
      if (!keep.has(key)) {
        el.remove();
        rendered.delete(key);
      }
    }
    let previous: Element | null = null;
    for (const [key, text, note, isMine, actions] of items) {
      let el = rendered.get(key);
      const who = isMine ? t.you : t.support;
      const content = `${text}\u0000${note ?? ""}`;
      if (!el || el.dataset.content !== content) {
        const next = h("li", { class: isMine ? "msg mine" : "msg" }, h("span", { class: "sr" }, `${who}: `), text, note ? h("small", {}, note) : undefined, actions?.());
        next.dataset.content = content;
        if (el) el.replaceWith(next);
        el = next;
        rendered.set(key, el);
      }
      if (el.previousElementSibling !== previous || el.parentNode !== log) {
        if (previous) previous.after(el);
        else log.prepend(el);
      }
      previous = el;
    }
    const typers = [...(view?.typing ?? [])].filter((id) => id !== visitor?.user_id);
    typing.textContent = typers.length ? fill(t.typing, { name: agentName ?? t.support }) : "";
    const closed = session?.status === "closed";
    composer.hidden = closed;
    endButton.hidden = closed || !session;
    newChatButton.hidden = !closed;
    newChatButton.textContent = t.newChat;
    notice.textContent = t.offline;
    notice.hidden = !nobodyOnline();
    alertLine.textContent = problem ?? "";
    alertLine.hidden = !problem;
    if (body.firstChild !== status) {
      show(status, notice, alertLine, logRegion, typing, chatActions);
      body.after(composer);
    }
    log.lastElementChild?.scrollIntoView({ block: "nearest" });
  }

  function button(label: string, onClick: () => void, kind?: string): HTMLButtonElement {
    const el = h("button", { type: "button", class: kind }, label);
    el.addEventListener("click", onClick);
    return el;
  }

  function newChat(): void {
    follow(undefined);
    screen = "prechat";
    showScreen();
  }

  function renderRating(): void {
    const scores = [1, 2, 3, 4, 5].map((n) =>
      h("label", { class: "score" }, h("input", { type: "radio", name: "score", value: String(n), required: true }), h("span", { "aria-hidden": "true" }, String(n)), h("span", { class: "sr" }, fill(t.score, { n }))),
    );
    const form = h(
      "form",
      {},
      h("fieldset", {}, h("legend", {}, t.rateTitle), ...scores),
      h("label", {}, `${t.comment} (${t.optional})`, h("textarea", { name: "comment", rows: "3", maxlength: "1000" })),
      h("div", { class: "row" }, h("button", { type: "submit" }, t.rateSend), button(t.skip, () => newChat(), "quiet")),
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (form.getAttribute("aria-busy") === "true") return;
      form.setAttribute("aria-busy", "true");
      const data = new FormData(form);
      const comment = String(data.get("comment") ?? "").trim();
      if (!sessionId) return;
      void api
        .post("/chat/sessions/{id}/rating", { path: { id: sessionId }, body: { score: Number(data.get("score")), comment: comment || null } })
        .then(
          () => {
            screen = "thanks";
            showScreen();
          },
          (error: unknown) => failed(form, error),
        );
    });
    show(h("p", { class: "status", role: "status" }, t.closed), problemNode(), form);
  }

  async function renderHistory(): Promise<void> {
    show(h("p", { class: "status", role: "status" }, t.loading));
    let sessions: Session[];
    try {
      sessions = (await api.get("/chat/sessions", { query: { limit: 20 } })).items;
    } catch (error) {
      show(h("p", { class: "error", role: "alert" }, errorText(error)));
      return;
    }
    if (!sessions.length) {
      show(h("p", {}, t.historyEmpty));
      return;
    }
    const list = h("ul", { class: "history", "aria-label": t.history });
    for (const s of sessions) {
      const when = new Date(s.created_at).toLocaleDateString(t === es ? "es" : "en");
      const item = h("li", {}, h("span", {}, `${s.subject} · ${when}`));
      const openIt = async (reopen: boolean) => {
        try {
          if (reopen) await api.post("/chat/sessions/{id}/reopen", { path: { id: s.id } });
          follow(s.id);
          await loadSession();
          problem = undefined;
          screen = "chat";
          showScreen();
        } catch (error) {
          problem = errorText(error);
          void renderHistory();
        }
      };
      if (s.status === "closed" && isReopenable(s, Date.now())) item.append(button(t.reopen, () => void openIt(true)));
      else item.append(button(t.open_, () => void openIt(false), "quiet"));
      list.append(item);
    }
    show(problemNode(), list);
  }

  function showScreen(): void {
    composer.remove();
    if (screen === "loading") show(h("p", { class: "status", role: "status" }, t.loading));
    else if (screen === "prechat") renderPrechat();
    else if (screen === "rating") renderRating();
    else if (screen === "history") void renderHistory();
    else if (screen === "thanks") show(h("p", { role: "status" }, t.thanks), button(t.newChat, () => newChat()));
    else {
      body.replaceChildren();
      renderChat();
    }
    render();
  }

  // ---- composer ----
  let typingSince = 0;
  let typingStop: number | undefined;
  input.addEventListener("input", () => {
    if (!sessionId) return;
    const now = Date.now();
    if (now - typingSince > TYPING_MS) {
      typingSince = now;
      live.send({ action: "typing", session_id: sessionId, state: "start" });
    }
    window.clearTimeout(typingStop);
    typingStop = window.setTimeout(stopTyping, TYPING_MS);
  });
  /** The visitor stopped typing: a pause tells the others with a `stop`; a sent message tells
   * them itself (their clients hide the indicator on its `message.created`), so `announce` is
   * false then and no frame is billed for it. */
  function stopTyping(announce = true): void {
    window.clearTimeout(typingStop);
    if (announce && typingSince && sessionId) live.send({ action: "typing", session_id: sessionId, state: "stop" });
    typingSince = 0;
  }
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      composer.requestSubmit();
    }
  });
  composer.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text || !sessionId) return;
    stopTyping(false);
    live.sendMessage(sessionId, text);
    input.value = "";
  });
  acceptFiles({
    api,
    composer,
    sessionId: () => sessionId,
    t,
    say: (text) => (status.textContent = text || statusText()),
    sent: (id, message) => live.merge(id, [message]),
  });
  newChatButton.addEventListener("click", () => newChat());
  endButton.addEventListener("click", () => {
    if (!sessionId) return;
    void api.post("/chat/sessions/{id}/close", { path: { id: sessionId }, body: {} }).then(
      (closed) => {
        session = closed;
        problem = undefined;
        screen = "rating";
        showScreen();
      },
      (error: unknown) => {
        problem = errorText(error);
        render();
      },
    );
  });
  historyButton.addEventListener("click", () => {
    screen = screen === "history" ? (sessionId ? "chat" : "prechat") : "history";
    showScreen();
  });
  closeButton.addEventListener("click", () => close());

  // ---- keyboard: focus stays in the dialog while open, Escape closes ----
  panel.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.preventDefault();
      close();
      return;
    }
    if (event.key !== "Tab") return;
    const focusable = [...panel.querySelectorAll<HTMLElement>("button, input, textarea, [tabindex]")].filter(
      (el) => !el.hasAttribute("disabled") && el.getClientRects().length > 0,
    );
    const first = focusable[0];
    const last = focusable[focusable.length - 1];
    const active = shadow.activeElement;
    if (event.shiftKey && active === first) {
      event.preventDefault();
      last?.focus();
    } else if (!event.shiftKey && active === last) {
      event.preventDefault();
      first?.focus();
    }
  });

  function open(): void {
    isOpen = true;
    panel.hidden = false;
    root.classList.add("open");
    launcher.setAttribute("aria-expanded", "true");
    showScreen();
    (panel.querySelector<HTMLElement>("input, textarea") ?? closeButton).focus();
  }

  function close(): void {
    isOpen = false;
    panel.hidden = true;
    root.classList.remove("open");
    launcher.setAttribute("aria-expanded", "false");
    stopTyping();
    render();
    launcher.focus();
  }

  // ---- start: token, site, the conversation going on in this browser ----
  const ready = (async () => {
    // Without a visitor token nothing works (a page on an origin the site does not allow): say so.
    await ensureVisitor();
    // The rest only adds to what is shown: its defaults stand in, and the live connection
    // starts (and resyncs the conversation) whatever happened to these reads.
    await loadSite().catch(ignore);
    if (sessionId) {
      live.followSession(sessionId);
      await loadSession().catch(ignore);
    }
    live.start();
    screen = !sessionId ? "prechat" : session?.status === "closed" && session.rating == null ? "rating" : "chat";
  })().catch((error: unknown) => {
    problem = errorText(error);
    screen = "prechat";
  });
  void ready.then(() => (isOpen ? showScreen() : render()));

  return {
    open,
    close,
    identify: async (next) => {
      await ready;
      await identify(next);
    },
    logout: async () => {
      await ready;
      await logout();
    },
  };
}
