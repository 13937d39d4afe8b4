// The agent's own conversations, what needs an answer first: each with its unread count, last
// message and how long the customer has waited for a reply — from the active-sessions list, then
// kept current by the live connection (every listed session is followed).
import type { ActiveSession, LiveClient, Message } from "@switchboard/client";
import { duration } from "../format";
import { useNow } from "../hooks";

type Last = NonNullable<ActiveSession["last_message"]>;

/** One line of the list: the session and its figures now. */
export interface SessionRow {
  session: ActiveSession;
  unread: number;
  last: Last | null | undefined;
  waitingSince: string | null | undefined;
}

function lastOf(message: Message): Last {
  return {
    id: message.id,
    sender_role: message.sender_role,
    preview: message.deleted || message.body == null ? null : message.body.slice(0, 140),
    created_at: message.created_at,
  };
}

/** The session's figures: the server's, plus what arrived live after its last message. */
export function rowOf(session: ActiveSession, live: LiveClient, selected: boolean): SessionRow {
  const known = session.last_message?.id;
  const newer = (live.view(session.id)?.messages ?? []).filter((m) => !known || m.id > known);
  const fromCustomer = (m: Message) => m.sender_role === "customer";
  const unread = selected ? 0 : session.unread_count + newer.filter((m) => fromCustomer(m) && !m.deleted).length;
  const latest = newer.at(-1);
  if (!latest) return { session, unread, last: session.last_message, waitingSince: session.waiting_since };
  if (!fromCustomer(latest)) return { session, unread, last: lastOf(latest), waitingSince: null };
  // The customer wrote last: they wait since the first message of their unanswered run.
  let start = newer.length - 1;
  while (start > 0 && fromCustomer(newer[start - 1])) start -= 1;
  const waitingSince = start > 0 ? newer[start].created_at : (session.waiting_since ?? newer[0].created_at);
  return { session, unread, last: lastOf(latest), waitingSince };
}

/** Needs an answer first (longest wait first), then the most recently active. */
export function byUrgency(a: SessionRow, b: SessionRow): number {
  if (!!a.waitingSince !== !!b.waitingSince) return a.waitingSince ? -1 : 1;
  if (a.waitingSince && b.waitingSince) return Date.parse(a.waitingSince) - Date.parse(b.waitingSince);
  const at = (row: SessionRow) => Date.parse(row.last?.created_at ?? row.session.assigned_at ?? row.session.created_at);
  return at(b) - at(a);
}

export function SessionList(props: { rows: SessionRow[]; selected?: string; fresh: Set<string>; onSelect: (id: string) => void }) {
  const now = useNow();
  return (
    <ul className="session-list" data-testid="my-sessions">
      {props.rows.map(({ session, unread, last, waitingSince }) => {
        const who = session.customer_name ?? session.customer_id;
        const sender = last?.sender_role === "agent" ? "Agent: " : last?.sender_role === "admin" ? "Admin: " : "";
        const preview = last ? `${sender}${last.preview ?? "(deleted)"}` : "No messages yet";
        return (
          <li key={session.id}>
            <button
              type="button"
              data-session={session.id}
              aria-current={props.selected === session.id ? "true" : undefined}
              onClick={() => props.onSelect(session.id)}
            >
              <span className="row-head">
                <strong>{who}</strong>
                {props.fresh.has(session.id) && <span className="tag">New</span>}
                {unread > 0 && (
                  <span className="badge" data-testid="unread">
                    {unread}
                    <span className="sr-only"> unread</span>
                  </span>
                )}
              </span>
              <span>{session.subject}</span>
              <span className="small muted last">{preview}</span>
              {waitingSince && (
                <span className="small waiting">Waiting for a reply {duration(Math.max(0, (now - Date.parse(waitingSince)) / 1000))}</span>
              )}
            </button>
          </li>
        );
      })}
    </ul>
  );
}
