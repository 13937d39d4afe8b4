// The agent's and the admin's day in the dashboard: choosing people from a list, canned-response
// suggestions, the session list's unread counts and notifications, the customer beside the
// conversation, notes rendered safely, the keyboard, the admin pages and the analytics page.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { api, devToken, launchBrowser, rollupToday, settle, startGateway } from "./harness.mjs";
import { assertAccessible as assertAccessibleHere, DESKTOP, shoot, signIn } from "./pages.mjs";

let gateway;
let browser;

before(async () => {
  gateway = await startGateway();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await gateway?.stop();
});

/** A token for `sub` with `role`; agents also set their status and capacity. */
async function person(sub, role, name, status) {
  const token = await devToken(gateway.origin, sub, role, name);
  if (status) {
    const set = await api(gateway.origin, token, "PUT", "/agent/status", status);
    assert.equal(set.status, 200, JSON.stringify(set.body));
    // The routing its new status starts runs from the change feed: done before the next step,
    // so a session opened next is routed by its own request.
    await settle(gateway.origin);
  }
  return token;
}

/** The agents go offline, so later tests' sessions are not routed to them. */
async function offDuty(...tokens) {
  for (const token of tokens) {
    assert.equal((await api(gateway.origin, token, "PUT", "/agent/status", { status: "offline", capacity: 5 })).status, 200);
  }
}

async function openSession(customer, subject) {
  const created = await api(gateway.origin, customer, "POST", "/chat/sessions", { subject });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  return created.body;
}

test("a transfer picks an agent from the list and refuses a full one with the reason", async () => {
  const { origin } = gateway;
  const fayToken = await person("agent-fay", "agent", "Fay", { status: "online", capacity: 1 });
  const full = await openSession(await person("cust-gus", "customer", "Gus"), "Printer on fire");
  assert.equal(full.agent_id, "agent-fay");
  const halToken = await person("agent-hal", "agent", "Hal", { status: "online", capacity: 1 });
  const moving = await openSession(await person("cust-ivy", "customer", "Ivy"), "Wrong size");
  assert.equal(moving.agent_id, "agent-hal");
  const joToken = await person("agent-jo", "agent", "Jo", { status: "away", capacity: 1 });

  const context = await browser.newContext({ viewport: DESKTOP });
  const { page } = await signIn(origin, context, "admin", "admin-ann", "Ann");
  await page.getByRole("link", { name: "Active sessions" }).click();
  const row = page.locator(`tr[data-session="${moving.id}"]`);
  const picker = row.getByRole("combobox", { name: "Transfer to" });
  await picker.focus();
  await page.keyboard.type("fay");
  const fay = row.getByRole("option", { name: /Fay/ });
  assert.equal(await fay.getAttribute("aria-disabled"), "true");
  assert.match(await fay.textContent(), /online · 1 \/ 1 · all rooms — full: 1 of 1 sessions/);
  await page.keyboard.press("ArrowDown");
  await page.keyboard.press("Enter");
  await row.getByRole("alert").filter({ hasText: "Fay cannot take it: full: 1 of 1 sessions." }).waitFor();
  // The session's own agent is listed, and why they cannot be chosen.
  await picker.fill("hal");
  assert.match(await row.getByRole("option", { name: /Hal/ }).textContent(), /has this session now/);
  await picker.fill("");
  await page.keyboard.type("j");
  await page.keyboard.press("ArrowDown");
  await page.keyboard.press("Enter");
  assert.equal(await picker.inputValue(), "Jo");
  await row.getByLabel("Reason").fill("Returns desk");
  // Jo fills up after being picked: the API refuses, and the form says why.
  const admin = await person("admin-ann", "admin", "Ann");
  const filler = await openSession(await person("cust-kit", "customer", "Kit"), "Filler");
  assert.equal(filler.agent_id, null, "nobody online has room: it waits");
  const assigned = await api(origin, admin, "POST", `/admin/chat-dashboard/sessions/${filler.id}/assign`, { agent_id: "agent-jo" });
  assert.equal(assigned.status, 200, JSON.stringify(assigned.body));
  await row.getByRole("button", { name: "Transfer", exact: true }).click();
  await row.getByText(/Transfer failed: .*\(agent_at_capacity\)/).waitFor();
  // With room again, the same transfer goes through.
  assert.equal((await api(origin, joToken, "PUT", "/agent/status", { status: "away", capacity: 3 })).status, 200);
  await row.getByRole("button", { name: "Transfer", exact: true }).click();
  await page.getByText("Transferred to Jo.").waitFor();
  const after_ = await api(origin, await person("cust-ivy", "customer", "Ivy"), "GET", `/chat/sessions/${moving.id}`);
  assert.equal(after_.body.agent_id, "agent-jo");
  await offDuty(fayToken, halToken);
  await context.close();
});

test("typing / in a reply suggests canned responses; arrows and Enter insert the rendered text", async () => {
  const { origin } = gateway;
  const agentToken = await person("agent-kai", "agent", "Kai", { status: "online", capacity: 3 });
  const referral = await api(origin, agentToken, "POST", "/agent/canned-responses", {
    scope: "personal",
    shortcode: "refer",
    title: "Referral",
    body: "Tell a friend!",
  });
  assert.equal(referral.status, 201);
  const session = await openSession(await person("cust-kim", "customer", "Kim"), "Refund please");
  assert.equal(session.agent_id, "agent-kai");

  const context = await browser.newContext({ viewport: DESKTOP });
  const { page } = await signIn(origin, context, "agent", "agent-kai", "Kai");
  // The agent writes a personal response on the canned responses page.
  await page.getByRole("link", { name: "Canned responses" }).click();
  await page.getByLabel("Shortcode").fill("refund");
  await page.getByLabel("Title").fill("Refund on its way");
  await page.getByLabel("Text").fill("Hi {{customer.name}}, your refund is on its way.");
  await page.getByRole("button", { name: "Create" }).click();
  await page.getByText("Saved /refund.").waitFor();
  await page.getByTestId("canned-list").getByRole("row", { name: /\/refund\s+Refund on its way\s+personal/ }).waitFor();
  await shoot(page, "canned-responses");

  await page.getByRole("link", { name: "Console" }).click();
  await page.getByTestId("my-sessions").getByRole("button", { name: /Refund please/ }).click();
  const reply = page.getByLabel(/^Reply/);
  await reply.focus();
  await page.keyboard.type("/ref");
  const list = page.getByRole("listbox", { name: "Canned responses" });
  const options = list.getByRole("option");
  await options.nth(1).waitFor();
  assert.deepEqual(
    (await options.allTextContents()).map((text) => text.split(" ")[0]),
    ["/refer", "/refund"],
  );
  await page.keyboard.press("ArrowDown");
  const refund = list.getByRole("option", { name: /\/refund/ });
  assert.equal(await refund.getAttribute("aria-selected"), "true");
  assert.equal(await reply.getAttribute("aria-activedescendant"), await refund.getAttribute("id"));
  // The preview is the text rendered for this session.
  await refund.getByText("Hi Kim, your refund is on its way.").waitFor();
  await page.keyboard.press("Enter");
  await page.getByText("Inserted “Refund on its way”.").waitFor();
  assert.equal(await reply.inputValue(), "Hi Kim, your refund is on its way.");
  await list.waitFor({ state: "detached" });
  await page.keyboard.press("Enter");
  await page.getByTestId("messages").getByText("Hi Kim, your refund is on its way.").waitFor();
  await offDuty(agentToken);
  await context.close();
});

test("a session routed to the agent is announced, and the list shows unread counts and waits, neediest first", async () => {
  const { origin } = gateway;
  const agentToken = await person("agent-lee", "agent", "Lee", { status: "online", capacity: 3 });
  const mia = await person("cust-mia", "customer", "Mia");
  const older = await openSession(mia, "Old question");
  assert.equal(older.agent_id, "agent-lee");
  assert.equal((await api(origin, agentToken, "POST", "/chat/messages", { session_id: older.id, body: "Answered." })).status, 201);

  const context = await browser.newContext({ viewport: DESKTOP });
  await context.grantPermissions(["notifications"], { origin });
  // Record each desktop notification the page raises (the browser shows none headless).
  await context.addInitScript(() => {
    window.shownNotifications = [];
    const Original = window.Notification;
    window.Notification = class extends Original {
      constructor(title, options) {
        super(title, options);
        window.shownNotifications.push({ title, body: options?.body });
      }
    };
  });
  const { page } = await signIn(origin, context, "agent", "agent-lee", "Lee");
  const list = page.getByTestId("my-sessions");
  await list.getByRole("button", { name: /Old question/ }).waitFor();
  assert.equal(await page.getByRole("button", { name: "Turn on desktop notifications" }).count(), 0, "already allowed");

  // Act: a new customer's session is routed to Lee, and the customer writes twice.
  const ned = await person("cust-ned", "customer", "Ned");
  const routed = await openSession(ned, "Card declined");
  assert.equal(routed.agent_id, "agent-lee");
  const entry = list.locator(`button[data-session="${routed.id}"]`);
  await entry.getByText("New").waitFor();
  await page.waitForFunction(() => window.shownNotifications.length === 1);
  assert.deepEqual(await page.evaluate(() => window.shownNotifications), [
    { title: "New conversation: Card declined", body: "Ned · normal priority" },
  ]);
  for (const body of ["My card was declined.", "Can you check?"]) {
    assert.equal((await api(origin, ned, "POST", "/chat/messages", { session_id: routed.id, body })).status, 201);
  }

  // Assert: two unread, the last message and the wait shown, first in the list, in the title.
  await entry.getByTestId("unread").filter({ hasText: "2" }).waitFor();
  assert.match(await entry.textContent(), /Can you check\?/);
  assert.match(await entry.textContent(), /Waiting for a reply \d+s/);
  assert.equal(await list.locator("button[data-session]").first().getAttribute("data-session"), routed.id);
  await page.waitForFunction(() => document.title === "(2) Switchboard");
  await shoot(page, "console-session-list");

  // Opening it reads it: the count and the title's count go.
  await entry.click();
  await page.getByTestId("messages").getByText("Can you check?").waitFor();
  await entry.getByTestId("unread").waitFor({ state: "detached" });
  await page.waitForFunction(() => document.title === "Switchboard");
  await offDuty(agentToken);
  await context.close();
});

test("the customer panel lists the earlier conversation with its rating, changes the priority and blocks", async () => {
  const { origin } = gateway;
  const agentToken = await person("agent-max", "agent", "Max", { status: "online", capacity: 3 });
  const ola = await person("cust-ola", "customer", "Ola");
  const first = await openSession(ola, "First time");
  assert.equal(first.agent_id, "agent-max");
  assert.equal((await api(origin, ola, "POST", "/chat/messages", { session_id: first.id, body: "My order never came." })).status, 201);
  assert.equal((await api(origin, ola, "POST", `/chat/sessions/${first.id}/close`)).status, 200);
  assert.equal((await api(origin, ola, "POST", `/chat/sessions/${first.id}/rating`, { score: 5, comment: "great" })).status, 201);
  const second = await openSession(ola, "Second time");
  assert.equal(second.agent_id, "agent-max");

  const context = await browser.newContext({ viewport: DESKTOP });
  const { page } = await signIn(origin, context, "agent", "agent-max", "Max");
  await page.getByTestId("my-sessions").getByRole("button", { name: /Second time/ }).click();
  const panel = page.getByTestId("customer-panel");
  await panel.getByText("cust-ola").waitFor();
  const earlier = panel.locator(`li[data-session="${first.id}"]`);
  await earlier.getByText(/closed · rated 5\/5/).waitFor();
  assert.equal(await panel.getByTestId("customer-ratings").textContent(), "5.0 / 5 from 1");
  assert.equal(await panel.locator(`li[data-session="${second.id}"]`).count(), 0, "the open conversation is not 'earlier'");
  // Open it: its transcript shows here.
  await earlier.getByRole("button", { name: "First time" }).click();
  await earlier.getByText("My order never came.").waitFor();

  await panel.getByLabel("Priority").selectOption("high");
  await panel.getByText("Priority set to high.").waitFor();
  assert.equal((await api(origin, agentToken, "GET", `/chat/sessions/${second.id}`)).body.priority, "high");
  const blockStatus = panel.getByTestId("block-status");
  await blockStatus.filter({ hasText: "Not blocked." }).waitFor();
  await panel.getByLabel("Why block them (for the team)").fill("Abusive language");
  await panel.getByRole("button", { name: "Block customer" }).click();
  await blockStatus.filter({ hasText: /^Blocked by agent-max on .*: Abusive language\.$/ }).waitFor();
  const refused = await api(origin, ola, "POST", "/chat/messages", { session_id: second.id, body: "hello?" });
  assert.equal(refused.status, 403);
  await panel.getByRole("button", { name: "Unblock" }).click();
  await blockStatus.filter({ hasText: "Not blocked." }).waitFor();
  await shoot(page, "console-customer");
  await offDuty(agentToken);
  await context.close();
});

test("a widget visitor's address from the pre-chat form shows in the customer panel, where e-mails to it are listed", async () => {
  const { origin } = gateway;
  const shop = "http://shop.example";
  const admin = await devToken(origin, "admin-ivy", "admin", "Ivy");
  const site = await api(origin, admin, "POST", "/admin/sites", { name: "Shop", allowed_origins: [shop] });
  assert.equal(site.status, 201, JSON.stringify(site.body));
  // The widget's calls, as the shop's page makes them (its origin).
  const fromShop = async (path, token, body) => {
    const headers = { origin: shop, "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) };
    const response = await fetch(`${origin}/api/v1${path}`, { method: "POST", headers, body: JSON.stringify(body) });
    const answer = await response.json();
    assert.ok(response.ok, `${path}: ${response.status} ${JSON.stringify(answer)}`);
    return answer;
  };
  const agentToken = await person("agent-kit", "agent", "Kit", { status: "online", capacity: 3 });
  const visitor = await fromShop("/widget/visitors", null, { site_id: site.body.site_id, name: "Grace", email: "grace@example.com" });
  const session = await fromShop("/chat/sessions", visitor.token, { subject: "Ship to Spain?" });
  assert.equal(session.agent_id, "agent-kit");

  const context = await browser.newContext({ viewport: DESKTOP });
  const { page } = await signIn(origin, context, "agent", "agent-kit", "Kit");
  await page.getByTestId("my-sessions").getByRole("button", { name: /Ship to Spain\?/ }).click();
  const panel = page.getByTestId("customer-panel");

  await panel.getByTestId("email-address").filter({ hasText: /^grace@example\.com$/ }).waitFor();
  assert.equal(await panel.getByTestId("emails-sent").locator("li").count(), 0, "nothing e-mailed yet");
  await offDuty(agentToken);
  await context.close();
});

test("a note's Markdown is previewed safely: raw HTML is shown as text and links open without opener", async () => {
  const { origin } = gateway;
  const agentToken = await person("agent-nia", "agent", "Nia", { status: "online", capacity: 3 });
  const session = await openSession(await person("cust-oli", "customer", "Oli"), "Broken link");
  assert.equal(session.agent_id, "agent-nia");

  const context = await browser.newContext({ viewport: DESKTOP });
  const { page } = await signIn(origin, context, "agent", "agent-nia", "Nia");
  await page.getByTestId("my-sessions").getByRole("button", { name: /Broken link/ }).click();
  await page.evaluate(() => (window.hostile = false));
  await page.getByLabel(/Private notes/).fill('**Check** the <img src=x onerror="window.hostile=true"> [guide](https://example.com/guide)');
  const preview = page.getByTestId("notes-preview");
  await preview.locator("strong").filter({ hasText: "Check" }).waitFor();
  assert.match(await preview.textContent(), /<img src=x onerror="window.hostile=true">/);
  assert.equal(await preview.locator("img").count(), 0, "no element from the note's HTML");
  const link = preview.getByRole("link", { name: "guide" });
  assert.equal(await link.getAttribute("rel"), "noopener noreferrer");
  assert.equal(await link.getAttribute("href"), "https://example.com/guide");
  await page.getByTestId("notes-state").filter({ hasText: "Saved at" }).waitFor();
  assert.equal(await page.evaluate(() => window.hostile), false, "the note's HTML never ran");
  await shoot(page, "console-notes");
  await offDuty(agentToken);
  await context.close();
});

test("the console works from the keyboard: j/k between conversations, r to reply, Enter sends, ? lists the keys, c closes", async () => {
  const { origin } = gateway;
  const agentToken = await person("agent-pat", "agent", "Pat", { status: "online", capacity: 3 });
  const quinn = await person("cust-quinn", "customer", "Quinn");
  const one = await openSession(quinn, "Keyboard one");
  const two = await openSession(await person("cust-rae", "customer", "Rae"), "Keyboard two");
  assert.deepEqual([one.agent_id, two.agent_id], ["agent-pat", "agent-pat"]);
  // Quinn waits for a reply: that conversation comes first.
  assert.equal((await api(origin, quinn, "POST", "/chat/messages", { session_id: one.id, body: "Hello?" })).status, 201);

  const context = await browser.newContext({ viewport: DESKTOP });
  const { page } = await signIn(origin, context, "agent", "agent-pat", "Pat");
  const list = page.getByTestId("my-sessions");
  await list.locator(`button[data-session="${two.id}"]`).waitFor();
  const current = () => list.locator('button[aria-current="true"]').getAttribute("data-session");
  await page.locator("body").press("j");
  await page.getByRole("heading", { level: 1, name: /Keyboard one/ }).waitFor();
  assert.equal(await current(), one.id);
  await page.keyboard.press("j");
  await page.getByRole("heading", { level: 1, name: /Keyboard two/ }).waitFor();
  await page.keyboard.press("k");
  await page.getByRole("heading", { level: 1, name: /Keyboard one/ }).waitFor();
  assert.equal(await current(), one.id);

  await page.keyboard.press("r");
  assert.equal(await page.evaluate(() => document.activeElement?.id), "reply");
  await page.keyboard.type("Here now.");
  await page.keyboard.press("Enter");
  await page.getByTestId("messages").getByText("Here now.").waitFor();
  await page.keyboard.press("Escape");
  assert.equal(await page.evaluate(() => document.activeElement?.id), "conv-title");

  await page.keyboard.press("?");
  const keys = page.getByRole("dialog", { name: "Keyboard shortcuts" });
  await keys.getByRole("row", { name: /Next conversation/ }).waitFor();
  await assertAccessibleHere(page, "the keys overlay");
  await page.keyboard.press("Escape");
  await keys.waitFor({ state: "hidden" });

  page.once("dialog", (dialog) => void dialog.accept());
  await page.keyboard.press("c");
  await page.getByText("Conversation closed.").waitFor();
  assert.equal((await api(origin, quinn, "GET", `/chat/sessions/${one.id}`)).body.status, "closed");
  await offDuty(agentToken);
  await context.close();
});

test("admin pages: the agents on the floor, rooms created from the page, blocked users unblocked, the audit log filtered by actor", async () => {
  const { origin } = gateway;
  const agentToken = await person("agent-sam", "agent", "Sam", { status: "away", capacity: 7 });
  const context = await browser.newContext({ viewport: DESKTOP });
  const { page } = await signIn(origin, context, "admin", "admin-uma", "Uma");

  await page.getByRole("link", { name: "Agents" }).click();
  await page.getByTestId("agents").getByRole("row", { name: /Sam\s+agent-sam\s+away\s+0 \/ 7\s+All rooms/ }).waitFor();
  await shoot(page, "admin-agents");

  await page.getByRole("link", { name: "Rooms" }).click();
  await page.getByLabel("Name").fill("Returns desk");
  await page.getByLabel("Description").fill("Parcels coming back");
  await page.getByRole("button", { name: "Create room" }).click();
  await page.getByText("Created Returns desk.").waitFor();
  await page.getByTestId("rooms").getByRole("row", { name: /Returns desk\s+Parcels coming back\s+.*admin-uma/ }).waitFor();
  await shoot(page, "admin-rooms");

  // Blocked users: listed with who and why, unblocked from the page.
  assert.equal((await api(origin, agentToken, "POST", "/chat/users/cust-wes/block", { reason: "Spam links" })).status, 200);
  await page.getByRole("link", { name: "Blocked users" }).click();
  const blocked = page.getByTestId("blocked");
  await blocked.getByRole("row", { name: /cust-wes\s+agent-sam\s+.*Spam links/ }).waitFor();
  await shoot(page, "admin-blocked");
  await page.getByRole("button", { name: "Unblock cust-wes" }).click();
  await page.getByText("Unblocked cust-wes.").waitFor();
  assert.equal((await api(origin, agentToken, "GET", "/chat/users/blocked?user_id=cust-wes")).body.items[0].blocked, false);

  await page.getByRole("link", { name: "Audit log" }).click();
  await page.getByTestId("audit").waitFor();
  await page.getByLabel("Actor (user id)").fill("admin-uma");
  await page.keyboard.press("Enter");
  await page.getByTestId("audit").getByRole("row", { name: /room\.created\s+admin-uma \(admin\)\s+room:/ }).waitFor();
  // The unfiltered log shows that row too: wait until the filtered page has replaced it.
  await page.waitForFunction(() =>
    [...document.querySelectorAll('[data-testid="audit"] tbody tr td:nth-child(3)')].every((cell) => cell.textContent.includes("admin-uma")),
  );
  const kinds = await page.getByTestId("audit").locator("tbody tr td:nth-child(2)").allTextContents();
  assert.deepEqual(kinds, ["user.unblocked", "room.created"], "only Uma's events, newest first");
  await shoot(page, "admin-audit");
  await offDuty(agentToken);
  await context.close();
});

test("an admin lowers an agent's capacity and picks their rooms from the keyboard, and the list shows it", async () => {
  const { origin } = gateway;
  const agentToken = await person("agent-tia", "agent", "Tia", { status: "away", capacity: 6 });
  const adminToken = await person("admin-vic", "admin");
  const room = await api(origin, adminToken, "POST", "/chat/rooms", { name: "Exchanges" });
  assert.equal(room.status, 201, JSON.stringify(room.body));
  const context = await browser.newContext({ viewport: DESKTOP });
  const { page } = await signIn(origin, context, "admin", "admin-vic", "Vic");
  await page.getByRole("link", { name: "Agents" }).click();
  const agents = page.getByTestId("agents");
  await agents.getByRole("row", { name: /Tia\s+agent-tia\s+away\s+0 \/ 6\s+All rooms/ }).waitFor();

  // Keyboard only: the Edit button, the capacity (focused when the form opens), a room's box, Save.
  await agents.getByRole("button", { name: "Edit Tia" }).focus();
  await page.keyboard.press("Enter");
  const form = page.getByRole("form", { name: "Settings of Tia" });
  await form.getByLabel("Capacity").waitFor();
  assert.equal(await form.getByLabel("Capacity").evaluate((el) => el === document.activeElement), true, "the capacity has the focus");
  await page.keyboard.press("ControlOrMeta+a");
  await page.keyboard.type("2");
  await shoot(page, "admin-agent-settings");
  await form.getByRole("checkbox", { name: "Exchanges" }).focus();
  await page.keyboard.press("Space");
  await form.getByRole("button", { name: "Save" }).focus();
  await page.keyboard.press("Enter");

  await page.getByText("Saved Tia.").waitFor();
  await agents.getByRole("row", { name: /Tia\s+agent-tia\s+away\s+0 \/ 2\s+Exchanges/ }).waitFor();
  assert.equal(await agents.getByRole("button", { name: "Edit Tia" }).evaluate((el) => el === document.activeElement), true, "focus is back on Edit");
  const own = await api(origin, agentToken, "GET", "/agent/status");
  assert.deepEqual([own.body.status, own.body.capacity, own.body.rooms], ["away", 2, [room.body.id]], "her own view agrees; her status is hers");
  await offDuty(agentToken);
  await context.close();
});

test("analytics reads at a glance: headline figures first, charts in a screen's grid, words where there is no data", async () => {
  const { origin } = gateway;
  const context = await browser.newContext({ viewport: DESKTOP });
  const { page } = await signIn(origin, context, "admin", "admin-vi", "Vi");
  // Earlier tests made sessions and messages today.
  rollupToday(gateway.binary, gateway.dataDir);
  await page.getByRole("link", { name: "Analytics" }).click();
  const headline = page.getByTestId("headline");
  await headline.getByText("Sessions created").waitFor();
  await page.getByTestId("chart-volume").locator("canvas").waitFor();
  await page.getByTestId("chart-daily").locator("canvas").waitFor();
  const created = Number(await headline.locator("div", { hasText: "Sessions created" }).locator("dd").textContent());
  assert.ok(created >= 5, `today's sessions are counted: ${created}`);
  // The headline comes before every chart.
  const order = await page.evaluate(() => {
    const first = document.querySelector("[data-testid=headline]");
    const chart = document.querySelector("figure.chart");
    return first && chart ? first.compareDocumentPosition(chart) & Node.DOCUMENT_POSITION_FOLLOWING : 0;
  });
  assert.ok(order, "the headline figures come first");
  const height = await page.evaluate(() => document.documentElement.scrollHeight);
  assert.ok(height <= 2 * DESKTOP.height, `the page fits in two screens at ${DESKTOP.width} px: ${height} px`);
  await shoot(page, "analytics-glance");

  // A range before anything happened says so instead of drawing empty axes.
  await page.getByLabel("From").fill("2020-01-01");
  await page.getByLabel("To").fill("2020-01-07");
  for (const what of ["sessions", "agent activity", "ratings", "messages"]) {
    await page.getByText(`No ${what} in this range yet.`).waitFor();
  }
  assert.equal(await page.locator("figure.chart").count(), 0, "no empty chart is drawn");
  await shoot(page, "analytics-empty");
  await context.close();
});
