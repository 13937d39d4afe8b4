// The loader: the one script a site embeds. It reads its `data-*` attributes, draws the launcher
// in a shadow root (the page's CSS cannot reach in, ours cannot leak out) and loads the chat UI
// chunk only when the visitor opens it, or at once when this browser has a conversation going
// (so its unread badge works on every page). `window.Switchboard` lets the page open, close,
// identify its signed-in user and forget them when they sign out.
import { open as enOpen } from "./locales/en.json";
import { open as esOpen } from "./locales/es.json";
import { DEFAULT_COLOUR, pickLocale, readConfig, textOn, type WidgetConfig } from "./config";
import { LAUNCHER_CSS } from "./launcher-css";

/** What the chat chunk gets from the loader. */
export interface LoaderContext {
  config: WidgetConfig;
  shadow: ShadowRoot;
  root: HTMLElement;
  launcher: HTMLButtonElement;
  badge: HTMLElement;
}

/** What the chat chunk gives back. */
export interface ChatWidget {
  open(): void;
  close(): void;
  identify(identity: Identity): Promise<void>;
  logout(): Promise<void>;
}

/** A signed identity made by the site's backend. */
export type Identity = { user_id: string; signature: string } | { identity_token: string };

/** The chat chunk's module. */
export interface ChatModule {
  start(context: LoaderContext): ChatWidget;
}

const ICON =
  '<svg viewBox="0 0 24 24" width="28" height="28" aria-hidden="true" focusable="false"><path fill="currentColor" d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z"/></svg>';

function boot(script: HTMLScriptElement, config: WidgetConfig): void {
  const host = document.createElement("div");
  host.setAttribute("data-switchboard-widget", "");
  const shadow = host.attachShadow({ mode: "open" });
  const colour = config.colour ?? DEFAULT_COLOUR;
  shadow.innerHTML = `<style>${LAUNCHER_CSS}</style><div class="sb ${config.position === "left" ? "left" : "right"}" style="--accent:${colour};--on-accent:${textOn(colour)}"><button class="launcher" type="button" aria-haspopup="dialog" aria-expanded="false">${ICON}<span class="badge" hidden></span></button></div>`;
  const root = shadow.querySelector<HTMLElement>(".sb")!;
  const launcher = shadow.querySelector<HTMLButtonElement>(".launcher")!;
  const badge = shadow.querySelector<HTMLElement>(".badge")!;
  launcher.setAttribute("aria-label", pickLocale(config.locale, undefined, navigator.language) === "es" ? esOpen : enOpen);
  document.body.appendChild(host);

  let widget: Promise<ChatWidget> | undefined;
  const chat = () =>
    (widget ??= (import(new URL("chat.js", script.src).href) as Promise<ChatModule>).then(
      (module) => module.start({ config, shadow, root, launcher, badge }),
      (error: unknown) => {
        // Offline at the first click: the next one loads it again.
        widget = undefined;
        throw error;
      },
    ));
  launcher.addEventListener("click", () => {
    chat().then(
      (w) => (launcher.getAttribute("aria-expanded") === "true" ? w.close() : w.open()),
      // The chat UI could not be loaded: nothing opens, and the next click tries again.
      () => undefined,
    );
  });
  (window as unknown as { Switchboard: unknown }).Switchboard = {
    open: () => chat().then((w) => w.open()),
    close: () => chat().then((w) => w.close()),
    identify: (identity: Identity) => chat().then((w) => w.identify(identity)),
    logout: () => chat().then((w) => w.logout()),
  };
  try {
    if (localStorage.getItem(`switchboard:${config.site}:session`)) void chat();
  } catch {
    // Storage blocked: nothing to resume.
  }
}

const script = document.currentScript as HTMLScriptElement | null;
const config = script && readConfig(script.dataset, script.src);
// A page that includes the tag twice still gets one widget.
if (script && config && !document.querySelector("[data-switchboard-widget]")) {
  if (document.body) boot(script, config);
  else document.addEventListener("DOMContentLoaded", () => boot(script, config));
}
