// The widget in a real browser, embedded in a shop page on its own origin (as on a customer's
// site), against a real local gateway: a visitor's conversation with an agent who answers from
// the dashboard's console, a gateway restart and a reload in the middle of it, identity, a page
// on an origin the site does not allow, the rating, the host page's hostile CSS and axe-core.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";
import { api, devToken, launchBrowser, startGateway } from "../../dashboard/e2e/harness.mjs";
import { ensureArtifacts, widgetDir } from "./paths.mjs";

const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const AXE = readFileSync(join(widgetDir, "node_modules", "axe-core", "axe.min.js"), "utf8");

let gateway;
let browser;
let shop;
let site;
let admin;

/**
 * The shop: a web server of its own (another origin than the API, as in production) serving the
 * demo page with the script tag pointed at the gateway and the test's site, and the same page
 * without its hostile CSS (`/plain.html`) to compare against.
 */
function startShop() {
  const demo = readFileSync(join(widgetDir, "dist", "demo.html"), "utf8");
  const server = createServer((request, response) => {
    const tag = `<script src="${gateway.origin}/widget/loader.js" data-site="${site.site_id}" data-api="${gateway.origin}" data-greeting="Hi! How can we help?" async></script>`;
    let page = demo.replace(/<script src="\/widget\/loader\.js"[^>]*><\/script>/, tag);
    if (request.url === "/plain.html") page = page.replace(/<style>[\s\S]*?<\/style>/, "");
    else if (request.url !== "/shop.html") {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(page);
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

const shopUrl = (host, path = "/shop.html") => `http://${host}:${shop.address().port}${path}`;

before(async () => {
  ensureArtifacts();
  // Every browser context of this file is a new visitor from 127.0.0.1: more widget tokens than
  // the per-address burst of 20 (tests/widget.rs tests that limit).
  process.env.WIDGET_TOKEN_BURST = "1000";
  gateway = await startGateway();
  browser = await launchBrowser();
  admin = await devToken(gateway.origin, "admin-ann", "admin", "Ann");
  shop = await startShop();
  const created = await api(gateway.origin, admin, "POST", "/admin/sites", {
    name: "Acme Outdoor",
    allowed_origins: [`http://127.0.0.1:${shop.address().port}`],
    prechat_fields: { name: "required", email: "optional", subject: "required" },
    colour: "#1f5fbf",
    greeting: "Hi! How can we help?",
    position: "right",
    locale: "en",
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  site = created.body;
});

after(async () => {
  await browser?.close();
  await gateway?.stop();
  shop?.close();
});

/** The widget's parts: playwright's locators pierce the open shadow root. */
function widget(page) {
  return {
    launcher: page.locator("[data-switchboard-widget] .launcher"),
    dialog: page.getByRole("dialog"),
    log: page.getByRole("log"),
    message: (text) => page.getByRole("log").getByRole("listitem").filter({ hasText: text }),
  };
}

async function sessionOf(page) {
  return page.evaluate((id) => localStorage.getItem(`switchboard:${id}:session`), site.site_id);
}

/** A visitor on the shop page starts a conversation through the pre-chat form. */
async function startConversation(page, name, subject) {
  await page.goto(shopUrl("127.0.0.1"));
  const w = widget(page);
  await w.launcher.click();
  await page.getByLabel("Name").fill(name);
  await page.getByLabel("What can we help with?").fill(subject);
  await page.getByRole("button", { name: "Start chat" }).click();
  await page.getByLabel("Message", { exact: true }).waitFor();
  return w;
}

async function write(page, text) {
  const box = page.getByLabel("Message", { exact: true });
  await box.fill(text);
  await box.press("Enter");
}

/** The bodies of a session's messages as the API holds them. */
async function bodies(sessionId) {
  const answer = await api(gateway.origin, admin, "GET", `/chat/messages/${sessionId}?limit=200`);
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  return answer.body.items.map((m) => m.body);
}

async function signInToConsole(context, sub, name) {
  const page = await context.newPage();
  await page.goto(gateway.origin + "/");
  await page.getByLabel("Role").selectOption("agent");
  await page.getByLabel("User id").fill(sub);
  await page.getByLabel("Display name").fill(name);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.getByRole("button", { name: "Sign out" }).waitFor();
  return page;
}

// One conversation runs through the tests below, in order (node:test runs a file's tests one
// after the other): the visitor's page, the agent's console and the session stay open.
const chat = {};

test("a visitor writes from the widget; the agent's console gets it live and answers; typing, the answer and the read receipt show", async () => {
  const agentToken = await devToken(gateway.origin, "agent-wes", "agent", "Wes");
  // Away: nobody is online, so the session waits in the queue until the agent takes it.
  assert.equal((await api(gateway.origin, agentToken, "PUT", "/agent/status", { status: "away", capacity: 5 })).status, 200);

  chat.context = await browser.newContext({ viewport: DESKTOP });
  chat.page = await chat.context.newPage();
  const page = chat.page;
  await page.goto(shopUrl("127.0.0.1"));
  const w = widget(page);
  await w.launcher.click();
  await w.dialog.waitFor();
  await page.getByText("Nobody is online right now.", { exact: false }).waitFor();
  await page.getByLabel("Name").fill("Ada");
  await page.getByLabel("What can we help with?").fill("My tent leaks");
  await page.getByRole("button", { name: "Start chat" }).click();
  await page.getByText("You are number 1 in the queue.").waitFor();
  await write(page, "Hello, the seams of my tent leak.");
  await w.message("Hello, the seams of my tent leak.").getByText("Sent").waitFor();
  chat.sessionId = await sessionOf(page);
  assert.ok(chat.sessionId, "the widget keeps its session id");

  const taken = await api(gateway.origin, agentToken, "POST", `/admin/chat-dashboard/sessions/${chat.sessionId}/assign`, {});
  assert.equal(taken.status, 200, JSON.stringify(taken.body));
  await page.getByText("You are chatting with Wes.").first().waitFor();

  chat.agentContext = await browser.newContext({ viewport: DESKTOP });
  const agent = await signInToConsole(chat.agentContext, "agent-wes", "Wes");
  chat.agent = agent;
  await agent.getByTestId("my-sessions").getByRole("button", { name: /My tent leaks/ }).click();
  await agent.getByTestId("messages").getByText("Hello, the seams of my tent leak.").waitFor();
  await write(page, "Are you there?");
  await agent.getByTestId("messages").getByText("Are you there?").waitFor();
  // The console marks what the agent has on screen as read: the widget says so.
  await w.message("Are you there?").getByText("Read").waitFor();

  const reply = agent.getByLabel(/^Reply/);
  await reply.pressSequentially("Yes! Sorry");
  await page.getByText("Wes is typing…").waitFor();
  await reply.press("Enter");
  await w.message("Yes! Sorry").waitFor();
  await page.getByText("Wes is typing…").waitFor({ state: "detached" });
  assert.deepEqual(await bodies(chat.sessionId), ["Hello, the seams of my tent leak.", "Are you there?", "Yes! Sorry"]);
  await page.screenshot({ path: join(ensureArtifacts(), "widget-conversation.png") });
});

test("the unread badge counts the agent's messages while the widget is closed", async () => {
  const { page, agent } = chat;
  const w = widget(page);
  await page.keyboard.press("Escape");
  await w.dialog.waitFor({ state: "hidden" });
  await agent.getByLabel(/^Reply/).fill("I am sending a repair kit.");
  await agent.getByLabel(/^Reply/).press("Enter");
  await page.getByRole("button", { name: "Open chat, 1 unread" }).waitFor();
  assert.equal(await page.locator("[data-switchboard-widget] .badge").textContent(), "1");
  await page.waitForFunction(() => document.title.startsWith("(1) New message"));
  await w.launcher.click();
  await w.dialog.waitFor();
  await page.locator("[data-switchboard-widget] .badge").waitFor({ state: "hidden" });
  await page.waitForFunction(() => document.title === "Acme Outdoor — Shop");
});

test("a gateway restart mid-conversation loses and duplicates nothing", async () => {
  const { page, agent } = chat;
  const w = widget(page);
  await gateway.outage(async () => {
    await page.getByText("Connection lost, reconnecting…").waitFor();
    await write(page, "Written while you were away.");
    await w.message("Written while you were away.").getByText("Sending…").waitFor();
  });
  await w.message("Written while you were away.").getByText(/Sent|Read/).waitFor({ timeout: 60_000 });
  await agent.getByTestId("messages").getByText("Written while you were away.").waitFor({ timeout: 60_000 });
  await agent.getByLabel(/^Reply/).fill("Got it after the restart.");
  await agent.getByLabel(/^Reply/).press("Enter");
  await w.message("Got it after the restart.").waitFor({ timeout: 60_000 });
  const expected = [
    "Hello, the seams of my tent leak.",
    "Are you there?",
    "Yes! Sorry",
    "I am sending a repair kit.",
    "Written while you were away.",
    "Got it after the restart.",
  ];
  assert.deepEqual(await bodies(chat.sessionId), expected);
  assert.deepEqual(await w.log.getByRole("listitem").evaluateAll((items) => items.map((li) => li.childNodes[1].textContent)), expected);
});

test("a reload keeps the conversation", async () => {
  const { page } = chat;
  const w = widget(page);
  await page.reload();
  await w.launcher.click();
  await w.message("Got it after the restart.").waitFor();
  assert.equal(await w.log.getByRole("listitem").count(), 6);
  await page.getByText("You are chatting with Wes.").first().waitFor();
});

test("identify moves the conversation to the signed-in user; a forged signature is refused", async () => {
  const { page } = chat;
  const signature = createHmac("sha256", site.identity_secret).update("shopper-42").digest("hex");
  await page.evaluate((identity) => window.Switchboard.identify(identity), { user_id: "shopper-42", signature });
  const moved = await api(gateway.origin, admin, "GET", `/chat/sessions/${chat.sessionId}`);
  assert.equal(moved.status, 200);
  assert.match(moved.body.customer_id, /shopper-42$/);
  await widget(page).message("Got it after the restart.").waitFor();

  const stranger = await browser.newContext({ viewport: DESKTOP });
  const other = await stranger.newPage();
  await other.goto(shopUrl("127.0.0.1"));
  const refused = await other.evaluate(async (identity) => {
    try {
      await window.Switchboard.identify(identity);
      return "accepted";
    } catch (error) {
      return `${error.status} ${error.code}`;
    }
  }, { user_id: "shopper-42", signature: "0".repeat(64) });
  assert.equal(refused, "403 invalid_identity");
  const still = await api(gateway.origin, admin, "GET", `/chat/sessions/${chat.sessionId}`);
  assert.equal(still.body.customer_id, moved.body.customer_id);
  await stranger.close();
});

test("logout forgets the signed-in user on this browser: the next visitor sees nothing of theirs", async () => {
  const context = await browser.newContext({ viewport: DESKTOP });
  const page = await context.newPage();
  const w = await startConversation(page, "Cy", "Gift card balance");
  await write(page, "My card number is 4242.");
  await w.message("My card number is 4242.").getByText("Sent").waitFor();
  const sessionId = await sessionOf(page);
  const signature = createHmac("sha256", site.identity_secret).update("shopper-77").digest("hex");
  await page.evaluate((identity) => window.Switchboard.identify(identity), { user_id: "shopper-77", signature });
  const stored = (page) => page.evaluate((id) => JSON.parse(localStorage.getItem(`switchboard:${id}:visitor`)), site.site_id);
  const signedIn = await stored(page);
  assert.match(signedIn.user_id, /shopper-77$/);
  // The next page load identifies again: the token held is theirs, so no token is asked for.
  const tokenRequests = [];
  page.on("request", (request) => {
    if (/\/widget\/(visitors|identify)$/.test(new URL(request.url()).pathname)) tokenRequests.push(request.url());
  });
  await page.reload();
  await page.evaluate((identity) => window.Switchboard.identify(identity), { user_id: "shopper-77", signature });
  await w.launcher.click();
  await w.message("My card number is 4242.").waitFor();
  assert.deepEqual(tokenRequests, []);
  assert.equal((await stored(page)).token, signedIn.token);

  await page.evaluate(() => window.Switchboard.logout());

  const after = await stored(page);
  assert.match(after.user_id, /^wv:/);
  assert.notEqual(after.resume, signedIn.resume);
  assert.equal(await sessionOf(page), null);
  await page.getByRole("button", { name: "Start chat" }).waitFor();
  assert.equal(await w.message("My card number is 4242.").count(), 0);
  await page.reload();
  await w.launcher.click();
  await page.getByRole("button", { name: "Start chat" }).waitFor();
  assert.equal(await w.message("My card number is 4242.").count(), 0);
  const theirs = await api(gateway.origin, admin, "GET", `/chat/sessions/${sessionId}`);
  assert.match(theirs.body.customer_id, /shopper-77$/);
  const strangers = await page.evaluate(async ({ api, session, token }) => {
    const response = await fetch(`${api}/api/v1/chat/sessions/${session}`, { headers: { authorization: `Bearer ${token}` } });
    return response.status;
  }, { api: gateway.origin, session: sessionId, token: (await stored(page)).token });
  assert.equal(strangers, 404);
  await context.close();
});

test("a page on an origin the site does not allow cannot use the widget API", async () => {
  // localhost and 127.0.0.1 are different origins: only the second is allowed.
  const context = await browser.newContext({ viewport: DESKTOP });
  const page = await context.newPage();
  await page.goto(shopUrl("localhost"));
  await widget(page).launcher.click();
  await page.getByRole("alert").waitFor();
  const direct = await page.evaluate(async ({ api, site }) => {
    try {
      const response = await fetch(`${api}/api/v1/widget/visitors`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ site_id: site }),
      });
      return `answered ${response.status}`;
    } catch {
      return "blocked";
    }
  }, { api: gateway.origin, site: site.site_id });
  assert.equal(direct, "blocked");
  const fromNode = await fetch(`${gateway.origin}/api/v1/widget/visitors`, {
    method: "POST",
    headers: { "content-type": "application/json", origin: shopUrl("localhost", "") },
    body: JSON.stringify({ site_id: site.site_id }),
  });
  assert.equal(fromNode.status, 403);
  assert.equal(await page.evaluate((id) => localStorage.getItem(`switchboard:${id}:visitor`), site.site_id), null);
  await context.close();
});

test("closing shows the rating prompt, and the rating reaches the dashboard", async () => {
  const { page } = chat;
  const agentToken = await devToken(gateway.origin, "agent-wes", "agent", "Wes");
  const closed = await api(gateway.origin, agentToken, "POST", `/chat/sessions/${chat.sessionId}/close`, {});
  assert.equal(closed.status, 200, JSON.stringify(closed.body));
  const rating = page.getByRole("group", { name: "How was your chat?" });
  await rating.waitFor();
  await rating.getByLabel("4 of 5").check();
  await page.getByLabel(/^Comment/).fill("Quick and kind.");
  await page.getByRole("button", { name: "Send rating" }).click();
  await page.getByText("Thank you for your feedback!").waitFor();
  const rated = await api(gateway.origin, admin, "GET", `/chat/sessions/${chat.sessionId}`);
  assert.equal(rated.body.rating.score ?? rated.body.rating, 4);

  const adminContext = await browser.newContext({ viewport: DESKTOP });
  const dashboard = await adminContext.newPage();
  await dashboard.goto(gateway.origin + "/");
  await dashboard.getByLabel("Role").selectOption("admin");
  await dashboard.getByLabel("User id").fill("admin-ann");
  await dashboard.getByLabel("Display name").fill("Ann");
  await dashboard.getByRole("button", { name: "Sign in", exact: true }).click();
  await dashboard.getByRole("link", { name: "Analytics" }).click();
  await dashboard.getByTestId("headline").getByText("4.00 / 5").waitFor();
  await dashboard.getByText(/^1 ratings of \d+ closed sessions\.$/).waitFor();
  await adminContext.close();
  await chat.agentContext.close();
  await chat.context.close();
});

test("the earlier conversation can be reopened from the widget within 7 days", async () => {
  const context = await browser.newContext({ viewport: DESKTOP });
  const page = await context.newPage();
  const w = await startConversation(page, "Bo", "Boots too small");
  await write(page, "Can I swap them?");
  await w.message("Can I swap them?").getByText("Sent").waitFor();
  const sessionId = await sessionOf(page);
  await page.getByRole("button", { name: "End chat" }).click();
  await page.getByRole("group", { name: "How was your chat?" }).waitFor();
  await page.getByRole("button", { name: "Skip" }).click();
  await page.getByRole("button", { name: "Earlier conversations" }).click();
  const item = page.getByRole("list", { name: "Earlier conversations" }).getByRole("listitem").filter({ hasText: "Boots too small" });
  await item.getByRole("button", { name: "Reopen" }).click();
  await w.message("Can I swap them?").waitFor();
  await write(page, "One size up, please.");
  await w.message("One size up, please.").getByText("Sent").waitFor();
  const reopened = await api(gateway.origin, admin, "GET", `/chat/sessions/${sessionId}`);
  assert.notEqual(reopened.body.status, "closed");
  assert.equal(reopened.body.reopen_count, 1);
  await context.close();
});

test("a waiting visitor's place in the queue moves as the queue moves", async () => {
  const agentToken = await devToken(gateway.origin, "agent-wes", "agent", "Wes");
  const firstContext = await browser.newContext({ viewport: DESKTOP });
  const first = await firstContext.newPage();
  await startConversation(first, "Al", "First in line");
  const place = /You are number (\d+) in the queue\./;
  const ahead = Number(place.exec(await first.getByText(place).textContent())[1]);
  const secondContext = await browser.newContext({ viewport: DESKTOP });
  const second = await secondContext.newPage();
  await startConversation(second, "Bea", "Second in line");
  await second.getByText(`You are number ${ahead + 1} in the queue.`).waitFor();

  const taken = await api(gateway.origin, agentToken, "POST", `/admin/chat-dashboard/sessions/${await sessionOf(first)}/assign`, {});
  assert.equal(taken.status, 200, JSON.stringify(taken.body));
  await second.getByText(`You are number ${ahead} in the queue.`).waitFor();
  await first.getByText("You are chatting with Wes.").waitFor();
  await firstContext.close();
  await secondContext.close();
});

test("the demo page the gateway serves works on the API's own origin, its sign-in and sign-out included", async () => {
  // The demo site allows the gateway's default address; this gateway runs on another port.
  const demoSite = "01J00000000000000000000DEM";
  const allowed = await api(gateway.origin, admin, "PATCH", `/admin/sites/${demoSite}`, { allowed_origins: [gateway.origin] });
  assert.equal(allowed.status, 200, JSON.stringify(allowed.body));
  const context = await browser.newContext({ viewport: DESKTOP });
  const page = await context.newPage();
  await page.goto(`${gateway.origin}/widget/demo.html`);
  const w = widget(page);
  await w.launcher.click();
  await page.getByLabel("What can we help with?").fill("Which tent for two?");
  await page.getByRole("button", { name: "Start chat" }).click();
  await write(page, "Hello from the demo page.");
  await w.message("Hello from the demo page.").getByText("Sent").waitFor();
  const sessionId = await page.evaluate((id) => localStorage.getItem(`switchboard:${id}:session`), demoSite);
  const agentToken = await devToken(gateway.origin, "agent-wes", "agent", "Wes");
  assert.equal((await api(gateway.origin, agentToken, "POST", `/admin/chat-dashboard/sessions/${sessionId}/assign`, {})).status, 200);
  assert.equal((await api(gateway.origin, agentToken, "POST", "/chat/messages", { session_id: sessionId, body: "The Summit 2." })).status, 201);
  await w.message("The Summit 2.").waitFor();

  await page.getByRole("button", { name: "Sign in as Jo" }).click();
  await page.getByText("Signed in as Jo").waitFor();
  const moved = await api(gateway.origin, admin, "GET", `/chat/sessions/${sessionId}`);
  assert.equal(moved.body.customer_id, `wu:${demoSite}:jo`);

  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByText("Signed out").waitFor();
  assert.equal(await w.message("The Summit 2.").count(), 0);
  await context.close();
});

test("a chat UI that could not be loaded at the first click is loaded at the next", async () => {
  const context = await browser.newContext({ viewport: DESKTOP });
  const page = await context.newPage();
  let offline = true;
  await page.route("**/widget/chat.js*", (route) => (offline ? route.abort("internetdisconnected") : route.continue()));
  await page.goto(shopUrl("127.0.0.1", "/plain.html"));
  const w = widget(page);
  await Promise.all([page.waitForEvent("requestfailed"), w.launcher.click()]);
  assert.equal(await w.dialog.isVisible(), false);
  offline = false;
  await w.launcher.click();
  await page.getByRole("button", { name: "Start chat" }).waitFor();
  await context.close();
});

/** The computed look of the widget's parts, to compare between two host pages. */
async function looks(page) {
  return page.evaluate(async () => {
    const root = document.querySelector("[data-switchboard-widget]").shadowRoot;
    // Measured where the panel's opening animation ends.
    await Promise.all(root.querySelector(".panel").getAnimations().map((a) => a.finished));
    const pick = (selector) => {
      const el = root.querySelector(selector);
      const style = getComputedStyle(el);
      const box = el.getBoundingClientRect();
      return {
        selector,
        color: style.color,
        background: style.backgroundColor,
        font: `${style.fontFamily} ${style.fontSize} ${style.fontWeight} ${style.lineHeight}`,
        border: `${style.borderTopWidth} ${style.borderTopStyle} ${style.borderTopColor}`,
        padding: style.padding,
        box: [box.x, box.y, box.width, box.height].map(Math.round),
      };
    };
    return [".launcher", ".panel", "header", "h2", "label", "input", "textarea", "button[type=submit]"].map(pick);
  });
}

test("the host page's aggressive CSS does not change the widget", async () => {
  const context = await browser.newContext({ viewport: DESKTOP });
  const seen = {};
  for (const path of ["/plain.html", "/shop.html"]) {
    const page = await context.newPage();
    await page.goto(shopUrl("127.0.0.1", path));
    await widget(page).launcher.click();
    await page.getByRole("button", { name: "Start chat" }).waitFor();
    seen[path] = await looks(page);
    await page.screenshot({ path: join(ensureArtifacts(), `widget-on-${path.slice(1, -".html".length)}.png`) });
    await page.close();
  }
  assert.deepEqual(seen["/shop.html"], seen["/plain.html"]);
  await context.close();
});

/** axe-core's WCAG 2 A and AA rules on the widget (inside its shadow root). */
async function assertAccessible(page, where) {
  await page.addScriptTag({ content: AXE });
  const violations = await page.evaluate(async () => {
    const host = document.querySelector("[data-switchboard-widget]");
    // Colours are checked as shown, not halfway through the panel's fade-in.
    await Promise.all(host.shadowRoot.querySelector(".panel")?.getAnimations().map((a) => a.finished) ?? []);
    const result = await window.axe.run(host, {
      runOnly: { type: "tag", values: ["wcag2a", "wcag2aa"] },
    });
    return result.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`);
  });
  assert.deepEqual(violations, [], `accessibility problems on ${where}`);
}

test("the widget is keyboard usable and axe-core clean at desktop and phone widths, light and dark", async () => {
  for (const [label, viewport] of [["desktop", DESKTOP], ["phone", PHONE]]) {
    for (const colorScheme of ["light", "dark"]) {
      const context = await browser.newContext({ viewport, colorScheme });
      const page = await context.newPage();
      await page.goto(shopUrl("127.0.0.1", "/plain.html"));
      const w = widget(page);
      await w.launcher.waitFor();
      await assertAccessible(page, `${label} ${colorScheme}, closed`);
      await w.launcher.focus();
      await page.keyboard.press("Enter");
      await page.getByRole("button", { name: "Start chat" }).waitFor();
      await assertAccessible(page, `${label} ${colorScheme}, pre-chat form`);
      // Focus stays in the dialog: tabbing past its last control comes back to its first.
      const inDialog = () => page.evaluate(() => document.querySelector("[data-switchboard-widget]").shadowRoot.activeElement?.closest(".panel") != null);
      for (let i = 0; i < 8; i += 1) {
        await page.keyboard.press("Tab");
        assert.ok(await inDialog(), `focus left the dialog after ${i + 1} Tab presses`);
      }
      await page.getByLabel("Name").fill("Kim");
      await page.getByLabel("What can we help with?").fill("Accessibility check");
      await page.getByRole("button", { name: "Start chat" }).click();
      await write(page, "Hello");
      await w.message("Hello").getByText("Sent").waitFor();
      await assertAccessible(page, `${label} ${colorScheme}, conversation`);
      await page.screenshot({ path: join(ensureArtifacts(), `widget-${label}-${colorScheme}.png`) });
      await page.keyboard.press("Escape");
      await w.dialog.waitFor({ state: "hidden" });
      assert.equal(
        await page.evaluate(() => document.querySelector("[data-switchboard-widget]").shadowRoot.activeElement?.className),
        "launcher",
        "focus returns to the launcher",
      );
      await context.close();
    }
  }
});
