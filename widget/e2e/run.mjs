// `npm run e2e`: the widget's browser tests (node:test), after checking what they need is there.
// They reuse the dashboard's harness and sign an agent in to the dashboard's console, so the
// dashboard is built (and its dependencies installed) first: scripts/test-widget.sh does both.
import { existsSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { chromiumPath, dashboardDir, gatewayBinary } from "../../dashboard/e2e/harness.mjs";
import { widgetDir } from "./paths.mjs";

for (const [what, path, hint] of [
  ["Chromium", chromiumPath(), "apt-get install -y chromium"],
  ["the gateway", gatewayBinary(), "cargo build -p switchboard-local"],
  ["the widget's build", join(widgetDir, "dist", "loader.js"), "npm run build"],
  ["the dashboard's build", join(dashboardDir, "dist", "index.html"), "cd ../dashboard && npm ci && npm run build"],
]) {
  if (!existsSync(path)) {
    console.error(`e2e: ${what} is missing at ${path} (${hint})`);
    process.exit(1);
  }
}
const run = spawnSync(process.execPath, ["--test", "--test-concurrency=1", "e2e/"], { stdio: "inherit", cwd: widgetDir });
process.exit(run.status ?? 1);
