import { useEffect, useRef, useState } from "react";
import type { Api, Attachment, LiveClient, Message, Session } from "@switchboard/client";
import type { Identity } from "../auth";
import { time } from "../format";
import { errorText, useLive, useLoad } from "../hooks";
import { LoadState, TransferForm } from "./Admin";
import { MessageAttachments, UploadTray, filesOf, useAttachmentStates, useUploads } from "./Attachments";

type Props = { api: Api; live: LiveClient; identity: Identity };

export function AgentConsole({ api, live, identity }: Props) {
  useLive(live);
  const [selected, setSelected] = useState<string>();
  const [sessions, reload] = useLoad(
    () => api.get("/chat/sessions", { query: { status: "active", limit: 50 } }),
    [api, live.sessionEvents],
  );
  return (
    <div className="console">
      <aside aria-labelledby="mine-title">
        <StatusForm api={api} />
        <AgentQueue api={api} live={live} onTaken={(id) => { setSelected(id); reload(); }} />
        <h2 id="mine-title">My sessions</h2>
        <LoadState load={sessions} empty={(page) => page.items.length === 0}>
          {(page) => (
            <ul className="session-list" data-testid="my-sessions">
              {page.items.map((session) => (
                <li key={session.id}>
                  <button
                    type="button"
                    aria-current={selected === session.id ? "true" : undefined}
                    onClick={() => setSelected(session.id)}
                  >
                    <strong>{session.customer_name ?? session.customer_id}</strong>
                    <span>{session.subject}</span>
                  </button>
                </li>
              ))}
            </ul>
          )}
        </LoadState>
      </aside>
      {selected ? (
        <Conversation key={selected} api={api} live={live} identity={identity} sessionId={selected} onTransferred={() => { setSelected(undefined); reload(); }} />
      ) : (
        <p className="muted">Choose a session to answer.</p>
      )}
    </div>
  );
}

/** The waiting queue, from which an agent takes a session themselves. */
function AgentQueue({ api, live, onTaken }: { api: Api; live: LiveClient; onTaken: (id: string) => void }) {
  const [queue, reload] = useLoad(
    () => api.get("/chat/sessions", { query: { status: "waiting", limit: 20 } }),
    [api, live.sessionEvents],
  );
  const [error, setError] = useState<string>();
  const take = async (id: string) => {
    setError(undefined);
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
  useEffect(() => {
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

function Conversation(props: { api: Api; live: LiveClient; identity: Identity; sessionId: string; onTransferred: () => void }) {
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
        <Notes api={api} identity={identity} sessionId={sessionId} />
        <h2>Transfer</h2>
        <TransferForm api={api} sessionId={sessionId} onDone={props.onTransferred} />
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
      </span>
      <p>{message.deleted ? <em>Message deleted</em> : message.body}</p>
      {!message.deleted && children}
      {receipt && <span className="receipt small">{receipt}</span>}
    </li>
  );
}

/** `/code` at the start of the box, alone: a canned response's shortcode. */
const SHORTCODE = /^\/([A-Za-z0-9_-]+)$/;

function Composer({ api, live, sessionId, attachments }: { api: Api; live: LiveClient; sessionId: string; attachments: Map<string, Attachment> }) {
  const [text, setText] = useState("");
  const uploads = useUploads(api, sessionId);
  const [dropping, setDropping] = useState(false);
  const [note, setNote] = useState<string>();
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
  const expand = async (): Promise<boolean> => {
    const match = SHORTCODE.exec(text.trim());
    if (!match) return false;
    try {
      const found = await api.get("/agent/canned-responses", { query: { shortcode: match[1] } });
      const canned = found.items[0];
      if (!canned) {
        setNote(`No canned response /${match[1]}.`);
        return true;
      }
      const rendered = await api.post("/agent/canned-responses/{id}/render", { path: { id: canned.id }, body: { session_id: sessionId } });
      setText(rendered.body);
      setNote(`Inserted “${canned.title}”.`);
    } catch (caught) {
      setNote(`Canned response failed: ${errorText(caught)}`);
    }
    return true;
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
    live.send({ action: "typing", session_id: sessionId, state: "stop" });
    try {
      const sent = await api.post("/chat/messages", {
        body: { session_id: sessionId, body: body || undefined, client_message_id: clientMessageId, attachments: files },
      });
      uploads.clear();
      live.merge(sessionId, [sent]);
    } catch (caught) {
      setText(body);
      setNote(`Not sent: ${errorText(caught)}`);
    }
  };
  const onKeyDown = async (event: React.KeyboardEvent<HTMLTextAreaElement>) => {
    if ((event.key === "Tab" || event.key === "Enter") && SHORTCODE.test(text.trim())) {
      event.preventDefault();
      await expand();
      return;
    }
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      await send();
    }
  };
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
      <label htmlFor="reply">Reply (type /shortcode then Tab for a canned response; Enter sends)</label>
      <textarea
        id="reply"
        value={text}
        rows={3}
        maxLength={4000}
        onChange={(e) => {
          setText(e.target.value);
          signalTyping();
        }}
        onKeyDown={onKeyDown}
      />
      <UploadTray files={uploads.files} states={attachments} onRemove={uploads.remove} />
      <label className="small">
        Attach files (or paste a screenshot, or drop files here){" "}
        <input type="file" multiple onChange={(e) => e.target.files && uploads.add(Array.from(e.target.files))} />
      </label>
      <button type="submit">Send</button>
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
    </div>
  );
}
