// What the browser tests do on the dashboard's pages: sign in, check that every control is
// labelled and that axe-core finds no WCAG 2 A/AA problem, and take screenshots at three widths.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { dashboardDir, ensureArtifacts } from "./harness.mjs";

export const DESKTOP = { width: 1280, height: 800 };
export const TABLET = { width: 820, height: 1180 };
export const PHONE = { width: 390, height: 844 };

/** Signs in through the development sign-in of the gateway at `origin`; returns the page. */
export async function signIn(origin, context, role, sub, name) {
  const page = await context.newPage();
  const started = Date.now();
  await page.goto(origin + "/");
  await page.getByLabel("Role").selectOption(role);
  await page.getByLabel("User id").fill(sub);
  await page.getByLabel("Display name").fill(name);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.getByRole("button", { name: "Sign out" }).waitFor();
  return { page, started };
}

/** Every form control of the page has an accessible name (a label or aria-label). */
export async function assertLabelled(page, where) {
  const unlabelled = await page.evaluate(() =>
    [...document.querySelectorAll("input, select, textarea")]
      .filter((el) => el.labels.length === 0 && !el.getAttribute("aria-label"))
      .map((el) => el.outerHTML),
  );
  assert.deepEqual(unlabelled, [], `unlabelled controls on ${where}`);
}

const AXE = readFileSync(join(dashboardDir, "node_modules", "axe-core", "axe.min.js"), "utf8");

/** axe-core's WCAG 2 A and AA rules (labels, names, roles, colour contrast…) on the page as it is. */
export async function assertAccessible(page, where) {
  await page.addScriptTag({ content: AXE });
  const violations = await page.evaluate(async () => {
    const result = await window.axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa"] } });
    return result.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`);
  });
  assert.deepEqual(violations, [], `accessibility problems on ${where}`);
}

/** Checks the page at the desktop, tablet and phone widths and saves a screenshot of each. */
export async function shoot(page, name) {
  await assertLabelled(page, name);
  await assertAccessible(page, `${name} (desktop)`);
  const dir = ensureArtifacts();
  await page.setViewportSize(DESKTOP);
  await page.screenshot({ path: join(dir, `${name}-desktop.png`), fullPage: true });
  for (const [label, size] of [["tablet", TABLET], ["phone", PHONE]]) {
    await page.setViewportSize(size);
    // Let the layout (and Chart.js's resize observer) settle at the new width.
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    await page.screenshot({ path: join(dir, `${name}-${label}.png`), fullPage: true });
    await assertAccessible(page, `${name} (${label})`);
  }
  await page.setViewportSize(DESKTOP);
}
