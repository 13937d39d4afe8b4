// Choosing a colleague by name: a combobox over the agents on the floor (name, status, load and
// capacity, rooms), where those who cannot take a session now are listed with the reason and
// cannot be chosen. Keyboard: type to filter, ↑/↓ to move, Enter to choose, Escape to close.
import { useId, useMemo, useState } from "react";
import type { AgentState, Api } from "@switchboard/client";
import { useLoad } from "../hooks";

/** Why `agent` cannot take a session now (offline, full, already has it), or undefined. */
export function unavailableBecause(agent: AgentState, currentAgentId?: string | null): string | undefined {
  if (agent.agent_id === currentAgentId) return "has this session now";
  if (agent.status === "offline") return "offline";
  if (agent.active_sessions >= agent.capacity) return `full: ${agent.active_sessions} of ${agent.capacity} sessions`;
  return undefined;
}

/** How an agent is named in the list. */
export function agentName(agent: Pick<AgentState, "agent_id" | "name">): string {
  return agent.name ?? agent.agent_id;
}

type Props = {
  /** The visible label. */
  label: string;
  /** The agents to choose from. */
  agents: AgentState[];
  /** The chosen agent's id, or "" for none. */
  value: string;
  onChange: (agentId: string) => void;
  /** The session's agent now (a transfer cannot go to them). */
  currentAgentId?: string | null;
  /** Room names by id, to show the rooms an agent serves. */
  roomNames?: Map<string, string>;
  /** Whether the label is for screen readers only (in a table row that says it already). */
  labelHidden?: boolean;
};

/** The agents ordered for choosing: available first, then by load relative to capacity, then name. */
function ordered(agents: AgentState[], currentAgentId?: string | null): AgentState[] {
  return [...agents].sort((a, b) => {
    const blocked = Number(!!unavailableBecause(a, currentAgentId)) - Number(!!unavailableBecause(b, currentAgentId));
    if (blocked !== 0) return blocked;
    const load = a.active_sessions / a.capacity - b.active_sessions / b.capacity;
    return load !== 0 ? load : agentName(a).localeCompare(agentName(b));
  });
}

/** A searchable, keyboard-usable list of agents (ARIA combobox with a listbox popup). */
export function AgentPicker({ label, agents, value, onChange, currentAgentId, roomNames, labelHidden }: Props) {
  const id = useId();
  const listId = `${id}-list`;
  const chosen = agents.find((agent) => agent.agent_id === value);
  const [text, setText] = useState("");
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(-1);
  const [note, setNote] = useState<string>();
  const shown = useMemo(() => {
    const query = text.trim().toLowerCase();
    return ordered(agents, currentAgentId).filter(
      (agent) => !query || agentName(agent).toLowerCase().includes(query) || agent.agent_id.toLowerCase().includes(query),
    );
  }, [agents, currentAgentId, text]);
  const choose = (agent: AgentState) => {
    const why = unavailableBecause(agent, currentAgentId);
    if (why) {
      setNote(`${agentName(agent)} cannot take it: ${why}.`);
      return;
    }
    onChange(agent.agent_id);
    setText(agentName(agent));
    setNote(undefined);
    setOpen(false);
    setActive(-1);
  };
  const move = (step: number) => {
    if (shown.length === 0) return;
    setOpen(true);
    setActive((index) => (index + step + shown.length) % shown.length);
  };
  const onKeyDown = (event: React.KeyboardEvent<HTMLInputElement>) => {
    if (event.key === "ArrowDown") {
      event.preventDefault();
      move(1);
    } else if (event.key === "ArrowUp") {
      event.preventDefault();
      move(-1);
    } else if (event.key === "Enter" && open && shown[active]) {
      // Enter chooses from the open list; with the list closed it submits the form.
      event.preventDefault();
      choose(shown[active]);
    } else if (event.key === "Escape" && open) {
      event.preventDefault();
      setOpen(false);
      setActive(-1);
    }
  };
  const optionId = (agent: AgentState) => `${id}-opt-${agent.agent_id}`;
  return (
    <div className="picker">
      <label htmlFor={`${id}-input`} className={labelHidden ? "sr-only" : undefined}>
        {label}
      </label>
      <input
        id={`${id}-input`}
        role="combobox"
        aria-autocomplete="list"
        aria-expanded={open}
        aria-controls={listId}
        aria-activedescendant={open && shown[active] ? optionId(shown[active]) : undefined}
        aria-describedby={note ? `${id}-note` : undefined}
        autoComplete="off"
        placeholder="Search agents by name"
        value={chosen && text === "" ? agentName(chosen) : text}
        onChange={(event) => {
          setText(event.target.value);
          setOpen(true);
          setActive(-1);
          setNote(undefined);
          if (value) onChange("");
        }}
        onFocus={() => setOpen(true)}
        onBlur={() => setOpen(false)}
        onKeyDown={onKeyDown}
      />
      <ul id={listId} role="listbox" aria-label={`${label}: agents`} className="picker-list" hidden={!open}>
        {shown.length === 0 && (
          <li role="option" aria-disabled="true" aria-selected="false" className="muted">
            No agent matches “{text}”.
          </li>
        )}
        {shown.map((agent, index) => {
          const why = unavailableBecause(agent, currentAgentId);
          const rooms = !agent.rooms?.length ? "all rooms" : agent.rooms.map((room) => roomNames?.get(room) ?? room).join(", ");
          return (
            <li
              key={agent.agent_id}
              id={optionId(agent)}
              role="option"
              aria-selected={agent.agent_id === value}
              aria-disabled={why ? "true" : undefined}
              data-agent={agent.agent_id}
              className={`${index === active ? "active" : ""} ${why ? "unavailable" : ""}`}
              // Keep the input's focus while a pointer chooses.
              onMouseDown={(event) => event.preventDefault()}
              onClick={() => choose(agent)}
            >
              <strong>{agentName(agent)}</strong>{" "}
              <span className="small">
                {agent.status} · {agent.active_sessions} / {agent.capacity} · {rooms}
                {why && ` — ${why}`}
              </span>
            </li>
          );
        })}
      </ul>
      {note && (
        <span id={`${id}-note`} role="alert" className="error small">
          {note}
        </span>
      )}
    </div>
  );
}

/** Room names by id (for showing the rooms an agent serves); empty until loaded. */
export function useRoomNames(api: Api): Map<string, string> {
  const [rooms] = useLoad(() => api.get("/chat/rooms", { query: { limit: 200 } }), [api]);
  return useMemo(() => new Map(rooms.state === "ready" ? rooms.data.items.map((room) => [room.id, room.name]) : []), [rooms]);
}
