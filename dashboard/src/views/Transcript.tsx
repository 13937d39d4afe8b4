import type { Api } from "@switchboard/client";
import { EMAIL_STATUS, time } from "../format";
import { useLoad } from "../hooks";
import { LoadState } from "./Admin";

/** A session's transcript: a page of its own, or `embedded` in another view (smaller headings). */
export function Transcript({ api, sessionId, embedded }: { api: Api; sessionId: string; embedded?: boolean }) {
  const Title = embedded ? "h4" : "h1";
  const Section = embedded ? "h5" : "h2";
  const [load] = useLoad(
    () => api.get("/admin/chat-dashboard/sessions/{id}/transcript", { path: { id: sessionId }, query: { include_notes: true } }),
    [api, sessionId],
  );
  return (
    <section aria-labelledby={`transcript-title-${sessionId}`}>
      <Title id={`transcript-title-${sessionId}`}>Transcript</Title>
      <LoadState load={load}>
        {(transcript) => (
          <>
            <p>
              {transcript.session.customer_name ?? transcript.session.customer_id}: {transcript.session.subject} ({transcript.session.status})
            </p>
            <ol className="messages">
              {transcript.messages.map((message) => (
                <li key={message.id} className={message.sender_role === "customer" ? "theirs" : "mine"}>
                  <span className="meta">
                    {message.sender_id} · {time(message.created_at)}
                    {message.channel === "email" && " · by e-mail"}
                  </span>
                  <p>{message.deleted ? <em>Message deleted</em> : message.body}</p>
                </li>
              ))}
            </ol>
            {transcript.emails && transcript.emails.length > 0 && (
              <>
                <Section>E-mails to the customer</Section>
                <ul data-testid="transcript-emails">
                  {transcript.emails.map((email) => (
                    <li key={email.message_ids[email.message_ids.length - 1]} className="small">
                      {time(email.sent_at)} · {email.message_ids.length} {email.message_ids.length === 1 ? "reply" : "replies"} to {email.to} ·{" "}
                      {EMAIL_STATUS[email.status]}
                      {email.detail && email.status !== "delivered" && ` (${email.detail})`}
                    </li>
                  ))}
                </ul>
              </>
            )}
            {transcript.notes && transcript.notes.length > 0 && (
              <>
                <Section>Private notes</Section>
                <ul>
                  {transcript.notes.map((note) => (
                    <li key={note.id}>
                      <pre className="note">{note.body}</pre>
                    </li>
                  ))}
                </ul>
              </>
            )}
          </>
        )}
      </LoadState>
    </section>
  );
}
