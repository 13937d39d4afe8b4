// A visitor pastes a screenshot into the widget on a shop's page (another origin than the API):
// it uploads straight to the bucket with the signed form and is sent; the agent's console shows
// its thumbnail, which opens the file in a new tab.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";
import { api, devToken, launchBrowser, startGateway } from "../../dashboard/e2e/harness.mjs";
import { ensureArtifacts, widgetDir } from "./paths.mjs";

/** A 48×32 PNG, as a screenshot tool puts it on the clipboard. */
const PNG_BASE64 = "iVBORw0KGgoAAAANSUhEUgAAADAAAAAgCAIAAADbtmxLAAAAO0lEQVR42u3OQQ0AMAgEMJSgZEpQPBETMxMXXk0qoHXPRHRICQkJCQkJCQmth15EhwgJCQkJCQkJLYc+IlW8asFiRhsAAAAASUVORK5CYII=";
let gateway;
let browser;
let shop;
let site;

before(async () => {
  ensureArtifacts();
  gateway = await startGateway();
  browser = await launchBrowser();
  const demo = readFileSync(join(widgetDir, "dist", "demo.html"), "utf8");
  shop = await new Promise((resolve) => {
    const server = createServer((request, response) => {
      const tag = `<script src="${gateway.origin}/widget/loader.js" data-site="${site.site_id}" data-api="${gateway.origin}" async></script>`;
      response.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(demo.replace(/<script src="\/widget\/loader\.js"[^>]*><\/script>/, tag));
    });
    server.listen(0, "127.0.0.1", () => resolve(server));
  });
  const admin = await devToken(gateway.origin, "admin-ann", "admin", "Ann");
  const created = await api(gateway.origin, admin, "POST", "/admin/sites", {
    name: "Acme Outdoor",
    allowed_origins: [`http://127.0.0.1:${shop.address().port}`],
    prechat_fields: { name: "required", email: "optional", subject: "required" },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  site = created.body;
});

after(async () => {
  await browser?.close();
  await gateway?.stop();
  shop?.close();
});

test("a visitor pastes a screenshot into the widget; the agent sees its thumbnail and opens it", async () => {
  // Arrange: a visitor's conversation, taken by an agent whose console shows it.
  const visitor = await (await browser.newContext()).newPage();
  await visitor.goto(`http://127.0.0.1:${shop.address().port}/shop.html`);
  await visitor.locator("[data-switchboard-widget] .launcher").click();
  await visitor.getByLabel("Name").fill("Jo");
  await visitor.getByLabel("What can we help with?").fill("The checkout shows an error");
  await visitor.getByRole("button", { name: "Start chat" }).click();
  const box = visitor.getByLabel("Message", { exact: true });
  await box.waitFor();
  const sessionId = await visitor.evaluate((id) => localStorage.getItem(`switchboard:${id}:session`), site.site_id);
  const agentToken = await devToken(gateway.origin, "agent-bob", "agent", "Bob");
  assert.equal((await api(gateway.origin, agentToken, "PUT", "/agent/status", { status: "away", capacity: 5 })).status, 200);
  assert.equal((await api(gateway.origin, agentToken, "POST", `/admin/chat-dashboard/sessions/${sessionId}/assign`, {})).status, 200);
  const consoleContext = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const agent = await consoleContext.newPage();
  await agent.goto(gateway.origin + "/");
  await agent.getByLabel("Role").selectOption("agent");
  await agent.getByLabel("User id").fill("agent-bob");
  await agent.getByLabel("Display name").fill("Bob");
  await agent.getByRole("button", { name: "Sign in", exact: true }).click();
  await agent.getByTestId("my-sessions").getByRole("button", { name: /The checkout shows an error/ }).click();

  // Act: the visitor pastes a screenshot into the message box.
  await box.evaluate((element, png) => {
    const bytes = Uint8Array.from(atob(png), (c) => c.charCodeAt(0));
    const data = new DataTransfer();
    data.items.add(new File([bytes], "checkout.png", { type: "image/png" }));
    element.dispatchEvent(new ClipboardEvent("paste", { clipboardData: data, bubbles: true, composed: true, cancelable: true }));
  }, PNG_BASE64);

  // Assert: the widget shows it sent; the agent sees its thumbnail and opens the file.
  await visitor.getByRole("log").getByRole("button", { name: "Open checkout.png" }).waitFor();
  const thumbnail = agent.getByTestId("messages").getByRole("img", { name: "checkout.png" });
  await thumbnail.waitFor();
  // The tab's response is awaited from before the click: the tab may load it at once.
  const [, opened] = await Promise.all([
    consoleContext.waitForEvent("page"),
    consoleContext.waitForEvent("response", (response) => response.url().includes("/local-attachments/attachments/")),
    thumbnail.click(),
  ]);
  assert.equal(opened.status(), 200);
  assert.equal(opened.headers()["content-type"], "image/png");
  const stored = await api(gateway.origin, agentToken, "GET", `/chat/messages/${sessionId}`);
  assert.deepEqual(stored.body.items.at(-1).attachments.map((a) => a.file_name), ["checkout.png"]);
});
