// The dashboard in a real browser against a real local gateway: the admin's live queue and
// assignment, the agent's console, the charts after a rollup, the CSV export; screenshots at
// desktop and phone widths and the figures of docs/BENCHMARKS.md go to artifacts/.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { api, dashboardDir, devToken, ensureArtifacts, launchBrowser, reportYesterday, rollupToday, startGateway } from "./harness.mjs";
import { DESKTOP, shoot, signIn as signInAt } from "./pages.mjs";

let gateway;
let browser;
const figures = {};

before(async () => {
  ensureArtifacts();
  gateway = await startGateway();
  browser = await launchBrowser();
});

const signIn = (context, role, sub, name) => signInAt(gateway.origin, context, role, sub, name);

after(async () => {
  await browser?.close();
  await gateway?.stop();
  writeFileSync(join(ensureArtifacts(), "figures.json"), JSON.stringify(figures, null, 2) + "\n");
  console.log(`dashboard figures: ${JSON.stringify(figures)}`);
});

test("the first page's JS and CSS, gzipped", () => {
  const html = readFileSync(join(dashboardDir, "dist", "index.html"), "utf8");
  const assets = [...html.matchAll(/(?:src|href)="\/(assets\/[^"]+\.(?:js|css))"/g)].map((m) => m[1]);
  assert.ok(assets.length >= 2, "index.html loads a script and a stylesheet");
  const bytes = assets.reduce((sum, asset) => sum + gzipSync(readFileSync(join(dashboardDir, "dist", asset)), { level: 9 }).length, 0);
  figures.first_page_gzip_bytes = bytes;
  figures.first_page_assets = assets;
});

test("admin and agent handle a session live, end to end", async () => {
  const { origin } = gateway;
  const customer = await devToken(origin, "cust-ada", "customer", "Ada");
  const colleague = await devToken(origin, "agent-cy", "agent", "Cy");
  const agentToken = await devToken(origin, "agent-bob", "agent", "Bob");
  // Both agents are away: routing leaves new sessions in the queue for the admin to assign.
  assert.equal((await api(origin, colleague, "PUT", "/agent/status", { status: "away", capacity: 5 })).status, 200);
  const canned = await api(origin, agentToken, "POST", "/agent/canned-responses", {
    scope: "personal",
    shortcode: "thanks",
    title: "Thanks",
    body: "Thank you for waiting, I am looking into it now.",
  });
  assert.equal(canned.status, 201, JSON.stringify(canned.body));

  // The agent sets their status from the console.
  const agentContext = await browser.newContext({ viewport: DESKTOP });
  const { page: agent } = await signIn(agentContext, "agent", "agent-bob", "Bob");
  await agent.getByLabel("Status").selectOption("away");
  await agent.getByLabel("Capacity").fill("4");
  await agent.getByRole("button", { name: "Save status" }).click();
  await agent.getByText("Saved: away, 0 of 4 sessions.").waitFor();

  // The admin's overview goes live; a session created over the API appears without a reload.
  const adminContext = await browser.newContext({ viewport: DESKTOP, acceptDownloads: true });
  const { page: admin, started } = await signIn(adminContext, "admin", "admin-ann", "Ann");
  await admin.locator('[data-testid="overview"][data-live="yes"]').waitFor();
  figures.sign_in_to_live_overview_ms = Date.now() - started;
  await admin.goto(origin + "/admin");
  await admin.locator('[data-testid="overview"][data-live="yes"]').waitFor();
  figures.navigation_to_live_overview_ms = Math.round(await admin.evaluate(() => performance.now()));
  // Both agents went away before this page opened: the live figures themselves list them.
  const floor = admin.getByRole("table", { name: "Agents and their load" });
  await floor.getByRole("row", { name: /Bob\s+away\s+0 \/ 4/ }).waitFor();
  await floor.getByRole("row", { name: /Cy\s+away\s+0 \/ 5/ }).waitFor();
  const created = await api(origin, customer, "POST", "/chat/sessions", { subject: "Charged twice", priority: "high" });
  assert.equal(created.status, 201);
  const sessionId = created.body.id;
  const row = admin.locator(`[data-testid="queue"] tr[data-session="${sessionId}"]`);
  await row.waitFor();
  await admin.getByTestId("metric-waiting").filter({ hasText: "1" }).waitFor();
  await shoot(admin, "overview");
  await admin.getByRole("link", { name: "Queue" }).click();
  await admin.locator(`[data-testid="queue"] tr[data-session="${sessionId}"]`).waitFor();
  await shoot(admin, "queue");

  // Assign from the queue by picking Bob from the list, with the keyboard.
  const picker = admin.getByRole("combobox", { name: "Agent for “Charged twice”" });
  await picker.focus();
  await admin.keyboard.type("bo");
  const bob = admin.getByRole("option", { name: /Bob\s+away · 0 \/ 4 · all rooms/ });
  await bob.waitFor();
  assert.equal(await admin.getByRole("listbox", { name: /Agent for “Charged twice”/ }).getByRole("option").count(), 1, "typing filters the list");
  await admin.keyboard.press("ArrowDown");
  assert.equal(await picker.getAttribute("aria-activedescendant"), await bob.getAttribute("id"));
  await admin.keyboard.press("Enter");
  assert.equal(await picker.inputValue(), "Bob");
  await admin.keyboard.press("Enter");
  await row.waitFor({ state: "detached" });
  const assigned = await api(origin, customer, "GET", `/chat/sessions/${sessionId}`);
  assert.equal(assigned.body.agent_id, "agent-bob");

  // The console shows it; the customer's typing and message arrive live.
  const entry = agent.getByTestId("my-sessions").getByRole("button", { name: /Charged twice/ });
  await entry.click();
  const customerContext = await browser.newContext();
  const customerPage = await customerContext.newPage();
  await customerPage.goto(origin + "/");
  await customerPage.evaluate(
    ({ token, sessionId }) =>
      new Promise((resolve, reject) => {
        const socket = new WebSocket(`ws://${location.host}/ws?token=${token}`);
        window.customerSocket = socket;
        socket.onopen = () => socket.send(JSON.stringify({ action: "typing", session_id: sessionId, state: "start", ref: "t-1" }));
        socket.onmessage = (event) => (JSON.parse(event.data).type === "ack" ? resolve() : reject(new Error(event.data)));
        socket.onerror = () => reject(new Error("the customer's socket failed"));
      }),
    { token: customer, sessionId },
  );
  await agent.getByText("cust-ada is typing…").waitFor();
  const sent = await api(origin, customer, "POST", "/chat/messages", { session_id: sessionId, body: "I was charged twice for one order." });
  assert.equal(sent.status, 201);
  await agent.getByTestId("messages").getByText("I was charged twice for one order.").waitFor();

  // /shortcode inserts the canned response; Enter sends it.
  const reply = agent.getByLabel(/^Reply/);
  await reply.fill("/thanks");
  await reply.press("Tab");
  await agent.getByText("Inserted “Thanks”.").waitFor();
  assert.equal(await reply.inputValue(), "Thank you for waiting, I am looking into it now.");
  await reply.press("Enter");
  await agent.getByTestId("messages").getByText("Thank you for waiting, I am looking into it now.").waitFor();
  const customerView = await api(origin, customer, "GET", `/chat/messages/${sessionId}`);
  const read = await api(origin, customer, "POST", `/chat/sessions/${sessionId}/read`, { message_id: customerView.body.items[1].id });
  assert.equal(read.status, 200);
  await agent.locator(`[data-message="${customerView.body.items[1].id}"]`).getByText("Read").waitFor();
  assert.deepEqual(
    customerView.body.items.map((m) => m.body),
    ["I was charged twice for one order.", "Thank you for waiting, I am looking into it now."],
  );

  // A private note saves itself; the customer never gets it.
  await agent.getByLabel(/Private notes/).fill("**Refund** the second charge");
  await agent.getByTestId("notes-state").filter({ hasText: "Saved at" }).waitFor();
  await shoot(agent, "console");
  const customerAfterNote = await api(origin, customer, "GET", `/chat/messages/${sessionId}`);
  assert.ok(!JSON.stringify(customerAfterNote.body).includes("Refund"), "the note is not a message");
  assert.equal((await api(origin, customer, "GET", `/chat/sessions/${sessionId}/notes`)).status, 403);
  const notes = await api(origin, agentToken, "GET", `/chat/sessions/${sessionId}/notes`);
  assert.equal(notes.body.items[0].body, "**Refund** the second charge");

  // Transfer with a reason.
  await agent.getByRole("combobox", { name: "Transfer to" }).fill("cy");
  await agent.keyboard.press("ArrowDown");
  await agent.keyboard.press("Enter");
  await agent.getByLabel("Reason").fill("Billing specialist");
  await agent.getByRole("button", { name: "Transfer", exact: true }).click();
  await agent.getByText("Choose a session to answer.").waitFor();
  const transferred = await api(origin, customer, "GET", `/chat/sessions/${sessionId}`);
  assert.equal(transferred.body.agent_id, "agent-cy");
  assert.equal(transferred.body.transfer_count, 1);

  // The transcript has the conversation and the private note.
  await admin.getByRole("link", { name: "Active sessions" }).click();
  await admin.getByRole("button", { name: "Transcript" }).click();
  await admin.getByText("I was charged twice for one order.").waitFor();
  await admin.getByText("**Refund** the second charge").waitFor();

  // Charts have data after a rollup.
  rollupToday(gateway.binary, gateway.dataDir);
  await admin.getByRole("link", { name: "Analytics" }).click();
  const volume = admin.getByTestId("chart-volume");
  await volume.locator("canvas").waitFor();
  const counts = await volume.locator("table td").allTextContents();
  assert.ok(counts.some((count) => Number(count) > 0), `message volume has data: ${counts}`);
  await admin.getByTestId("chart-agents").locator("canvas").waitFor();
  const daily = await admin.getByTestId("chart-daily").locator("tbody tr").last().locator("td").allTextContents();
  assert.equal(daily[0], "1", `today's row shows the session created: ${daily}`);
  figures.analytics_height_desktop_px = await admin.evaluate(() => document.documentElement.scrollHeight);
  await shoot(admin, "analytics");

  // The conversations CSV downloads and parses.
  await admin.getByRole("link", { name: "Reports" }).click();
  const [download] = await Promise.all([
    admin.waitForEvent("download"),
    admin.getByRole("button", { name: "Conversations (CSV)" }).click(),
  ]);
  const csv = readFileSync(await download.path(), "utf8").trim().split(/\r?\n/);
  const header = csv[0].split(",");
  assert.ok(header.length > 3, `a CSV header: ${csv[0]}`);
  assert.ok(csv.slice(1).some((line) => line.includes(sessionId)), "the session is in the export");
  assert.ok(csv.slice(1).every((line) => line.split(",").length >= header.length), "every row has every column");

  // The daily PDF reports are listed and download.
  const day = reportYesterday(gateway.binary, gateway.dataDir);
  await admin.reload();
  const [pdf] = await Promise.all([
    admin.waitForEvent("download"),
    admin.getByRole("button", { name: new RegExp(`^${day}`) }).click(),
  ]);
  assert.equal(readFileSync(await pdf.path()).subarray(0, 5).toString(), "%PDF-");

  await customerContext.close();
  await adminContext.close();
  await agentContext.close();
});

test("a dropped connection is shown, and live updates come back", async () => {
  const context = await browser.newContext({ viewport: DESKTOP });
  const { page } = await signIn(context, "admin", "admin-ann", "Ann");
  await page.locator('[data-testid="overview"][data-live="yes"]').waitFor();
  const banner = page.getByTestId("connection-banner").filter({ hasText: "disconnected" });
  const restarted = gateway.restart();
  await banner.waitFor({ timeout: 15_000 });
  await restarted;
  await banner.waitFor({ state: "detached", timeout: 15_000 });
  await page.locator('[data-testid="overview"][data-live="yes"]').waitFor();
  const customer = await devToken(gateway.origin, "cust-eve", "customer", "Eve");
  const created = await api(gateway.origin, customer, "POST", "/chat/sessions", { subject: "After the restart" });
  await page.locator(`[data-testid="queue"] tr[data-session="${created.body.id}"]`).waitFor();
  await context.close();
});

test("an admin sends an announcement to many users and watches it complete", async () => {
  const context = await browser.newContext({ viewport: DESKTOP });
  const { page } = await signIn(context, "admin", "admin-ann", "Ann");
  await page.getByRole("link", { name: "Announcements" }).click();
  await page.getByLabel(/Recipients/).fill("cust-ada\ncust-bo, cust-cy\ncust-ada");
  await page.getByLabel("Title").fill("Maintenance tonight");
  await page.getByLabel("Message").fill("Chat is offline from 02:00 to 02:30 UTC.");
  await page.getByRole("button", { name: "Send", exact: true }).click();
  const job = page.locator('[data-testid="bulk-job"][data-done="yes"]');
  await job.waitFor({ timeout: 15_000 });
  // Three distinct recipients, none with a phone registered: each is handled, as skipped.
  assert.match(await job.textContent(), /Done: 3 of 3 recipients handled/);
  assert.match(await job.textContent(), /0 sent · 0 failed · 3 skipped/);
  assert.equal(await page.locator("#bulk-progress").getAttribute("value"), "3");
  await shoot(page, "announcements");
  await context.close();
});
