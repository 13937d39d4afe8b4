// Screenshots and files in the widget: pasted or dropped on the composer, uploaded straight to
// the bucket with the signed form (progress shown), sent as a message of their own; a message's
// files open in a new tab. Loaded with the chat chunk, never with the loader.
import { type Api, type Message, attachmentLink, uploadAttachment } from "@switchboard/client";
import { fill, type Strings } from "./config";

/** A message's files, as buttons that open each in a new tab. */
export function attachmentList(api: Api, sessionId: string, message: Message, t: Strings, h: (tag: "ul" | "li" | "button", attrs: Record<string, string>, ...children: (Node | string)[]) => HTMLElement): Node {
  const items = (message.attachments ?? []).map((file) => {
    const open = h("button", { type: "button", class: "quiet", "aria-label": fill(t.openFile, { name: file.file_name }) }, `📎 ${file.file_name}`);
    open.addEventListener("click", () => {
      // A tab opened now, before the link arrives, is not blocked as a pop-up.
      const tab = window.open("", "_blank");
      attachmentLink(api, sessionId, file.id).then(
        (link) => {
          if (tab) {
            tab.opener = null;
            tab.location.href = link.url;
          }
        },
        () => tab?.close(),
      );
    });
    return h("li", {}, open);
  });
  return h("ul", { class: "files" }, ...items);
}

/** What pasting or dropping files on the composer needs. */
export interface UploadTarget {
  api: Api;
  composer: HTMLElement;
  sessionId: () => string | undefined;
  t: Strings;
  /** Shows progress and refusals (empty text hides it). */
  say: (text: string) => void;
  /** The sent message, to show it at once. */
  sent: (sessionId: string, message: Message) => void;
}

/** Uploads every file pasted or dropped on the composer and sends each as a message. */
export function acceptFiles(target: UploadTarget): void {
  const { api, composer, t, say } = target;
  const send = async (file: File): Promise<void> => {
    const sessionId = target.sessionId();
    if (!sessionId) return;
    const name = file.name || "screenshot.png";
    try {
      const attachment = await uploadAttachment(api, sessionId, file, (fraction) =>
        say(fill(t.uploading, { name, percent: Math.round(fraction * 100) })),
      );
      const message = await api.post("/chat/messages", { body: { session_id: sessionId, attachments: [attachment.id] } });
      say("");
      target.sent(sessionId, message);
    } catch (error) {
      say(fill(t.fileRefused, { name, reason: error instanceof Error ? error.message : String(error) }));
    }
  };
  const take = (files: FileList | undefined | null, event: Event): void => {
    if (!files || files.length === 0) return;
    event.preventDefault();
    for (const file of Array.from(files)) void send(file);
  };
  composer.addEventListener("paste", (event) => take((event as ClipboardEvent).clipboardData?.files, event));
  composer.addEventListener("dragover", (event) => event.preventDefault());
  composer.addEventListener("drop", (event) => take((event as DragEvent).dataTransfer?.files, event));
}
