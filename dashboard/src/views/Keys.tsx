// The console's keyboard: j/k (or Alt+↓/↑) move between conversations, r focuses the reply,
// c closes the conversation, ? lists the keys. Single letters act only outside text fields.
import { useEffect, useRef } from "react";

/** The keys, as the overlay lists them. */
export const KEYS: [string, string][] = [
  ["j or Alt+↓", "Next conversation"],
  ["k or Alt+↑", "Previous conversation"],
  ["r", "Focus the reply box"],
  ["Enter (in the reply)", "Send; Shift+Enter breaks the line"],
  ["/ (in the reply)", "Canned responses; ↑/↓ and Enter insert one"],
  ["Escape (in the reply)", "Leave the reply box"],
  ["c", "Close the conversation"],
  ["?", "Show these keys"],
];

type Actions = { move: (step: number) => void; focusReply: () => void; close: () => void; help: () => void };

function inTextField(target: EventTarget | null): boolean {
  return (
    target instanceof HTMLInputElement ||
    target instanceof HTMLTextAreaElement ||
    target instanceof HTMLSelectElement ||
    (target instanceof HTMLElement && target.isContentEditable)
  );
}

/** Calls the console's actions from the keyboard while the page is open. */
export function useConsoleKeys(actions: Actions): void {
  const latest = useRef(actions);
  latest.current = actions;
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      const act = latest.current;
      if (event.altKey && !event.ctrlKey && !event.metaKey && (event.key === "ArrowDown" || event.key === "ArrowUp")) {
        event.preventDefault();
        act.move(event.key === "ArrowDown" ? 1 : -1);
        return;
      }
      if (event.ctrlKey || event.metaKey || event.altKey || inTextField(event.target)) return;
      if (document.querySelector("dialog[open]")) return;
      const action = { j: () => act.move(1), k: () => act.move(-1), r: act.focusReply, c: act.close, "?": act.help }[event.key];
      if (action) {
        event.preventDefault();
        action();
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);
}

/** The `?` overlay: a modal dialog listing the keys (Escape or the button closes it). */
export function KeysDialog({ dialog }: { dialog: React.RefObject<HTMLDialogElement | null> }) {
  return (
    <dialog ref={dialog} aria-labelledby="keys-title" className="keys">
      <h2 id="keys-title">Keyboard shortcuts</h2>
      <table>
        <caption className="sr-only">Keys and what they do</caption>
        <thead>
          <tr>
            <th scope="col">Key</th>
            <th scope="col">Does</th>
          </tr>
        </thead>
        <tbody>
          {KEYS.map(([key, does]) => (
            <tr key={key}>
              <td>
                <kbd>{key}</kbd>
              </td>
              <td>{does}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <form method="dialog">
        <button type="submit">Close</button>
      </form>
    </dialog>
  );
}
