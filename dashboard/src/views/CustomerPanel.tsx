// The customer beside the conversation: who they are, this session's priority (staff change
// it), room and age, the e-mails they were sent about replies they had not read (and whether
// their address still takes e-mail), their earlier conversations (each opens its transcript
// here) and ratings, and blocking them.
import { useState } from "react";
import type { Api, Schemas, Session } from "@switchboard/client";
import { duration, EMAIL_STATUS, time } from "../format";
import { errorText, useLoad, useNow } from "../hooks";
import { useRoomNames } from "./AgentPicker";
import { Transcript } from "./Transcript";

const PRIORITIES = ["low", "normal", "high", "urgent"] as const;
type BlockStatus = Schemas["BlockStatus"];

/** The panel; the session's own changes (priority) come back through the live connection. */
export function CustomerPanel({ api, session }: { api: Api; session: Session }) {
  const now = useNow(10_000);
  const roomNames = useRoomNames(api);
  const [history] = useLoad(
    () => api.get("/chat/sessions", { query: { customer_of: session.id, limit: 50 } }),
    [api, session.id],
  );
  const [blockLoad] = useLoad(
    () => api.get("/chat/users/blocked", { query: { user_id: session.customer_id } }),
    [api, session.customer_id],
  );
  // Statuses move as the mail service reports; a new message is when one may have been sent.
  const [emails] = useLoad(
    () => api.get("/chat/sessions/{id}/emails", { path: { id: session.id }, query: { limit: 20 } }),
    [api, session.id, session.last_message_at],
  );
  const [blockNow, setBlockNow] = useState<BlockStatus>();
  const blocked = blockNow ?? (blockLoad.state === "ready" ? blockLoad.data.items[0] : undefined);
  const [opened, setOpened] = useState<string>();
  const [state, setState] = useState<string>();
  const [reason, setReason] = useState("");
  const setPriority = async (priority: (typeof PRIORITIES)[number]) => {
    try {
      await api.patch("/chat/sessions/{id}", { path: { id: session.id }, body: { priority } });
      setState(`Priority set to ${priority}.`);
    } catch (caught) {
      setState(`Priority not changed: ${errorText(caught)}`);
    }
  };
  const block = async (blocked: boolean) => {
    try {
      const path = { id: session.customer_id };
      const status = blocked
        ? await api.post("/chat/users/{id}/block", { path, body: { reason: reason.trim() || null } })
        : await api.post("/chat/users/{id}/unblock", { path });
      setBlockNow(status);
      setState(status.blocked ? `Blocked${status.reason ? `: ${status.reason}` : ""}.` : "Not blocked.");
    } catch (caught) {
      setState(`Not changed: ${errorText(caught)}`);
    }
  };
  const earlier = history.state === "ready" ? history.data.items.filter((s) => s.id !== session.id) : [];
  const rated = earlier.filter((s) => s.rating);
  const average = rated.length ? rated.reduce((sum, s) => sum + (s.rating?.score ?? 0), 0) / rated.length : undefined;
  return (
    <section className="customer" aria-labelledby="customer-title" data-testid="customer-panel">
      <h2 id="customer-title">Customer</h2>
      <dl className="facts">
        <dt>Name</dt>
        <dd>{session.customer_name ?? "—"}</dd>
        <dt>Id</dt>
        <dd><code>{session.customer_id}</code></dd>
        <dt>Room</dt>
        <dd>{session.room_id ? (roomNames.get(session.room_id) ?? session.room_id) : "None"}</dd>
        <dt>Opened</dt>
        <dd>{duration((now - Date.parse(session.created_at)) / 1000)} ago</dd>
        <dt>Ratings</dt>
        <dd data-testid="customer-ratings">{average === undefined ? "None yet" : `${average.toFixed(1)} / 5 from ${rated.length}`}</dd>
      </dl>
      {session.status !== "closed" && (
        <label>
          Priority
          <select value={session.priority} onChange={(e) => void setPriority(e.target.value as (typeof PRIORITIES)[number])}>
            {PRIORITIES.map((p) => (
              <option key={p} value={p}>
                {p}
              </option>
            ))}
          </select>
        </label>
      )}
      {emails.state === "ready" && (emails.data.address || emails.data.items.length > 0) && (
        <EmailsSent emails={emails.data} />
      )}
      <h3>Earlier conversations</h3>
      {history.state === "error" && <p className="error small" role="alert">{history.message}</p>}
      {history.state === "ready" && earlier.length === 0 && <p className="muted small">This is their first conversation.</p>}
      <ul className="history">
        {earlier.map((s) => (
          <li key={s.id} data-session={s.id}>
            <button type="button" className="link" aria-expanded={opened === s.id} onClick={() => setOpened(opened === s.id ? undefined : s.id)}>
              {s.subject}
            </button>
            <span className="small muted">
              {" "}
              {new Date(s.created_at).toLocaleDateString()} {time(s.created_at)} · {s.status}
              {s.rating && ` · rated ${s.rating.score}/5`}
            </span>
            {opened === s.id && <Transcript api={api} sessionId={s.id} embedded />}
          </li>
        ))}
      </ul>
      <h3>Block</h3>
      <p className="small" data-testid="block-status">
        {!blocked
          ? "…"
          : blocked.blocked
            ? `Blocked by ${blocked.blocked_by ?? "?"}${blocked.blocked_at ? ` on ${new Date(blocked.blocked_at).toLocaleDateString()}` : ""}${blocked.reason ? `: ${blocked.reason}` : ""}.`
            : "Not blocked."}
      </p>
      {blocked?.blocked ? (
        <button type="button" onClick={() => void block(false)}>
          Unblock
        </button>
      ) : (
        <>
          <label>
            Why block them (for the team)
            <input value={reason} onChange={(e) => setReason(e.target.value)} maxLength={500} />
          </label>
          <div className="buttons">
            <button type="button" onClick={() => void block(true)}>
              Block customer
            </button>
          </div>
        </>
      )}
      {state && <p role="status" className="small">{state}</p>}
    </section>
  );
}

type SessionEmails = Schemas["SessionEmails"];


/** The e-mails of replies the customer had not read, and whether their address takes more. */
export function EmailsSent({ emails }: { emails: SessionEmails }) {
  const stopped = emails.undeliverable;
  return (
    <>
      <h3>E-mails</h3>
      <p className="small" data-testid="email-address">
        {emails.address ?? "No address"}
        {stopped &&
          ` · no more e-mail: ${stopped.reason === "bounced" ? "it bounced" : "marked as spam"} on ${new Date(stopped.at).toLocaleDateString()}${stopped.detail ? ` (${stopped.detail})` : ""}`}
      </p>
      <ul className="history" data-testid="emails-sent">
        {emails.items.map((email) => (
          <li key={email.message_ids[email.message_ids.length - 1]}>
            <span className="small">
              {new Date(email.sent_at).toLocaleDateString()} {time(email.sent_at)} · {email.message_ids.length}{" "}
              {email.message_ids.length === 1 ? "reply" : "replies"} · {EMAIL_STATUS[email.status]}
              {email.detail && email.status !== "delivered" && <span className="muted"> ({email.detail})</span>}
            </span>
          </li>
        ))}
      </ul>
    </>
  );
}
