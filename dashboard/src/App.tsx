import { lazy, Suspense, useEffect, useMemo, useState } from "react";
import { Api, browserDeps, devToken, LiveClient } from "@switchboard/client";
import { type Identity, identityOf, loadIdentity, saveIdentity } from "./auth";
import { errorText, useLive } from "./hooks";
import { AdminViews } from "./views/Admin";
import { AgentConsole } from "./views/Agent";

// Pages used now and then load when first opened: the first page stays small.
const CannedManager = lazy(() => import("./views/CannedManager"));

/** The path the app shows (client-side routing over the History API). */
function usePath(): [string, (path: string) => void] {
  const [path, setPath] = useState(window.location.pathname);
  useEffect(() => {
    const onPop = () => setPath(window.location.pathname);
    window.addEventListener("popstate", onPop);
    return () => window.removeEventListener("popstate", onPop);
  }, []);
  const go = (next: string) => {
    if (next !== window.location.pathname) window.history.pushState(null, "", next);
    setPath(next);
  };
  return [path, go];
}

export function App() {
  const [identity, setIdentity] = useState<Identity | undefined>(loadIdentity);
  const [path, go] = usePath();
  const signIn = (next: Identity) => {
    saveIdentity(next);
    setIdentity(next);
    go(next.role === "admin" ? "/admin" : "/agent");
  };
  const signOut = () => {
    saveIdentity(undefined);
    setIdentity(undefined);
    go("/");
  };
  if (!identity) return <SignIn onSignIn={signIn} />;
  return <SignedIn key={identity.token} identity={identity} path={path} go={go} onSignOut={signOut} />;
}

function SignedIn(props: { identity: Identity; path: string; go: (p: string) => void; onSignOut: () => void }) {
  const { identity, path, go } = props;
  const api = useMemo(() => new Api(identity.token), [identity.token]);
  const live = useMemo(
    () =>
      new LiveClient(
        browserDeps({
          token: () => identity.token,
          // In AWS the stack's WebSocketUrl output, given at build time; locally the page's origin.
          webSocketUrl: import.meta.env.VITE_WS_URL as string | undefined,
          fetchMessages: (sessionId, after, cursor) =>
            api.get("/chat/messages/{session_id}", {
              path: { session_id: sessionId },
              query: { after, cursor, limit: 200 },
            }),
          postMessage: (message) => api.post("/chat/messages", { body: message }),
        }),
      ),
    [api, identity.token],
  );
  useEffect(() => {
    live.start();
    live.followDashboard();
    return () => live.stop();
  }, [live]);
  useLive(live);

  const admin = identity.role === "admin";
  const links = admin
    ? [
        ["/admin", "Overview"],
        ["/admin/queue", "Queue"],
        ["/admin/active", "Active sessions"],
        ["/admin/analytics", "Analytics"],
        ["/admin/reports", "Reports"],
        ["/admin/announcements", "Announcements"],
        ["/admin/canned", "Canned responses"],
        ["/admin/agents", "Agents"],
        ["/admin/rooms", "Rooms"],
        ["/admin/blocked", "Blocked users"],
        ["/admin/audit", "Audit log"],
      ]
    : [
        ["/agent", "Console"],
        ["/agent/canned", "Canned responses"],
      ];
  return (
    <div className="shell">
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <span className="brand">Switchboard</span>
        <nav aria-label="Main">
          <ul>
            {links.map(([href, label]) => (
              <li key={href}>
                <a
                  href={href}
                  aria-current={path === href ? "page" : undefined}
                  onClick={(event) => {
                    event.preventDefault();
                    go(href);
                  }}
                >
                  {label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <span className="who">
          {identity.name ?? identity.sub} ({identity.role})
        </span>
        <button type="button" onClick={props.onSignOut}>
          Sign out
        </button>
      </header>
      <ConnectionBanner live={live} />
      <main id="main" tabIndex={-1}>
        {identity.role === "customer" ? (
          <p role="alert">This dashboard is for agents and admins.</p>
        ) : path === "/admin/canned" || path === "/agent/canned" ? (
          <Suspense fallback={<p role="status">Loading…</p>}>
            <CannedManager api={api} admin={admin} />
          </Suspense>
        ) : admin ? (
          <AdminViews api={api} live={live} path={path} go={go} />
        ) : (
          <AgentConsole api={api} live={live} identity={identity} />
        )}
      </main>
    </div>
  );
}

function ConnectionBanner({ live }: { live: LiveClient }) {
  useLive(live);
  if (live.state === "open") return null;
  const text =
    live.state === "connecting"
      ? "Connecting to live updates…"
      : "Live updates are disconnected. Reconnecting — figures may be out of date.";
  return (
    <div className={`banner ${live.state === "connecting" ? "info" : "warn"}`} role="status" data-testid="connection-banner">
      {text}
    </div>
  );
}

function SignIn({ onSignIn }: { onSignIn: (identity: Identity) => void }) {
  const [sub, setSub] = useState("admin-ann");
  const [role, setRole] = useState<"admin" | "agent">("admin");
  const [name, setName] = useState("Ann");
  const [pasted, setPasted] = useState("");
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const devSignIn = async (event: React.FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const token = await devToken(sub.trim(), role, name.trim());
      const identity = identityOf(token);
      if (!identity) throw new Error("the gateway answered with an unreadable token");
      onSignIn(identity);
    } catch (caught) {
      setError(errorText(caught));
    } finally {
      setBusy(false);
    }
  };
  const tokenSignIn = (event: React.FormEvent) => {
    event.preventDefault();
    const identity = identityOf(pasted.trim());
    if (identity) onSignIn(identity);
    else setError("That is not a Switchboard token (it needs sub and role claims).");
  };
  return (
    <main id="main" className="signin">
      <h1>Switchboard</h1>
      <form onSubmit={devSignIn} aria-labelledby="dev-title">
        <h2 id="dev-title">Development sign-in (local gateway)</h2>
        <label htmlFor="signin-role">Role</label>
        <select id="signin-role" value={role} onChange={(e) => setRole(e.target.value as "admin" | "agent")}>
          <option value="admin">Admin</option>
          <option value="agent">Agent</option>
        </select>
        <label>
          User id
          <input value={sub} onChange={(e) => setSub(e.target.value)} required autoComplete="username" />
        </label>
        <label>
          Display name
          <input value={name} onChange={(e) => setName(e.target.value)} />
        </label>
        <button type="submit" disabled={busy}>
          Sign in
        </button>
      </form>
      <form onSubmit={tokenSignIn} aria-labelledby="jwt-title">
        <h2 id="jwt-title">Sign in with a token</h2>
        <label>
          JWT from your identity provider
          <textarea value={pasted} onChange={(e) => setPasted(e.target.value)} rows={3} />
        </label>
        <button type="submit">Use token</button>
      </form>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
    </main>
  );
}
