import { describe, expect, it } from "vitest";
import { attachmentType } from "./attachments.js";

describe("attachmentType", () => {
  it("declares a pasted screenshot with the browser's type", () => {
    expect(attachmentType({ name: "image.png", type: "image/png" })).toBe("image/png");
  });

  it("names a log file the browser gives no type by its ending", () => {
    expect(attachmentType({ name: "server.LOG", type: "" })).toBe("text/x-log");
  });

  it("refuses SVG and HTML whatever their names say", () => {
    expect(attachmentType({ name: "logo.svg", type: "image/svg+xml" })).toBeUndefined();
    expect(attachmentType({ name: "page.html", type: "text/html" })).toBeUndefined();
  });
});
