import { describe, expect, it } from "vitest";
import { renderToStaticMarkup } from "react-dom/server";
import type { Schemas } from "@switchboard/client";
import { EmailsSent } from "./CustomerPanel";

type SessionEmails = Schemas["SessionEmails"];

const sent = (last: string, status: SessionEmails["items"][number]["status"], detail: string | null = null) => ({
  to: "grace@example.com",
  message_ids: ["01JD000000000000000000000F", last],
  status,
  sent_at: "2026-12-07T10:06:00.000Z",
  reported_at: status === "sent" ? null : "2026-12-07T10:06:05.000Z",
  detail,
});

const text = (emails: SessionEmails) => renderToStaticMarkup(<EmailsSent emails={emails} />).replace(/<[^>]+>/g, "");

describe("the e-mails beside the conversation", () => {
  it("says what became of each e-mail, without tracking opens", () => {
    const shown = text({
      address: "grace@example.com",
      undeliverable: null,
      items: [sent("01JD000000000000000000000G", "delivered", "250 ok"), sent("01JD000000000000000000000H", "sent")],
      next_cursor: null,
    });
    expect(shown).toContain("grace@example.com");
    expect(shown).toMatch(/2 replies · delivered(?! \(250 ok\))/);
    expect(shown).toMatch(/2 replies · sent$/);
    expect(shown).not.toMatch(/opened/i);
  });

  it("shows a bounce's reason and that the address takes no more e-mail", () => {
    const shown = text({
      address: "grace@example.com",
      undeliverable: {
        address: "grace@example.com",
        reason: "bounced",
        detail: "Permanent/General: smtp; 550 5.1.1 user unknown",
        session_id: "01JD000000000000000000000E",
        at: "2026-12-07T10:06:05.000Z",
      },
      items: [sent("01JD000000000000000000000G", "bounced", "Permanent/General: smtp; 550 5.1.1 user unknown")],
      next_cursor: null,
    });
    expect(shown).toMatch(/grace@example\.com · no more e-mail: it bounced on .+ \(Permanent\/General: smtp; 550 5\.1\.1 user unknown\)/);
    expect(shown).toContain("· bounced (Permanent/General: smtp; 550 5.1.1 user unknown)");
  });

  it("names a complaint as marked as spam", () => {
    const shown = text({
      address: "grace@example.com",
      undeliverable: { address: "grace@example.com", reason: "complained", detail: "abuse", session_id: "01JD000000000000000000000E", at: "2026-12-07T10:07:00.000Z" },
      items: [sent("01JD000000000000000000000G", "complained", "abuse")],
      next_cursor: null,
    });
    expect(shown).toContain("no more e-mail: marked as spam");
    expect(shown).toContain("· marked as spam (abuse)");
  });
});
