// A session's messages, keyed by id and ordered by id (ULIDs sort by creation), merged by the
// rules of docs/websocket.md: a frame for a held id replaces it (an edit only when newer, a
// tombstone always), applying anything twice changes nothing.
import type { Message } from "./api.js";

/** How far back from the newest message a resync starts (ids are monotonic per process only). */
export const RESYNC_MARGIN_MS = 10_000;

/** One session's messages, merged by id. */
export class MessageStore {
  private readonly byId = new Map<string, Message>();

  /** How many messages are held. */
  get size(): number {
    return this.byId.size;
  }

  /** Merges one message; true when what is shown changed. */
  apply(message: Message): boolean {
    const held = this.byId.get(message.id);
    if (held) {
      if (held.deleted) return false;
      if (!message.deleted) {
        const heldEdit = held.edited_at ?? "";
        const newEdit = message.edited_at ?? "";
        if (newEdit <= heldEdit) return false;
      }
    }
    this.byId.set(message.id, message);
    return true;
  }

  /** Merges many messages; true when what is shown changed. */
  applyAll(messages: Iterable<Message>): boolean {
    let changed = false;
    for (const message of messages) changed = this.apply(message) || changed;
    return changed;
  }

  /** The messages, oldest first. */
  list(): Message[] {
    return [...this.byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** The newest message held. */
  newest(): Message | undefined {
    const all = this.list();
    return all[all.length - 1];
  }

  /**
   * Where a resync reads from: the newest held message at least RESYNC_MARGIN_MS older than the
   * newest one, or undefined (the whole recent window) when none is that old.
   */
  resyncAfter(): string | undefined {
    const all = this.list();
    const newest = all[all.length - 1];
    if (!newest) return undefined;
    const limit = Date.parse(newest.created_at) - RESYNC_MARGIN_MS;
    for (let i = all.length - 1; i >= 0; i--) {
      if (Date.parse(all[i].created_at) <= limit) return all[i].id;
    }
    return undefined;
  }
}
