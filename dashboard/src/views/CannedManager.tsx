// The canned responses page: the ones the caller may use, by scope, and a form to write or change
// them (agents: personal and their rooms'; admins: global too). The API decides what is allowed;
// the page offers only what the caller's role may do.
import { useState } from "react";
import type { Api } from "@switchboard/client";
import { errorText, useLoad } from "../hooks";
import { LoadState } from "./Admin";
import { useRoomNames } from "./AgentPicker";
import type { Canned } from "./CannedSuggestions";

type Scope = Canned["scope"];
type Draft = { id?: string; scope: Scope; room_id: string; shortcode: string; title: string; body: string };
const EMPTY: Draft = { scope: "personal", room_id: "", shortcode: "", title: "", body: "" };

export default function CannedManager({ api, admin }: { api: Api; admin: boolean }) {
  const [list, reload] = useLoad(() => api.get("/agent/canned-responses", { query: { limit: 200 } }), [api]);
  const roomNames = useRoomNames(api);
  const [draft, setDraft] = useState<Draft>(EMPTY);
  const [state, setState] = useState<string>();
  const scopes: Scope[] = admin ? ["personal", "room", "global"] : ["personal", "room"];
  const save = async (event: React.FormEvent) => {
    event.preventDefault();
    setState("Saving…");
    try {
      const body = { shortcode: draft.shortcode.trim(), title: draft.title.trim(), body: draft.body };
      if (draft.id) await api.put("/agent/canned-responses/{id}", { path: { id: draft.id }, body });
      else
        await api.post("/agent/canned-responses", {
          body: { ...body, scope: draft.scope, room_id: draft.scope === "room" ? draft.room_id : null },
        });
      setState(`Saved /${body.shortcode.toLowerCase()}.`);
      setDraft(EMPTY);
      reload();
    } catch (caught) {
      setState(`Not saved: ${errorText(caught)}`);
    }
  };
  const remove = async (canned: Canned) => {
    try {
      await api.delete("/agent/canned-responses/{id}", { path: { id: canned.id } });
      setState(`Deleted /${canned.shortcode}.`);
      reload();
    } catch (caught) {
      setState(`Not deleted: ${errorText(caught)}`);
    }
  };
  const field = (key: keyof Draft) => ({
    value: draft[key] ?? "",
    onChange: (event: React.ChangeEvent<HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement>) =>
      setDraft({ ...draft, [key]: event.target.value }),
  });
  return (
    <section aria-labelledby="canned-title">
      <h1 id="canned-title">Canned responses</h1>
      <p className="muted small">
        Type <kbd>/</kbd> in a reply to use them. Placeholders <code>{"{{customer.name}}"}</code>, <code>{"{{agent.name}}"}</code> and <code>{"{{session.subject}}"}</code> are filled for the session.
      </p>
      <form className="bulk" onSubmit={save} aria-labelledby="canned-form-title">
        <h2 id="canned-form-title">{draft.id ? `Change /${draft.shortcode}` : "New canned response"}</h2>
        {!draft.id && (
          <>
            <label>
              Scope
              <select {...field("scope")}>
                {scopes.map((scope) => (
                  <option key={scope} value={scope}>
                    {scope === "personal" ? "Personal (mine)" : scope === "room" ? "A room I serve" : "Global (everyone)"}
                  </option>
                ))}
              </select>
            </label>
            {draft.scope === "room" && (
              <label>
                Room
                <select {...field("room_id")} required>
                  <option value="">Choose a room</option>
                  {[...roomNames].map(([id, name]) => (
                    <option key={id} value={id}>
                      {name}
                    </option>
                  ))}
                </select>
              </label>
            )}
          </>
        )}
        <label>
          Shortcode
          <input {...field("shortcode")} required pattern="[A-Za-z0-9_\-]{1,32}" maxLength={32} />
        </label>
        <label>
          Title
          <input {...field("title")} required maxLength={100} />
        </label>
        <label>
          Text
          <textarea {...field("body")} required rows={4} maxLength={4000} />
        </label>
        <div className="buttons">
          <button type="submit">{draft.id ? "Save changes" : "Create"}</button>
          {draft.id && (
            <button type="button" onClick={() => setDraft(EMPTY)}>
              Cancel
            </button>
          )}
        </div>
        {state && <p role="status">{state}</p>}
      </form>
      <h2>Yours to use</h2>
      <LoadState load={list} empty={(page) => page.items.length === 0}>
        {(page) => (
          <table data-testid="canned-list">
            <caption className="sr-only">Canned responses you may use</caption>
            <thead>
              <tr>
                <th scope="col">Shortcode</th>
                <th scope="col">Title</th>
                <th scope="col">Scope</th>
                <th scope="col">Text</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {page.items.map((canned) => (
                <tr key={canned.id}>
                  <td data-label="Shortcode">/{canned.shortcode}</td>
                  <td data-label="Title">{canned.title}</td>
                  <td data-label="Scope">
                    {canned.scope}
                    {canned.room_id && ` (${roomNames.get(canned.room_id) ?? canned.room_id})`}
                  </td>
                  <td data-label="Text" className="small">{canned.body}</td>
                  <td data-label="Actions">
                    {(admin || canned.scope !== "global") && (
                      <>
                        <button type="button" className="link" aria-label={`Change /${canned.shortcode}`} onClick={() => setDraft({ ...canned, room_id: canned.room_id ?? "" })}>
                          Change
                        </button>
                        <button type="button" className="link" aria-label={`Delete /${canned.shortcode}`} onClick={() => void remove(canned)}>
                          Delete
                        </button>
                      </>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </LoadState>
    </section>
  );
}
