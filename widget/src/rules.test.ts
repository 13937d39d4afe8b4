import { describe, expect, it } from "vitest";
import type { Message } from "@switchboard/client";
import { fill, pickLocale, readConfig, textOn, validColour } from "./config";
import en from "./locales/en.json";
import es from "./locales/es.json";
import { isReopenable, readUpTo, unreadCount } from "./rules";

function message(id: string, sender: string, deleted = false): Message {
  return {
    id,
    session_id: "S",
    sender_id: sender,
    sender_role: sender === "me" ? "customer" : "agent",
    body: deleted ? null : "hi",
    client_message_id: null,
    created_at: "2026-12-06T10:00:00.000Z",
    edited_at: null,
    deleted,
  };
}

describe("the unread badge", () => {
  it("counts the support team's messages after the last one seen, not the customer's nor deleted ones", () => {
    const messages = [message("01A", "agent"), message("01B", "me"), message("01C", "agent"), message("01D", "agent", true)];
    expect(unreadCount(messages, undefined)).toBe(2);
    expect(unreadCount(messages, "01A")).toBe(1);
    expect(unreadCount(messages, "01C")).toBe(0);
  });
});

describe("read receipts", () => {
  it("say how far someone else has read; my own receipts do not count", () => {
    const readBy = new Map([
      ["01A", new Set(["agent-bob"])],
      ["01C", new Set(["me"])],
      ["01B", new Set(["agent-bob", "me"])],
    ]);
    expect(readUpTo(readBy, "me")).toBe("01B");
    expect(readUpTo(new Map(), "me")).toBeUndefined();
  });
});

describe("earlier conversations", () => {
  it("can be reopened for 7 days after they closed", () => {
    const now = Date.parse("2026-12-08T12:00:00Z");
    expect(isReopenable({ status: "closed", closed_at: "2026-12-02T12:00:01Z" }, now)).toBe(true);
    expect(isReopenable({ status: "closed", closed_at: "2026-12-01T12:00:00Z" }, now)).toBe(false);
    expect(isReopenable({ status: "active", closed_at: null }, now)).toBe(false);
  });
});

describe("the script tag", () => {
  it("needs data-site, takes the script's origin as the API by default and ignores bad values", () => {
    expect(readConfig({}, "https://cdn.example.com/widget/loader.js")).toBeUndefined();
    expect(readConfig({ site: "shop", colour: "red;}*{x", position: "top", locale: "fr" }, "https://api.example.com/widget/loader.js")).toEqual({
      site: "shop",
      api: "https://api.example.com",
      ws: undefined,
      colour: undefined,
      position: undefined,
      greeting: undefined,
      locale: undefined,
      base: "https://api.example.com/widget/loader.js",
    });
    expect(readConfig({ site: "s", api: "https://x.example", colour: "#AbC", position: "left", locale: "es" }, "https://c/l.js")).toMatchObject({
      api: "https://x.example",
      colour: "#AbC",
      position: "left",
      locale: "es",
    });
    expect(validColour("#12345g")).toBeUndefined();
  });

  it("speaks the tag's language, else the site's, else Spanish for a Spanish browser", () => {
    expect(pickLocale("es", "en", "en-GB")).toBe("es");
    expect(pickLocale(undefined, "es", "en-GB")).toBe("es");
    expect(pickLocale(undefined, undefined, "es-MX")).toBe("es");
    expect(pickLocale(undefined, undefined, "de-DE")).toBe("en");
  });

  it("writes black on light brand colours and white on dark ones", () => {
    expect(textOn("#1f5fbf")).toBe("#fff");
    expect(textOn("#ffe600")).toBe("#000");
    expect(textOn("#000")).toBe("#fff");
  });
});

describe("the locale files", () => {
  it("have the same keys and the same placeholders in English and Spanish", () => {
    expect(Object.keys(es).sort()).toEqual(Object.keys(en).sort());
    const holes = (s: string) => (s.match(/\{\w+\}/g) ?? []).sort();
    for (const key of Object.keys(en) as (keyof typeof en)[]) expect(holes(es[key]), key).toEqual(holes(en[key]));
    expect(fill(es.queue, { n: 3 })).toBe("Eres el número 3 en la cola.");
  });
});
