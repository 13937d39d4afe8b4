// The chat panel's styles (the chat chunk). Colours are custom properties so dark mode and the
// site's accent change them in one place; all pairs meet WCAG AA contrast.
/** The panel's CSS. */
export const CHAT_CSS = `.sb{--bg:#fff;--fg:#111;--muted:#555;--line:#ccc;--mine:#e8eefb;--theirs:#f1f1f1;--err:#b00020}
@media (prefers-color-scheme:dark){.sb{--bg:#1c1c1e;--fg:#f2f2f2;--muted:#bbb;--line:#555;--mine:#233a66;--theirs:#2c2c2e;--err:#ff8a80}}
.panel{position:absolute;bottom:72px;right:0;width:min(380px,calc(100vw - 40px));height:min(560px,calc(100vh - 112px));display:flex;flex-direction:column;background:var(--bg);color:var(--fg);border:1px solid var(--line);border-radius:12px;box-shadow:0 6px 30px rgba(0,0,0,.3);overflow:hidden;animation:sb-in .18s ease-out}
.left .panel{right:auto;left:0}
.panel[hidden]{display:none}
@keyframes sb-in{from{opacity:0;transform:translateY(12px)}to{opacity:1;transform:none}}
@media (prefers-reduced-motion:reduce){.panel{animation:none}}
header{display:flex;align-items:center;gap:8px;padding:10px 12px;background:var(--accent);color:var(--on-accent)}
header .who{flex:1;min-width:0}
h2{margin:0;font-size:16px;font-weight:700}
header p{margin:0;font-size:13px}
button{font:inherit;cursor:pointer;border-radius:6px;border:1px solid var(--accent);background:var(--accent);color:var(--on-accent);padding:6px 12px}
button.quiet{background:transparent;color:var(--fg);border-color:var(--line)}
header button{background:transparent;color:var(--on-accent);border-color:currentColor;padding:4px 8px}
button:focus-visible,input:focus-visible,textarea:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
header button:focus-visible{outline-color:var(--on-accent)}
.body{flex:1;overflow:auto;padding:12px;display:flex;flex-direction:column;gap:10px}
.status{margin:0;font-size:14px;color:var(--muted)}
.notice{margin:0;padding:8px 10px;border-left:4px solid var(--accent);background:var(--theirs)}
.error{color:var(--err);margin:0}
.log{display:flex;flex-direction:column;gap:6px;margin:0;padding:0;list-style:none}
.msg{max-width:80%;padding:6px 10px;border-radius:10px;background:var(--theirs);align-self:flex-start;white-space:pre-wrap;overflow-wrap:anywhere}
.msg.mine{background:var(--mine);align-self:flex-end}
.msg small{display:block;color:var(--muted);font-size:12px}
.typing{min-height:1.4em;margin:0;font-size:13px;color:var(--muted)}
form{display:flex;flex-direction:column;gap:8px;margin:0}
label{display:flex;flex-direction:column;gap:2px;font-size:14px}
input,textarea{font:inherit;color:var(--fg);background:var(--bg);border:1px solid var(--muted);border-radius:6px;padding:6px 8px}
textarea{resize:vertical;min-height:2.6em}
.composer{flex-direction:row;align-items:flex-end;padding:8px 12px;border-top:1px solid var(--line)}
.composer textarea{flex:1}
fieldset{border:0;margin:0;padding:0;display:flex;gap:6px;flex-wrap:wrap}
legend{font-weight:700;margin-bottom:6px}
.score{flex-direction:row;align-items:center;gap:4px}
.row{display:flex;gap:8px;flex-wrap:wrap}
ul.history{list-style:none;margin:0;padding:0;display:flex;flex-direction:column;gap:6px}
ul.history li{display:flex;gap:6px;align-items:center;justify-content:space-between;border-bottom:1px solid var(--line);padding-bottom:6px}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
@media (max-width:480px){.panel{position:fixed;inset:0;width:auto;height:auto;border-radius:0;bottom:0}.open .launcher{display:none}}`;
