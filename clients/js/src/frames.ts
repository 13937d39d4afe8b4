// The frames of the WebSocket protocol (docs/websocket.md), with the REST records they carry.
import type { AgentState, Message, Overview, Schemas, Session } from "./api.js";

/** The live floor figures of a `dashboard.metrics` frame. */
export type DashboardMetrics = Overview;

/** A frame the server sends (`type`). */
export type ServerFrame =
  | { type: "subscribed"; ref?: string; session: Session }
  | { type: "message.created"; ref?: string; message: Message; delivered_to?: string[] }
  | { type: "message.updated" | "message.deleted"; ref?: string; message: Message }
  | { type: "typing"; session_id: string; user_id: string; state: "start" | "stop"; read_message_id?: string }
  | {
      type: "receipt";
      session_id: string;
      message_id: string;
      status: "delivered" | "read";
      user_ids: string[];
    }
  | { type: "session.updated"; session: Session }
  | { type: "queue.updated"; session_id: string; queue_position: number; estimated_wait_seconds: number | null }
  | { type: "presence"; session_id?: string; user_id: string; status: string; agent?: AgentState }
  | { type: "dashboard.metrics"; ref?: string; metrics: DashboardMetrics }
  | { type: "pong"; ref?: string }
  | { type: "ack"; ref?: string }
  | { type: "error"; ref?: string; action?: string; code: string; message: string }
  | { type: "attachment.updated"; attachment: Schemas["Attachment"] };

/** A frame a client sends (`action`). */
export type ClientFrame =
  | { action: "subscribe"; session_id: string; ref?: string }
  | { action: "subscribe_dashboard"; ref?: string }
  | { action: "send_message"; session_id: string; body?: string; client_message_id?: string; attachments?: string[]; ref?: string }
  | { action: "typing"; session_id: string; state: "start" | "stop"; read_message_id?: string; ref?: string }
  | { action: "mark_read"; session_id: string; message_id: string; ref?: string }
  | { action: "ping"; ref?: string };

const KNOWN = new Set([
  "subscribed",
  "message.created",
  "message.updated",
  "message.deleted",
  "typing",
  "receipt",
  "session.updated",
  "queue.updated",
  "presence",
  "dashboard.metrics",
  "pong",
  "ack",
  "error",
  "attachment.updated",
]);

/** A frame of the protocol, or undefined (unknown types and non-protocol messages are ignored). */
export function parseFrame(text: string): ServerFrame | undefined {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== "object" || value === null) return undefined;
    const type = (value as { type?: unknown }).type;
    return typeof type === "string" && KNOWN.has(type) ? (value as ServerFrame) : undefined;
  } catch {
    return undefined;
  }
}

const ORDER = { waiting: 0, active: 1, closed: 2 } as const;

/** Sessions only move forward: of two versions, the one further along (then the newer). */
export function laterSession(held: Session | undefined, incoming: Session): Session {
  if (!held) return incoming;
  const a = ORDER[held.status];
  const b = ORDER[incoming.status];
  if (b !== a) return b > a ? incoming : held;
  return (incoming.assigned_at ?? "") >= (held.assigned_at ?? "") ? incoming : held;
}
