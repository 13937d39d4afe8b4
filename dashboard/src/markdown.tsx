// A small Markdown renderer for private notes that builds React elements, never HTML strings: raw
// HTML in a note is shown as the text it is, and links go only to http(s) and mailto addresses,
// opening in a new tab without the opener or a referrer. Paragraphs, line breaks, `#` headings,
// `-`/`*` and `1.` lists, fenced code, **bold**, *italic*, `code` and [links](https://…).
import type { ReactNode } from "react";

const SAFE_LINK = /^(https?:\/\/|mailto:)/i;
// Earliest match wins; each alternative is one inline form.
const INLINE = /(`[^`]+`)|(\*\*[^*]+\*\*)|(\*[^*\s][^*]*\*|_[^_\s][^_]*_)|(\[[^\]]+\]\([^)\s]+\))/;

/** The inline forms of one line of text. */
function inline(text: string, key: string): ReactNode[] {
  const out: ReactNode[] = [];
  let rest = text;
  let n = 0;
  while (rest) {
    const match = INLINE.exec(rest);
    if (!match) {
      out.push(rest);
      break;
    }
    if (match.index > 0) out.push(rest.slice(0, match.index));
    const token = match[0];
    const k = `${key}-${n++}`;
    if (match[1]) out.push(<code key={k}>{token.slice(1, -1)}</code>);
    else if (match[2]) out.push(<strong key={k}>{inline(token.slice(2, -2), k)}</strong>);
    else if (match[3]) out.push(<em key={k}>{inline(token.slice(1, -1), k)}</em>);
    else {
      const [, label, href] = /^\[([^\]]+)\]\(([^)\s]+)\)$/.exec(token) ?? [];
      out.push(
        SAFE_LINK.test(href ?? "") ? (
          <a key={k} href={href} target="_blank" rel="noopener noreferrer">
            {inline(label ?? "", k)}
          </a>
        ) : (
          token
        ),
      );
    }
    rest = rest.slice(match.index + token.length);
  }
  return out;
}

/** Lines joined with line breaks, each with its inline forms. */
function lines(texts: string[], key: string): ReactNode[] {
  return texts.flatMap((text, i) => (i === 0 ? inline(text, `${key}-${i}`) : [<br key={`${key}-br${i}`} />, ...inline(text, `${key}-${i}`)]));
}

/** `source` as React elements. */
export function Markdown({ source }: { source: string }) {
  const blocks: ReactNode[] = [];
  const all = source.replace(/\r\n?/g, "\n").split("\n");
  let i = 0;
  while (i < all.length) {
    const line = all[i];
    const key = `b${i}`;
    if (line.trim() === "") {
      i += 1;
    } else if (line.startsWith("```")) {
      const code: string[] = [];
      i += 1;
      while (i < all.length && !all[i].startsWith("```")) code.push(all[i++]);
      i += 1;
      blocks.push(
        <pre key={key}>
          <code>{code.join("\n")}</code>
        </pre>,
      );
    } else if (/^#{1,3}\s/.test(line)) {
      const level = (/^#+/.exec(line)?.[0].length ?? 1) + 3;
      const Heading = `h${Math.min(level, 6)}` as "h4" | "h5" | "h6";
      blocks.push(<Heading key={key}>{inline(line.replace(/^#+\s+/, ""), key)}</Heading>);
      i += 1;
    } else if (/^\s*([-*]|\d+\.)\s/.test(line)) {
      const ordered = /^\s*\d+\./.test(line);
      const items: string[] = [];
      while (i < all.length && /^\s*([-*]|\d+\.)\s/.test(all[i])) items.push(all[i++].replace(/^\s*([-*]|\d+\.)\s+/, ""));
      const List = ordered ? "ol" : "ul";
      blocks.push(
        <List key={key}>
          {items.map((item, j) => (
            <li key={j}>{inline(item, `${key}-${j}`)}</li>
          ))}
        </List>,
      );
    } else {
      const paragraph: string[] = [];
      while (i < all.length && all[i].trim() !== "" && !/^(```|#{1,3}\s|\s*([-*]|\d+\.)\s)/.test(all[i])) paragraph.push(all[i++]);
      blocks.push(<p key={key}>{lines(paragraph, key)}</p>);
    }
  }
  return <div className="markdown">{blocks}</div>;
}
