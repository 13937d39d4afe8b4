// Attachments in a real browser against a real local gateway: a customer's screenshot reaches
// the agent's console as a thumbnail that opens in a new tab, and the agent pastes a screenshot
// into the reply box, watches it upload and get checked, and sends it.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { api, devToken, ensureArtifacts, launchBrowser, startGateway } from "./harness.mjs";

/** A 48×32 PNG, as a screenshot tool would put on the clipboard. */
const PNG_BASE64 =
  "iVBORw0KGgoAAAANSUhEUgAAADAAAAAgCAIAAADbtmxLAAAAO0lEQVR42u3OQQ0AMAgEMJSgZEpQPBETMxMXXk0qoHXPRHRICQkJCQkJCQmth15EhwgJCQkJCQkJLYc+IlW8asFiRhsAAAAASUVORK5CYII=";
let gateway;
let browser;

before(async () => {
  ensureArtifacts();
  gateway = await startGateway();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await gateway?.stop();
});

test("a customer's screenshot reaches the agent as a thumbnail that opens, and the agent pastes one back", async () => {
  const { origin } = gateway;
  const customer = await devToken(origin, "cust-ada", "customer", "Ada");
  const agentToken = await devToken(origin, "agent-bob", "agent", "Bob");
  assert.equal((await api(origin, agentToken, "PUT", "/agent/status", { status: "away", capacity: 5 })).status, 200);
  const created = await api(origin, customer, "POST", "/chat/sessions", { subject: "The app shows an error" });
  const sessionId = created.body.id;
  assert.equal((await api(origin, agentToken, "POST", `/admin/chat-dashboard/sessions/${sessionId}/assign`, {})).status, 200);

  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const agent = await context.newPage();
  await agent.goto(origin + "/");
  await agent.getByLabel("Role").selectOption("agent");
  await agent.getByLabel("User id").fill("agent-bob");
  await agent.getByLabel("Display name").fill("Bob");
  await agent.getByRole("button", { name: "Sign in", exact: true }).click();
  await agent.getByTestId("my-sessions").getByRole("button", { name: /The app shows an error/ }).click();

  // The customer's page uploads the screenshot straight to the bucket with the signed form
  // and sends it (what the widget does on paste).
  const customerPage = await context.newPage();
  await customerPage.goto(origin + "/");
  const sent = await customerPage.evaluate(
    async ({ token, sessionId, png }) => {
      const bytes = Uint8Array.from(atob(png), (c) => c.charCodeAt(0));
      const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
      const asked = await fetch(`/api/v1/chat/sessions/${sessionId}/attachments`, {
        method: "POST",
        headers,
        body: JSON.stringify({ file_name: "error.png", content_type: "image/png", size: bytes.length }),
      }).then((r) => r.json());
      const form = new FormData();
      for (const [name, value] of Object.entries(asked.upload.fields)) form.append(name, value);
      form.append("file", new File([bytes], "error.png", { type: "image/png" }));
      const uploaded = await fetch(asked.upload.url, { method: "POST", body: form });
      const message = await fetch("/api/v1/chat/messages", {
        method: "POST",
        headers,
        body: JSON.stringify({ session_id: sessionId, body: "This is what I see", attachments: [asked.attachment.id] }),
      });
      return { uploaded: uploaded.status, message: message.status };
    },
    { token: customer, sessionId, png: PNG_BASE64 },
  );
  assert.deepEqual(sent, { uploaded: 204, message: 201 });

  // The agent sees its thumbnail and opens the file in a new tab.
  const thumbnail = agent.getByTestId("messages").getByRole("img", { name: "error.png" });
  await thumbnail.waitFor();
  assert.match(await thumbnail.getAttribute("src"), /\/local-attachments\/thumbnails\//);
  // The tab's response is awaited from before the click: the tab may load it at once.
  const [, opened] = await Promise.all([
    context.waitForEvent("page"),
    context.waitForEvent("response", (response) => response.url().includes("/local-attachments/attachments/")),
    thumbnail.click(),
  ]);
  assert.equal(opened.status(), 200);
  assert.equal(opened.headers()["content-type"], "image/png");
  assert.match(opened.headers()["content-disposition"], /^inline; filename="error.png"/);

  // The agent pastes a screenshot into the reply box: it uploads, is checked, and is sent.
  await agent.getByLabel(/^Reply/).evaluate((box, png) => {
    const bytes = Uint8Array.from(atob(png), (c) => c.charCodeAt(0));
    const data = new DataTransfer();
    data.items.add(new File([bytes], "image.png", { type: "image/png" }));
    box.dispatchEvent(new ClipboardEvent("paste", { clipboardData: data, bubbles: true, cancelable: true }));
  }, PNG_BASE64);
  await agent.getByRole("list", { name: "Files to send" }).getByText("Ready").waitFor();
  await agent.getByRole("button", { name: "Send", exact: true }).click();
  await agent.getByTestId("messages").getByRole("img", { name: "image.png" }).waitFor();
  const messages = await api(origin, customer, "GET", `/chat/messages/${sessionId}`);
  const last = messages.body.items.at(-1);
  assert.equal(last.sender_id, "agent-bob");
  assert.deepEqual(last.attachments.map((a) => a.file_name), ["image.png"]);
  await context.close();
});
