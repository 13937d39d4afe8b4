// `npm run e2e`: the browser tests (node:test), after checking Chromium is there.
import { existsSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { chromiumPath, gatewayBinary } from "./harness.mjs";

for (const [what, path, hint] of [
  ["Chromium", chromiumPath(), "apt-get install -y chromium"],
  ["the gateway", gatewayBinary(), "cargo build -p switchboard-local"],
]) {
  if (!existsSync(path)) {
    console.error(`e2e: ${what} is missing at ${path} (${hint})`);
    process.exit(1);
  }
}
const run = spawnSync(process.execPath, ["--test", "--test-concurrency=1", "e2e/"], { stdio: "inherit" });
process.exit(run.status ?? 1);
