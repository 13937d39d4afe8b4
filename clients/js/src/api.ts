// The typed REST client: every path, parameter, body and answer comes from the types
// `openapi-typescript` generates from docs/openapi.json at build time, so a renamed field or
// path fails `tsc` in every app that uses the package, not the page.
import type { components, paths } from "./schema.js";

export type { components, paths };

/** Every schema of the API document, by name. */
export type Schemas = components["schemas"];
/** A chat session (conversation). */
export type Session = Schemas["Session"];
/** A message of a session. */
export type Message = Schemas["ListPage_Message"]["items"][number];
/** A session in the waiting queue, with its place and wait. */
export type WaitingSession = Schemas["ListPage_WaitingSession"]["items"][number];
/** An active session as the floor sees it. */
export type ActiveSession = Schemas["ListPage_ActiveSession"]["items"][number];
/** The live floor's figures. */
export type Overview = Schemas["Overview"];
/** An agent on the floor: status and load. */
export type AgentState = Schemas["AgentState"];
/** A bulk notification job. */
export type BulkJob = Schemas["BulkJob"];
/** Someone taking part in a session. */
export type Participant = Schemas["ListPage_Participant"]["items"][number];
/** A site's public settings, as its widget reads them. */
export type WidgetSite = Schemas["WidgetSite"];
/** A customer token for the widget (a visitor's, or a signed-in user's). */
export type WidgetToken = Schemas["WidgetToken"];

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

/** The typed options of one operation: path parameters, query, JSON body, extra headers. */
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

/** The REST API's path prefix. */
export const API_BASE = "/api/v1";

/**
 * The URL of an operation: `template`'s `{name}`s filled (encoded) from `path`, the query's empty
 * values left out, under `origin` (`""` for the page's own origin).
 */
export function buildUrl(template: string, path?: object, query?: object, origin = ""): string {
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
  return `${origin.replace(/\/+$/, "")}${API_BASE}${filled}${qs ? `?${qs}` : ""}`;
}

/** The ApiError of a failed answer, from its `{"error":{code,message}}` body when it has one. */
export async function errorOf(response: Response): Promise<ApiError> {
  try {
    const body = (await response.json()) as Schemas["ErrorBody"];
    return new ApiError(response.status, body.error.code, body.error.message);
  } catch {
    return new ApiError(response.status, "http_error", `HTTP ${response.status}`);
  }
}

/** The `fetch` the client calls (a fake one in tests). */
export type Fetch = typeof fetch;

/** A bearer token, or a function that returns the current one (tokens that are renewed). */
export type TokenSource = string | (() => string | undefined);

/** Where the API is and how to reach it. */
export interface ApiOptions {
  /** The API's origin, e.g. `https://support.example.com`; `""` (default) is the page's own. */
  baseUrl?: string;
  /** The `fetch` to call; the global one by default. */
  fetch?: Fetch;
}

/** A typed client of the REST API for one bearer token (none for the public widget routes). */
export class Api {
  private readonly baseUrl: string;
  private readonly fetcher: Fetch;

  constructor(
    private readonly token: TokenSource | undefined,
    options: ApiOptions | Fetch = {},
  ) {
    const resolved = typeof options === "function" ? { fetch: options } : options;
    this.baseUrl = resolved.baseUrl ?? "";
    this.fetcher = resolved.fetch ?? ((...args) => fetch(...args));
  }

  private headers(json: boolean): Record<string, string> {
    const token = typeof this.token === "function" ? this.token() : this.token;
    const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
    if (json) headers["content-type"] = "application/json";
    return headers;
  }

  /** Calls one operation; resolves to its success body, rejects with ApiError otherwise. */
  async call<P extends keyof paths, M extends Method>(
    method: M,
    path: P,
    options: Options<Operation<P, M>> = {},
  ): Promise<Success<Operation<P, M>>> {
    const url = buildUrl(path, options.path, options.query as object | undefined, this.baseUrl);
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

  /** `GET` an operation. */
  get<P extends keyof paths>(path: P, options?: Options<Operation<P, "get">>) {
    return this.call("get", path, options);
  }

  /** `POST` an operation. */
  post<P extends keyof paths>(path: P, options?: Options<Operation<P, "post">>) {
    return this.call("post", path, options);
  }

  /** `PUT` an operation. */
  put<P extends keyof paths>(path: P, options?: Options<Operation<P, "put">>) {
    return this.call("put", path, options);
  }

  /** `PATCH` an operation. */
  patch<P extends keyof paths>(path: P, options?: Options<Operation<P, "patch">>) {
    return this.call("patch", path, options);
  }

  /** `DELETE` an operation. */
  delete<P extends keyof paths>(path: P, options?: Options<Operation<P, "delete">>) {
    return this.call("delete", path, options);
  }

  /** A non-JSON answer (CSV) as text. */
  async text<P extends keyof paths>(path: P, options: Options<Operation<P, "get">> = {}): Promise<string> {
    const url = buildUrl(path, options.path, options.query as object | undefined, this.baseUrl);
    const response = await this.fetcher(url, { headers: this.headers(false) });
    if (!response.ok) throw await errorOf(response);
    return response.text();
  }
}

/** The local gateway's development sign-in (not in AWS): a token for any user and role. */
export async function devToken(
  sub: string,
  role: "admin" | "agent" | "customer",
  name: string,
  fetcher: Fetch = (...args) => fetch(...args),
  baseUrl = "",
): Promise<string> {
  const response = await fetcher(`${baseUrl}/local/dev-token`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ sub, role, name }),
  });
  if (!response.ok) throw await errorOf(response);
  const body = (await response.json()) as { token: string };
  return body.token;
}
