// The widget's pure rules, tested without a browser.
import type { Message, Session } from "@switchboard/client";

/** A closed conversation can be reopened for this long after it closed (the API's rule). */
export const REOPEN_WINDOW_MS = 7 * 24 * 3600 * 1000;

/** The support team's messages newer than the last one seen (ids sort by time). */
export function unreadCount(messages: Message[], seen: string | undefined): number {
  return messages.filter((m) => m.sender_role !== "customer" && !m.deleted && (!seen || m.id > seen)).length;
}

/**
 * The newest message someone other than `me` has read: a `read` receipt covers that message and
 * everything before it, so one id says how far the other side has read.
 */
export function readUpTo(readBy: Map<string, Set<string>>, me: string | undefined): string | undefined {
  let newest: string | undefined;
  for (const [id, readers] of readBy) {
    if ([...readers].some((user) => user !== me) && (!newest || id > newest)) newest = id;
  }
  return newest;
}

/** Whether the customer may still reopen `session`. */
export function isReopenable(session: Pick<Session, "status" | "closed_at">, now: number): boolean {
  return session.status === "closed" && !!session.closed_at && now - Date.parse(session.closed_at) < REOPEN_WINDOW_MS;
}
