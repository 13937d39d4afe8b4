// @switchboard/client: the typed REST client, the WebSocket protocol's frames and the
// reconnecting live connection with its outbox, for browsers and any runtime with fetch and
// WebSocket.
export * from "./api.js";
export * from "./attachments.js";
export * from "./frames.js";
export * from "./live.js";
export * from "./messages.js";
