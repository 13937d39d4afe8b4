// The reply box's canned-response suggestions: typing `/` opens a list filtered as you type
// (shortcode, title, a preview of the text rendered for this session); ↑/↓ move, Enter or Tab
// insert the rendered text, Escape closes.
import { useEffect, useMemo, useState } from "react";
import type { Api, Schemas } from "@switchboard/client";
import { useLoad } from "../hooks";

/** A canned response as the API lists it. */
export type Canned = Schemas["CannedResponse"];

/** `/code` at the start of the box, alone (`/` with nothing after it too): what is being looked up. */
const TYPED = /^\/([A-Za-z0-9_-]*)$/;

/** The responses `text` asks for: shortcode starting with, or title containing, what follows `/`. */
export function suggestionsFor(text: string, all: Canned[]): Canned[] | undefined {
  const match = TYPED.exec(text.trim());
  if (!match) return undefined;
  const typed = match[1].toLowerCase();
  const byCode = all.filter((c) => c.shortcode.startsWith(typed));
  const byTitle = all.filter((c) => !c.shortcode.startsWith(typed) && c.title.toLowerCase().includes(typed));
  return [...byCode, ...byTitle].slice(0, 8);
}

/** The state of the suggestions for the reply box holding `text`. */
export function useCannedSuggestions(api: Api, sessionId: string, text: string) {
  const [loaded] = useLoad(() => api.get("/agent/canned-responses", { query: { limit: 200 } }), [api]);
  const all = loaded.state === "ready" ? loaded.data.items : [];
  const shown = useMemo(() => suggestionsFor(text, all), [text, all]);
  const [active, setActive] = useState(0);
  const [dismissed, setDismissed] = useState<string>();
  const [rendered, setRendered] = useState(new Map<string, string>());
  useEffect(() => setActive(0), [text]);
  const open = !!shown && shown.length > 0 && dismissed !== text;
  const current = open ? shown[Math.min(active, shown.length - 1)] : undefined;
  const render = async (canned: Canned): Promise<string> => {
    const known = rendered.get(canned.id);
    if (known !== undefined) return known;
    const answer = await api.post("/agent/canned-responses/{id}/render", { path: { id: canned.id }, body: { session_id: sessionId } });
    setRendered((map) => new Map(map).set(canned.id, answer.body));
    return answer.body;
  };
  // The highlighted one's preview is the text it inserts, placeholders filled for this session.
  useEffect(() => {
    if (current && !rendered.has(current.id)) render(current).catch(() => undefined);
  }, [current?.id]);
  return {
    open,
    shown: open ? shown : [],
    current,
    rendered,
    /** Whether nothing matches what was typed after `/` (and the list of responses is loaded). */
    noMatch: !!shown && shown.length === 0 && loaded.state === "ready" && text.trim().length > 1,
    move: (step: number) => shown && setActive((index) => (index + step + shown.length) % shown.length),
    close: () => setDismissed(text),
    choose: setActive,
    render,
    loadError: loaded.state === "error" ? loaded.message : undefined,
  };
}

type Suggestions = ReturnType<typeof useCannedSuggestions>;

/** The list under the reply box (a listbox the box points at with aria-activedescendant). */
export function CannedList({ id, suggestions, onPick }: { id: string; suggestions: Suggestions; onPick: (canned: Canned) => void }) {
  if (!suggestions.open) return null;
  return (
    <ul id={id} role="listbox" aria-label="Canned responses" className="picker-list suggestions" data-testid="canned-suggestions">
      {suggestions.shown.map((canned) => {
        const preview = suggestions.rendered.get(canned.id) ?? canned.body;
        return (
          <li
            key={canned.id}
            id={`${id}-${canned.id}`}
            role="option"
            aria-selected={canned.id === suggestions.current?.id}
            className={canned.id === suggestions.current?.id ? "active" : undefined}
            onMouseDown={(event) => event.preventDefault()}
            onClick={() => onPick(canned)}
          >
            <strong>/{canned.shortcode}</strong> {canned.title} <span className="muted small">({canned.scope})</span>
            <span className="preview small">{preview.length > 140 ? `${preview.slice(0, 140)}…` : preview}</span>
          </li>
        );
      })}
    </ul>
  );
}
