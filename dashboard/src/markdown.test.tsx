import { describe, expect, it } from "vitest";
import { renderToStaticMarkup } from "react-dom/server";
import { Markdown } from "./markdown";

const html = (source: string) => renderToStaticMarkup(<Markdown source={source} />);

describe("Markdown", () => {
  it("renders emphasis, code, lists and headings", () => {
    expect(html("# Plan\n**Refund** the *second* `charge`\n\n- one\n- two")).toBe(
      '<div class="markdown"><h4>Plan</h4><p><strong>Refund</strong> the <em>second</em> <code>charge</code></p><ul><li>one</li><li>two</li></ul></div>',
    );
  });

  it("shows raw HTML as text", () => {
    expect(html('<img src=x onerror="alert(1)">')).toBe('<div class="markdown"><p>&lt;img src=x onerror=&quot;alert(1)&quot;&gt;</p></div>');
  });

  it("links only to web and mail addresses, without opener or referrer", () => {
    expect(html("[docs](https://example.com/a)")).toBe(
      '<div class="markdown"><p><a href="https://example.com/a" target="_blank" rel="noopener noreferrer">docs</a></p></div>',
    );
    expect(html("[x](javascript:alert(1))")).not.toContain("<a");
  });
});
