import type { Api } from "@switchboard/client";
import { time } from "../format";
import { useLoad } from "../hooks";
import { LoadState } from "./Admin";

export function Transcript({ api, sessionId }: { api: Api; sessionId: string }) {
  const [load] = useLoad(
    () => api.get("/admin/chat-dashboard/sessions/{id}/transcript", { path: { id: sessionId }, query: { include_notes: true } }),
    [api, sessionId],
  );
  return (
    <section aria-labelledby="transcript-title">
      <h1 id="transcript-title">Transcript</h1>
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
                  </span>
                  <p>{message.deleted ? <em>Message deleted</em> : message.body}</p>
                </li>
              ))}
            </ol>
            {transcript.notes && transcript.notes.length > 0 && (
              <>
                <h2>Private notes</h2>
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
