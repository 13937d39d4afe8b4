import { useEffect, useLayoutEffect, useRef, useState } from "react";
import type { Api, Attachment, LiveClient, Message, Session } from "@switchboard/client";
import type { Identity } from "../auth";
import { time } from "../format";
import { errorText, useLive, useLoad } from "../hooks";
import { Markdown } from "../markdown";
import { announce, notificationPermission, setSoundWanted, soundWanted, titleWithCount } from "../notify";
import { LoadState, TransferForm } from "./Admin";
import { CustomerPanel } from "./CustomerPanel";
import { KeysDialog, useConsoleKeys } from "./Keys";
import { byUrgency, rowOf, SessionList } from "./SessionList";
import { type Canned, CannedList, useCannedSuggestions } from "./CannedSuggestions";
import { MessageAttachments, UploadTray, filesOf, useAttachmentStates, useUploads } from "./Attachments";

type Props = { api: Api; live: LiveClient; identity: Identity };

export function AgentConsole({ api, live, identity }: Props) {
  useLive(live);
  const [selected, setSelected] = useState<string>();
  // The list is read again when one of the agent's sessions changes (assigned, transferred,
  // closed), not on every floor figure: each read costs a query per session.
  const [changes, setChanges] = useState(0);
  const [sessions, reload] = useLoad(
    () => api.get("/admin/chat-dashboard/active-sessions", { query: { limit: 50 } }),
    [api, changes, selected],
  );
  const items = sessions.state === "ready" ? sessions.data.items : [];
  // Every listed conversation is followed, so its unread count and last message move live.
  useEffect(() => {
    for (const session of items) live.followSession(session.id);
  }, [live, items]);
  const rows = items.map((session) => rowOf(session, live, session.id === selected)).sort(byUrgency);
  const unread = rows.reduce((sum, row) => sum + row.unread, 0);
  useEffect(() => {
    document.title = titleWithCount(unread);
  }, [unread]);
  useEffect(() => () => void (document.title = titleWithCount(0)), []);
  // Sessions the agent knows of: a `session.updated` that makes another one theirs announces it.
  const seen = useRef(new Set<string>());
  const [fresh, setFresh] = useState(new Set<string>());
  useEffect(() => {
    for (const session of items) seen.current.add(session.id);
  }, [items]);
  useEffect(
    () =>
      live.onFrame((frame) => {
        if (frame.type !== "session.updated") return;
        setChanges((n) => n + 1);
        const session = frame.session;
        if (session.agent_id !== identity.sub || session.status !== "active" || seen.current.has(session.id)) return;
        seen.current.add(session.id);
        setFresh((ids) => new Set(ids).add(session.id));
        const who = session.customer_name ?? session.customer_id;
        announce(`New conversation: ${session.subject}`, `${who} · ${session.priority} priority`, session.id, () => setSelected(session.id));
      }),
    [live, identity.sub],
  );
  const keysDialog = useRef<HTMLDialogElement>(null);
  const [closeNote, setCloseNote] = useState<string>();
  const closeSelected = async () => {
    if (!selected || !window.confirm("Close this conversation?")) return;
    try {
      await api.post("/chat/sessions/{id}/close", { path: { id: selected } });
      setCloseNote("Conversation closed.");
      setSelected(undefined);
      reload();
    } catch (caught) {
      setCloseNote(`Not closed: ${errorText(caught)}`);
    }
  };
  useConsoleKeys({
    move: (step) => {
      if (rows.length === 0) return;
      const at = rows.findIndex((row) => row.session.id === selected);
      const next = at < 0 ? (step > 0 ? 0 : rows.length - 1) : Math.min(rows.length - 1, Math.max(0, at + step));
      select(rows[next].session.id);
    },
    focusReply: () => document.getElementById("reply")?.focus(),
    close: () => void closeSelected(),
    help: () => keysDialog.current?.showModal(),
  });
  const select = (id: string) => {
    setCloseNote(undefined);
    setSelected(id);
    setFresh((ids) => {
      const next = new Set(ids);
      next.delete(id);
      return next;
    });
  };
  return (
    <div className="console">
      <aside aria-labelledby="mine-title">
        <StatusForm api={api} />
        <Alerts />
        <button type="button" className="link small" onClick={() => keysDialog.current?.showModal()}>
          Keyboard shortcuts (?)
        </button>
        <KeysDialog dialog={keysDialog} />
        <AgentQueue
          api={api}
          live={live}
          onTaking={(id) => seen.current.add(id)}
          onTaken={(id) => {
            select(id);
            reload();
          }}
        />
        <h2 id="mine-title">My sessions</h2>
        <LoadState load={sessions} empty={(page) => page.items.length === 0}>
          {() => <SessionList rows={rows} selected={selected} fresh={fresh} onSelect={select} />}
        </LoadState>
      </aside>
      {selected ? (
        <Conversation
          key={selected}
          api={api}
          live={live}
          identity={identity}
          sessionId={selected}
          onTransferred={() => {
            setSelected(undefined);
            reload();
          }}
          onClose={() => void closeSelected()}
        />
      ) : (
        <div>
          {closeNote && <p role="status">{closeNote}</p>}
          <p className="muted">Choose a session to answer. Keys: j and k move between them, ? lists the rest.</p>
        </div>
      )}
    </div>
  );
}

/** Desktop notifications (asked for once, on the agent's click) and the optional sound. */
function Alerts() {
  const [permission, setPermission] = useState(notificationPermission);
  const [sound, setSound] = useState(soundWanted);
  return (
    <div className="alerts small">
      {permission === "default" && (
        <button type="button" className="link" onClick={() => void Notification.requestPermission().then(setPermission)}>
          Turn on desktop notifications
        </button>
      )}
      {permission === "denied" && <p className="muted">Desktop notifications are blocked in this browser's settings.</p>}
      <label className="check">
        <input
          type="checkbox"
          checked={sound}
          onChange={(event) => {
            setSoundWanted(event.target.checked);
            setSound(event.target.checked);
          }}
        />
        Sound for a new conversation
      </label>
    </div>
  );
}

/** The waiting queue, from which an agent takes a session themselves. */
function AgentQueue(props: { api: Api; live: LiveClient; onTaking: (id: string) => void; onTaken: (id: string) => void }) {
  const { api, live, onTaking, onTaken } = props;
  const [queue, reload] = useLoad(
    () => api.get("/chat/sessions", { query: { status: "waiting", limit: 20 } }),
    [api, live.sessionEvents],
  );
  const [error, setError] = useState<string>();
  const take = async (id: string) => {
    setError(undefined);
    // Taking it is no news to announce.
    onTaking(id);
    try {
      await api.post("/admin/chat-dashboard/sessions/{id}/assign", { path: { id }, body: {} });
      onTaken(id);
    } catch (caught) {
      setError(errorText(caught));
      reload();
    }
  };
  return (
    <>
      <h2 id="agent-queue-title">Waiting</h2>
      <LoadState load={queue} empty={(page) => page.items.length === 0}>
        {(page) => (
          <ul className="session-list" aria-labelledby="agent-queue-title">
            {page.items.map((session) => (
              <li key={session.id}>
                <button type="button" onClick={() => void take(session.id)} aria-label={`Take “${session.subject}” (${session.priority})`}>
                  <strong>{session.customer_name ?? session.customer_id}</strong>
                  <span>
                    {session.subject} · {session.priority}
                  </span>
                </button>
              </li>
            ))}
          </ul>
        )}
      </LoadState>
      {error && <p role="alert" className="error small">{error}</p>}
    </>
  );
}

function StatusForm({ api }: { api: Api }) {
  const [current] = useLoad(() => api.get("/agent/status"), [api]);
  const [status, setStatus] = useState<"online" | "away" | "offline">("offline");
  const [capacity, setCapacity] = useState(5);
  const [note, setNote] = useState<string>();
  // The saved status fills the form before the browser can paint it enabled (a layout effect):
  // a plain effect ran after that paint, and a choice made in between was overwritten.
  useLayoutEffect(() => {
    if (current.state === "ready") {
      setStatus(current.data.status);
      setCapacity(current.data.capacity);
    }
  }, [current]);
  const save = async (event: React.FormEvent) => {
    event.preventDefault();
    try {
      const state = await api.put("/agent/status", { body: { status, capacity } });
      setNote(`Saved: ${state.status}, ${state.active_sessions} of ${state.capacity} sessions.`);
    } catch (caught) {
      setNote(`Could not save: ${errorText(caught)}`);
    }
  };
  // Until the saved status is read, the form would show (and could save) defaults.
  const loading = current.state === "loading";
  return (
    <form className="status" onSubmit={save} aria-label="Availability" aria-busy={loading}>
      {current.state === "error" && <p role="alert" className="error small">Could not read your status: {current.message}</p>}
      <label htmlFor="agent-status">Status</label>
      <select id="agent-status" disabled={loading} value={status} onChange={(e) => setStatus(e.target.value as typeof status)}>
          <option value="online">Online</option>
          <option value="away">Away</option>
          <option value="offline">Offline</option>
      </select>
      <label htmlFor="agent-capacity">Capacity</label>
      <input id="agent-capacity" disabled={loading} type="number" min={1} max={50} value={capacity} onChange={(e) => setCapacity(Number(e.target.value))} />
      <button type="submit" disabled={loading}>
        Save status
      </button>
      {note && <p role="status" className="small">{note}</p>}
    </form>
  );
}

function Conversation(props: {
  api: Api;
  live: LiveClient;
  identity: Identity;
  sessionId: string;
  onTransferred: () => void;
  onClose: () => void;
}) {
  const { api, live, identity, sessionId } = props;
  useLive(live);
  const view = live.followSession(sessionId);
  const [session] = useLoad(() => api.get("/chat/sessions/{id}", { path: { id: sessionId } }), [api, sessionId]);
  const current: Session | undefined = view.session ?? (session.state === "ready" ? session.data : undefined);
  const messages = view.messages;
  const lastOther = [...messages].reverse().find((m) => m.sender_id !== identity.sub);
  const lastOtherId = lastOther?.id;
  useEffect(() => {
    if (lastOtherId) live.send({ action: "mark_read", session_id: sessionId, message_id: lastOtherId });
  }, [live, sessionId, lastOtherId]);
  const attachments = useAttachmentStates(live);
  const typing = [...view.typing].filter((user) => user !== identity.sub);
  const heading = useRef<HTMLHeadingElement>(null);
  // Choosing a session moves the keyboard's focus to it.
  useEffect(() => heading.current?.focus(), []);
  return (
    <section className="conversation" aria-labelledby="conv-title">
      <h1 id="conv-title" ref={heading} tabIndex={-1}>
        {current ? `${current.customer_name ?? current.customer_id}: ${current.subject}` : "Conversation"}
      </h1>
      {current && (
        <p className="muted small">
          Status: {current.status}
          {view.presence.has(current.customer_id) && ` · customer ${view.presence.get(current.customer_id)}`}
          {current.status !== "closed" && (
            <>
              {" · "}
              <button type="button" className="link" onClick={props.onClose}>
                Close conversation
              </button>
            </>
          )}
        </p>
      )}
      <ol className="messages" aria-live="polite" aria-label="Messages" data-testid="messages">
        {messages.length === 0 && <li className="muted">No messages yet.</li>}
        {messages.map((message) => (
          <MessageItem key={message.id} message={message} mine={message.sender_id === identity.sub} read={view.readBy.get(message.id)} delivered={view.delivered.has(message.id)}>
            <MessageAttachments api={api} sessionId={sessionId} message={message} states={attachments} />
          </MessageItem>
        ))}
      </ol>
      <p className="typing" aria-live="polite">
        {typing.length > 0 ? `${typing.join(", ")} is typing…` : " "}
      </p>
      {live.lastError && <p className="error" role="alert">{live.lastError}</p>}
      <Composer api={api} live={live} sessionId={sessionId} attachments={attachments} />
      <div className="side">
        {current && <CustomerPanel api={api} session={current} />}
        <Notes api={api} identity={identity} sessionId={sessionId} />
        <h2>Transfer</h2>
        <TransferForm api={api} live={live} sessionId={sessionId} currentAgentId={current?.agent_id} onDone={props.onTransferred} />
      </div>
    </section>
  );
}

function MessageItem({ message, mine, read, delivered, children }: { message: Message; mine: boolean; read?: Set<string>; delivered: boolean; children?: React.ReactNode }) {
  const receipt = mine ? (read && read.size > 0 ? "Read" : delivered ? "Delivered" : "Sent") : undefined;
  return (
    <li className={mine ? "mine" : "theirs"} data-message={message.id}>
      <span className="meta">
        {message.sender_role} · {time(message.created_at)}
        {message.channel === "email" && " · by e-mail"}
      </span>
      <p>{message.deleted ? <em>Message deleted</em> : message.body}</p>
      {!message.deleted && children}
      {receipt && <span className="receipt small">{receipt}</span>}
    </li>
  );
}

function Composer({ api, live, sessionId, attachments }: { api: Api; live: LiveClient; sessionId: string; attachments: Map<string, Attachment> }) {
  const [text, setText] = useState("");
  const uploads = useUploads(api, sessionId);
  const [dropping, setDropping] = useState(false);
  const [note, setNote] = useState<string>();
  const suggestions = useCannedSuggestions(api, sessionId, text);
  const typingSince = useRef(0);
  const stopTimer = useRef<number | undefined>(undefined);
  const signalTyping = () => {
    const now = Date.now();
    if (now - typingSince.current > 2_000) {
      typingSince.current = now;
      live.send({ action: "typing", session_id: sessionId, state: "start" });
    }
    window.clearTimeout(stopTimer.current);
    stopTimer.current = window.setTimeout(() => {
      typingSince.current = 0;
      live.send({ action: "typing", session_id: sessionId, state: "stop" });
    }, 3_000);
  };
  useEffect(() => () => window.clearTimeout(stopTimer.current), []);
  const insert = async (canned: Canned) => {
    try {
      setText(await suggestions.render(canned));
      setNote(`Inserted “${canned.title}”.`);
    } catch (caught) {
      setNote(`Canned response failed: ${errorText(caught)}`);
    }
  };
  const send = async () => {
    const body = text.trim();
    if (uploads.busy) {
      setNote("Wait for the files to finish uploading.");
      return;
    }
    const files = uploads.ready;
    if (!body && files.length === 0) return;
    const clientMessageId = `web-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
    setText("");
    setNote(undefined);
    // The message ends the typing indicator on the others' side (they hide it on its
    // message.created): no `stop` frame is sent for it.
    window.clearTimeout(stopTimer.current);
    typingSince.current = 0;
    try {
      // Over the socket while it is open (a billed message in and its reply), else REST.
      const sent = await live.post({ session_id: sessionId, body, client_message_id: clientMessageId, attachments: files });
      uploads.clear();
      live.merge(sessionId, [sent]);
    } catch (caught) {
      setText(body);
      setNote(`Not sent: ${errorText(caught)}`);
    }
  };
  const onKeyDown = async (event: React.KeyboardEvent<HTMLTextAreaElement>) => {
    if (suggestions.open) {
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        suggestions.move(event.key === "ArrowDown" ? 1 : -1);
        return;
      }
      if (event.key === "Escape") {
        event.preventDefault();
        suggestions.close();
        return;
      }
      if ((event.key === "Enter" || event.key === "Tab") && suggestions.current) {
        event.preventDefault();
        await insert(suggestions.current);
        return;
      }
    }
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      await send();
    } else if (event.key === "Escape") {
      // Leaves the box for the conversation, where the console's keys work.
      event.preventDefault();
      document.getElementById("conv-title")?.focus();
    }
  };
  const listId = `canned-${sessionId}`;
  return (
    <form
      className={dropping ? "composer dropping" : "composer"}
      onSubmit={(event) => {
        event.preventDefault();
        void send();
      }}
      onPaste={(event) => {
        const pasted = filesOf(event.clipboardData);
        if (pasted.length > 0) {
          event.preventDefault();
          uploads.add(pasted);
        }
      }}
      onDragOver={(event) => {
        event.preventDefault();
        setDropping(true);
      }}
      onDragLeave={() => setDropping(false)}
      onDrop={(event) => {
        event.preventDefault();
        setDropping(false);
        uploads.add(filesOf(event.dataTransfer));
      }}
    >
      <label htmlFor="reply">Reply (type / for canned responses; Enter sends, Shift+Enter breaks the line)</label>
      <div className="reply-box">
        <textarea
          id="reply"
          value={text}
          rows={3}
          maxLength={4000}
          aria-controls={suggestions.open ? listId : undefined}
          aria-activedescendant={suggestions.current ? `${listId}-${suggestions.current.id}` : undefined}
          onChange={(e) => {
            setText(e.target.value);
            signalTyping();
          }}
          onKeyDown={onKeyDown}
        />
        <CannedList id={listId} suggestions={suggestions} onPick={(canned) => void insert(canned)} />
      </div>
      <UploadTray files={uploads.files} states={attachments} onRemove={uploads.remove} />
      <label className="small">
        Attach files (or paste a screenshot, or drop files here){" "}
        <input type="file" multiple onChange={(e) => e.target.files && uploads.add(Array.from(e.target.files))} />
      </label>
      <button type="submit">Send</button>
      {suggestions.noMatch && <p className="small muted">No canned response matches “{text.trim()}”.</p>}
      {suggestions.loadError && <p className="small error">Canned responses could not be loaded: {suggestions.loadError}</p>}
      {note && <p role="status" className="small">{note}</p>}
    </form>
  );
}

function Notes({ api, identity, sessionId }: { api: Api; identity: Identity; sessionId: string }) {
  const [existing] = useLoad(() => api.get("/chat/sessions/{id}/notes", { path: { id: sessionId } }), [api, sessionId]);
  const [body, setBody] = useState("");
  const [noteId, setNoteId] = useState<string>();
  const [state, setState] = useState("");
  const saved = useRef("");
  useEffect(() => {
    if (existing.state !== "ready") return;
    const mine = existing.data.items.filter((note) => note.author_id === identity.sub).at(-1);
    if (mine) {
      setNoteId(mine.id);
      setBody(mine.body);
      saved.current = mine.body;
    }
  }, [existing, identity.sub]);
  useEffect(() => {
    if (body === saved.current || body.trim() === "") return;
    const timer = window.setTimeout(async () => {
      setState("Saving…");
      try {
        const note = noteId
          ? await api.patch("/chat/sessions/{id}/notes/{note_id}", { path: { id: sessionId, note_id: noteId }, body: { body } })
          : await api.post("/chat/sessions/{id}/notes", { path: { id: sessionId }, body: { body } });
        setNoteId(note.id);
        saved.current = note.body;
        setState(`Saved at ${time(note.edited_at ?? note.created_at)}`);
      } catch (caught) {
        setState(`Not saved: ${errorText(caught)}`);
      }
    }, 800);
    return () => window.clearTimeout(timer);
  }, [api, body, noteId, sessionId]);
  return (
    <div className="notes">
      <label htmlFor="notes">
        <h2>Private notes</h2>
        <span className="small muted">Markdown; only agents and admins see them. Saves itself.</span>
      </label>
      {existing.state === "error" && <p className="error" role="alert">{existing.message}</p>}
      <textarea id="notes" value={body} rows={6} maxLength={10000} onChange={(e) => setBody(e.target.value)} />
      <p role="status" className="small" data-testid="notes-state">{state}</p>
      {body.trim() && (
        <section className="note-preview" aria-labelledby="notes-preview-title" data-testid="notes-preview">
          <h3 id="notes-preview-title" className="small muted">Preview</h3>
          <Markdown source={body} />
        </section>
      )}
    </div>
  );
}
