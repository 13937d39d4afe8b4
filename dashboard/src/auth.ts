// Who is signed in: the bearer token and what it says (user id, role, name). The token lives in
// sessionStorage: it is gone when the tab closes.
export type Role = "admin" | "agent" | "customer";

export interface Identity {
  token: string;
  sub: string;
  role: Role;
  name?: string;
}

const KEY = "switchboard.identity";

/** The claims of a JWT (not verified: the API does that), or undefined for a malformed token. */
export function identityOf(token: string): Identity | undefined {
  const payload = token.split(".")[1];
  if (!payload) return undefined;
  try {
    const json = atob(payload.replace(/-/g, "+").replace(/_/g, "/"));
    const claims = JSON.parse(json) as { sub?: unknown; role?: unknown; name?: unknown };
    if (typeof claims.sub !== "string") return undefined;
    if (claims.role !== "admin" && claims.role !== "agent" && claims.role !== "customer") return undefined;
    return {
      token,
      sub: claims.sub,
      role: claims.role,
      name: typeof claims.name === "string" ? claims.name : undefined,
    };
  } catch {
    return undefined;
  }
}

export function loadIdentity(): Identity | undefined {
  const token = sessionStorage.getItem(KEY);
  return token ? identityOf(token) : undefined;
}

export function saveIdentity(identity: Identity | undefined): void {
  if (identity) sessionStorage.setItem(KEY, identity.token);
  else sessionStorage.removeItem(KEY);
}
