// Bulk notifications: an admin sends one announcement to many users and watches the job's
// progress while the worker sends it in the background.
import { useEffect, useState } from "react";
import type { Api, BulkJob } from "@switchboard/client";
import { errorText } from "../hooks";

/** How often a running job's progress is read again. */
const POLL_MS = 1000;

/** The user ids of a text area: one per line or separated by commas or spaces, each once. */
export function recipientsOf(text: string): string[] {
  return [...new Set(text.split(/[\s,]+/).filter((id) => id.length > 0))];
}

export function BulkSend({ api }: { api: Api }) {
  const [recipients, setRecipients] = useState("");
  const [title, setTitle] = useState("");
  const [body, setBody] = useState("");
  const [job, setJob] = useState<BulkJob | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [sending, setSending] = useState(false);

  useEffect(() => {
    if (!job || job.done) return;
    const timer = setTimeout(() => {
      api.get("/notifications/jobs/{id}", { path: { id: job.job_id } }).then(setJob, (e: unknown) => setError(errorText(e)));
    }, POLL_MS);
    return () => clearTimeout(timer);
  }, [api, job]);

  async function send(event: React.FormEvent) {
    event.preventDefault();
    setSending(true);
    setError(null);
    try {
      // One key per form submission: a retry of this request answers the same job.
      const key = crypto.randomUUID();
      const started = await api.post("/notifications/bulk-send", {
        body: { user_ids: recipientsOf(recipients), category: "announcement", title, body },
        headers: { "idempotency-key": key },
      });
      setJob(started);
    } catch (e) {
      setError(errorText(e));
    } finally {
      setSending(false);
    }
  }

  const handled = job ? job.sent + job.failed + job.skipped : 0;
  return (
    <section aria-labelledby="bulk-title">
      <h1 id="bulk-title">Announcements</h1>
      <form className="bulk" onSubmit={send} aria-label="Send an announcement" aria-busy={sending}>
        <label>
          Recipients (user ids, one per line)
          <textarea value={recipients} onChange={(e) => setRecipients(e.target.value)} rows={4} required />
        </label>
        <label>
          Title
          <input value={title} onChange={(e) => setTitle(e.target.value)} maxLength={100} required />
        </label>
        <label>
          Message
          <textarea value={body} onChange={(e) => setBody(e.target.value)} maxLength={240} rows={3} required />
        </label>
        <button type="submit" disabled={sending}>
          Send
        </button>
      </form>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {job && (
        <div data-testid="bulk-job" data-done={job.done ? "yes" : "no"}>
          <label htmlFor="bulk-progress">
            {job.done ? "Done" : "Sending"}: {handled} of {job.total} recipients handled
          </label>
          <progress id="bulk-progress" max={job.total} value={handled} />
          <p className="muted small" role="status">
            {job.sent} sent · {job.failed} failed · {job.skipped} skipped
          </p>
        </div>
      )}
    </section>
  );
}
