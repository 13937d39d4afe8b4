// The launcher's styles. `:host { all: initial !important }` cuts every property the page could
// pass down (inherited colours, fonts, `all: unset`): in the shadow tree's own rules `!important`
// wins over the page's, whatever the page's specificity.
/** The launcher's CSS, in the loader. */
export const LAUNCHER_CSS = `:host{all:initial!important;display:block!important}
.sb{position:fixed;bottom:20px;right:20px;z-index:2147483000;font:15px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#111}
.sb.left{right:auto;left:20px}
.launcher{all:initial;box-sizing:border-box;cursor:pointer;width:56px;height:56px;border-radius:50%;background:var(--accent);color:var(--on-accent);display:flex;align-items:center;justify-content:center;box-shadow:0 2px 10px rgba(0,0,0,.3);position:relative}
.launcher:focus-visible{outline:3px solid var(--accent);outline-offset:3px}
.badge{all:initial;position:absolute;top:-4px;right:-4px;min-width:20px;height:20px;padding:0 5px;box-sizing:border-box;border-radius:10px;background:#b00020;color:#fff;font:700 12px/20px system-ui,sans-serif;text-align:center}
.badge[hidden]{display:none}`;
