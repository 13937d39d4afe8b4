// The widget's build: esbuild bundles the loader as one classic script (IIFE: it runs from a
// plain <script src> tag on any page) and the chat UI as an ES module chunk the loader imports
// when the visitor opens the widget; both minified. Then it copies the demo page and prints each
// file's raw and gzipped size and the totals the budgets are about (docs/BENCHMARKS.md):
// loader <= 6 KB gzipped, whole widget <= 40 KB gzipped.
import { build } from "esbuild";
import { copyFileSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, "dist");
rmSync(dist, { recursive: true, force: true });
mkdirSync(dist);

const common = { bundle: true, minify: true, target: "es2020", legalComments: "none", logLevel: "warning" };
await build({ ...common, entryPoints: [join(here, "src/loader.ts")], format: "iife", outfile: join(dist, "loader.js") });
await build({ ...common, entryPoints: [join(here, "src/chat.ts")], format: "esm", outfile: join(dist, "chat.js") });
copyFileSync(join(here, "demo.html"), join(dist, "demo.html"));

const BUDGET = { loader: 6 * 1024, total: 40 * 1024 };
const sizes = {};
for (const file of readdirSync(dist).filter((f) => f.endsWith(".js"))) {
  const bytes = readFileSync(join(dist, file));
  sizes[file] = { raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
}
const total = Object.values(sizes).reduce((sum, s) => ({ raw: sum.raw + s.raw, gzip: sum.gzip + s.gzip }), { raw: 0, gzip: 0 });
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
for (const [file, s] of Object.entries(sizes)) console.log(`${file.padEnd(10)} ${kb(s.raw).padStart(9)} raw ${kb(s.gzip).padStart(8)} gzip`);
console.log(`${"total".padEnd(10)} ${kb(total.raw).padStart(9)} raw ${kb(total.gzip).padStart(8)} gzip`);
console.log(`budgets: loader ${kb(sizes["loader.js"].gzip)} of ${kb(BUDGET.loader)}, whole widget ${kb(total.gzip)} of ${kb(BUDGET.total)} (gzipped)`);
writeFileSync(join(dist, "sizes.json"), JSON.stringify({ files: sizes, total, budget: BUDGET }, null, 2) + "\n");
if (sizes["loader.js"].gzip > BUDGET.loader || total.gzip > BUDGET.total) {
  console.error("the widget is over its size budget");
  process.exit(1);
}
