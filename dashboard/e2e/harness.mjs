// The browser tests' world: a local gateway on a free port over a temporary data directory,
// serving the built dashboard and chat widget, and Debian's Chromium driven by playwright-core.
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, existsSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
export const dashboardDir = resolve(here, "..");
export const artifacts = join(dashboardDir, "artifacts");

/** The gateway binary: SWITCHBOARD_LOCAL_BIN, or the debug build of the workspace. */
export function gatewayBinary() {
  if (process.env.SWITCHBOARD_LOCAL_BIN) return process.env.SWITCHBOARD_LOCAL_BIN;
  const target = process.env.CARGO_TARGET_DIR ?? resolve(dashboardDir, "..", "target");
  return join(target, "debug", "switchboard-local");
}

export function chromiumPath() {
  return process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
}

/** Starts `switchboard-local serve` and waits for the line that says where it listens. */
export async function startGateway() {
  const dataDir = mkdtempSync(join(tmpdir(), "switchboard-e2e-"));
  const binary = gatewayBinary();
  let process_ = await spawnGateway(binary, dataDir, 0);
  const stopProcess = async () => {
    if (process_.child.exitCode === null) {
      const exited = new Promise((r) => process_.child.once("exit", r));
      process_.child.kill("SIGTERM");
      await exited;
    }
  };
  return {
    origin: process_.origin,
    dataDir,
    binary,
    /** Stops the gateway (every socket drops) and starts it again on the same port and data. */
    async restart() {
      await stopProcess();
      process_ = await spawnGateway(binary, dataDir, Number(new URL(process_.origin).port));
    },
    /** Stops the gateway, runs `during` while it is down, then starts it again as `restart` does. */
    async outage(during) {
      await stopProcess();
      try {
        await during();
      } finally {
        process_ = await spawnGateway(binary, dataDir, Number(new URL(process_.origin).port));
      }
    },
    async stop() {
      await stopProcess();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function spawnGateway(binary, dataDir, port) {
  // The gateway generates its own signing secret in the data directory.
  const { JWT_SECRET: _, ...env } = process.env;
  const child = spawn(
    binary,
    [
      "serve",
      ...["--port", String(port), "--no-schedules", "--data-dir", dataDir],
      ...["--dashboard-dir", join(dashboardDir, "dist"), "--widget-dir", join(dashboardDir, "..", "widget", "dist")],
    ],
    { stdio: ["ignore", "pipe", "inherit"], env },
  );
  const lines = createInterface({ input: child.stdout });
  const origin = await new Promise((resolveOrigin, reject) => {
    const timer = setTimeout(() => reject(new Error("the gateway did not start within 30 s")), 30_000);
    child.once("exit", (code) => reject(new Error(`the gateway exited with ${code}`)));
    child.once("error", reject);
    lines.on("line", (line) => {
      const match = /^Switchboard API on (http:\/\/[^/\s]+)\/api\/v1/.exec(line);
      if (match) {
        clearTimeout(timer);
        resolveOrigin(match[1]);
      }
    });
  });
  return { origin, child };
}

/** A token of the gateway's development sign-in. */
export async function devToken(origin, sub, role, name) {
  const response = await fetch(`${origin}/local/dev-token`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ sub, role, name }),
  });
  if (!response.ok) throw new Error(`dev-token: ${response.status}`);
  return (await response.json()).token;
}

/** A JSON call of the API as the holder of `token`. */
export async function api(origin, token, method, path, body) {
  const response = await fetch(`${origin}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

/**
 * Waits until the gateway's change feed has run the reactions of every change made so far (an
 * admin's `POST /local/feed/drain`): routing after an agent's status change, for one.
 */
export async function settle(origin) {
  const admin = await devToken(origin, "admin-settle", "admin", "Settle");
  const response = await fetch(`${origin}/local/feed/drain`, { method: "POST", headers: { authorization: `Bearer ${admin}` } });
  if (response.status !== 204) throw new Error(`feed drain: ${response.status} ${await response.text()}`);
}

export async function launchBrowser() {
  return chromium.launch({ executablePath: chromiumPath(), headless: true, args: ["--no-sandbox"] });
}

export function ensureArtifacts() {
  if (!existsSync(artifacts)) mkdirSync(artifacts, { recursive: true });
  return artifacts;
}

/** Runs the gateway's `rollup` command over today on the same data directory. */
export function rollupToday(binary, dataDir) {
  const today = new Date().toISOString().slice(0, 10);
  execFileSync(binary, ["rollup", "--from", today, "--to", today, "--data-dir", dataDir], { stdio: "pipe" });
}

/** Runs the gateway's `report` command: yesterday's daily PDF into the data directory. */
export function reportYesterday(binary, dataDir) {
  const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
  execFileSync(binary, ["report", "--day", yesterday, "--data-dir", dataDir], { stdio: "pipe" });
  return yesterday;
}
