// The typed API client: every path, parameter, body and answer comes from the types
// `openapi-typescript` generates from docs/openapi.json at build time, so a renamed field or
// path fails `tsc`, not the page.
import type { components, paths } from "./schema";

export type Schemas = components["schemas"];
export type Session = Schemas["Session"];
export type Message = Schemas["ListPage_Message"]["items"][number];
export type WaitingSession = Schemas["ListPage_WaitingSession"]["items"][number];
export type ActiveSession = Schemas["ListPage_ActiveSession"]["items"][number];
export type Overview = Schemas["Overview"];
export type AgentState = Schemas["AgentState"];
export type BulkJob = Schemas["BulkJob"];

type Method = "get" | "post" | "put" | "patch" | "delete";
type Operation<P extends keyof paths, M extends Method> = NonNullable<paths[P][M]>;
type JsonOf<R> = R extends { content: { "application/json": infer T } } ? T : undefined;
type Success<O> = O extends { responses: infer R }
  ? 200 extends keyof R
    ? JsonOf<R[200]>
    : 201 extends keyof R
      ? JsonOf<R[201]>
      : 202 extends keyof R
        ? JsonOf<R[202]>
        : undefined
  : never;
type BodyOf<O> = O extends { requestBody?: { content: { "application/json": infer B } } } ? B : never;
type QueryOf<O> = O extends { parameters: { query?: infer Q } } ? Q : never;
type PathParamsOf<O> = O extends { parameters: { path: infer P } } ? P : never;

export type Options<O> = {
  path?: PathParamsOf<O>;
  query?: QueryOf<O>;
  body?: BodyOf<O>;
  /** Extra request headers (`Idempotency-Key`). */
  headers?: Record<string, string>;
};

/** An answer of the API that is not a success: its status and `{"error":{code,message}}`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export const API_BASE = "/api/v1";

export function buildUrl(template: string, path?: object, query?: object): string {
  const filled = template.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = (path as Record<string, unknown> | undefined)?.[name];
    if (value === undefined) throw new Error(`missing path parameter ${name}`);
    return encodeURIComponent(String(value));
  });
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value !== undefined && value !== null && value !== "") search.set(key, String(value));
  }
  const qs = search.toString();
  return `${API_BASE}${filled}${qs ? `?${qs}` : ""}`;
}

async function errorOf(response: Response): Promise<ApiError> {
  try {
    const body = (await response.json()) as Schemas["ErrorBody"];
    return new ApiError(response.status, body.error.code, body.error.message);
  } catch {
    return new ApiError(response.status, "http_error", `HTTP ${response.status}`);
  }
}

export type Fetch = typeof fetch;

/** A client for one bearer token. */
export class Api {
  constructor(
    private readonly token: string,
    private readonly fetcher: Fetch = (...args) => fetch(...args),
  ) {}

  private headers(json: boolean): HeadersInit {
    return json
      ? { authorization: `Bearer ${this.token}`, "content-type": "application/json" }
      : { authorization: `Bearer ${this.token}` };
  }

  async call<P extends keyof paths, M extends Method>(
    method: M,
    path: P,
    options: Options<Operation<P, M>> = {},
  ): Promise<Success<Operation<P, M>>> {
    const url = buildUrl(path, options.path, options.query as object | undefined);
    const hasBody = options.body !== undefined;
    const response = await this.fetcher(url, {
      method: method.toUpperCase(),
      headers: { ...this.headers(hasBody), ...options.headers },
      body: hasBody ? JSON.stringify(options.body) : undefined,
    });
    if (!response.ok) throw await errorOf(response);
    if (response.status === 204) return undefined as Success<Operation<P, M>>;
    return (await response.json()) as Success<Operation<P, M>>;
  }

  get<P extends keyof paths>(path: P, options?: Options<Operation<P, "get">>) {
    return this.call("get", path, options);
  }

  post<P extends keyof paths>(path: P, options?: Options<Operation<P, "post">>) {
    return this.call("post", path, options);
  }

  put<P extends keyof paths>(path: P, options?: Options<Operation<P, "put">>) {
    return this.call("put", path, options);
  }

  patch<P extends keyof paths>(path: P, options?: Options<Operation<P, "patch">>) {
    return this.call("patch", path, options);
  }

  /** A non-JSON answer (CSV) as text. */
  async text<P extends keyof paths>(path: P, options: Options<Operation<P, "get">> = {}): Promise<string> {
    const url = buildUrl(path, options.path, options.query as object | undefined);
    const response = await this.fetcher(url, { headers: this.headers(false) });
    if (!response.ok) throw await errorOf(response);
    return response.text();
  }
}

/** The local gateway's development sign-in (not in AWS). */
export async function devToken(
  sub: string,
  role: "admin" | "agent" | "customer",
  name: string,
  fetcher: Fetch = (...args) => fetch(...args),
): Promise<string> {
  const response = await fetcher("/local/dev-token", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ sub, role, name }),
  });
  if (!response.ok) throw await errorOf(response);
  const body = (await response.json()) as { token: string };
  return body.token;
}
