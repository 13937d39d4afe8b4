// What the embedding page says in the script tag, and the pure rules both chunks share.
import type en from "./locales/en.json";

/** The strings of one language (keys of the English file). */
export type Strings = typeof en;

/** The script tag's settings: `data-site`, `data-api`, and the optional look. */
export interface WidgetConfig {
  site: string;
  /** The API's origin (the script's own origin by default). */
  api: string;
  /** The WebSocket API's URL when it is not `/ws` on the API's origin (AWS). */
  ws?: string;
  colour?: string;
  position?: "left" | "right";
  greeting?: string;
  locale?: "en" | "es";
  /** The loader's URL: the chat chunk is loaded from beside it. */
  base: string;
}

/** The `data-*` attributes of the script tag as a config; undefined without `data-site`. */
export function readConfig(dataset: DOMStringMap, src: string): WidgetConfig | undefined {
  if (!dataset.site) return undefined;
  return {
    site: dataset.site,
    api: dataset.api || new URL(src).origin,
    ws: dataset.ws || undefined,
    colour: validColour(dataset.colour),
    position: dataset.position === "left" ? "left" : dataset.position === "right" ? "right" : undefined,
    greeting: dataset.greeting || undefined,
    locale: dataset.locale === "es" || dataset.locale === "en" ? dataset.locale : undefined,
    base: src,
  };
}

/** A `#rgb` / `#rrggbb` colour, else undefined (anything else could inject CSS). */
export function validColour(value: string | undefined): string | undefined {
  return value && /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.test(value) ? value : undefined;
}

/** The language to speak: the tag's, else the site's, else the browser's when Spanish. */
export function pickLocale(tag: string | undefined, site: string | undefined, browser: string): "en" | "es" {
  const chosen = tag ?? site;
  if (chosen === "es" || chosen === "en") return chosen;
  return browser.toLowerCase().startsWith("es") ? "es" : "en";
}

/** `{name}` placeholders filled. */
export function fill(template: string, values: Record<string, string | number>): string {
  return template.replace(/\{(\w+)\}/g, (_, key: string) => String(values[key] ?? ""));
}

/**
 * Black or white, whichever reads better on `background` (WCAG relative luminance), so any
 * brand colour keeps the launcher's and buttons' text at AA contrast.
 */
export function textOn(background: string): "#000" | "#fff" {
  const hex = background.length === 4 ? background.replace(/[0-9a-f]/gi, (c) => c + c).slice(1) : background.slice(1);
  const [r, g, b] = [0, 2, 4].map((i) => {
    const c = parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  const luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b;
  // Contrast with white (1.05 / (L + 0.05)) against contrast with black ((L + 0.05) / 0.05).
  return 1.05 / (luminance + 0.05) >= (luminance + 0.05) / 0.05 ? "#fff" : "#000";
}

/** The accent when neither the tag nor the site gives one (AA with white text). */
export const DEFAULT_COLOUR = "#1f5fbf";
