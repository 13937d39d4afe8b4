import { describe, expect, it } from "vitest";
import { Api, ApiError, buildUrl } from "./api.js";

describe("the API client", () => {
  it("fills path parameters and leaves out empty query values", () => {
    expect(buildUrl("/chat/messages/{session_id}", { session_id: "01 A" }, { after: undefined, limit: 200, cursor: "" })).toBe(
      "/api/v1/chat/messages/01%20A?limit=200",
    );
  });

  it("sends the bearer token and a JSON body, and turns error bodies into ApiError", async () => {
    const calls: { url: string; init: RequestInit }[] = [];
    const api = new Api("tok", async (url, init) => {
      calls.push({ url: String(url), init: init ?? {} });
      return new Response(JSON.stringify({ error: { code: "session_not_waiting", message: "taken" } }), { status: 409 });
    });
    const failure = await api
      .post("/admin/chat-dashboard/sessions/{id}/assign", { path: { id: "S1" }, body: { agent_id: "agent-bob" } })
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ApiError);
    expect(failure).toMatchObject({ status: 409, code: "session_not_waiting", message: "taken" });
    expect(calls[0].url).toBe("/api/v1/admin/chat-dashboard/sessions/S1/assign");
    expect(calls[0].init.method).toBe("POST");
    expect(calls[0].init.body).toBe('{"agent_id":"agent-bob"}');
    expect((calls[0].init.headers as Record<string, string>).authorization).toBe("Bearer tok");
  });

  it("calls another origin without a token for the public widget routes, and reads a renewed token", async () => {
    const calls: { url: string; headers: Record<string, string> }[] = [];
    const fake = async (url: RequestInfo | URL, init?: RequestInit) => {
      calls.push({ url: String(url), headers: (init?.headers ?? {}) as Record<string, string> });
      return new Response(JSON.stringify({ items: [], next_cursor: null }), { status: 200 });
    };
    await new Api(undefined, { baseUrl: "https://support.example.com/", fetch: fake }).get("/chat/rooms");
    let token = "old";
    const renewing = new Api(() => token, { fetch: fake });
    await renewing.get("/chat/rooms");
    token = "new";
    await renewing.get("/chat/rooms");
    expect(calls.map((c) => [c.url, c.headers.authorization])).toEqual([
      ["https://support.example.com/api/v1/chat/rooms", undefined],
      ["/api/v1/chat/rooms", "Bearer old"],
      ["/api/v1/chat/rooms", "Bearer new"],
    ]);
  });
});
