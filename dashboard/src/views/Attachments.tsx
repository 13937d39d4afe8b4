// Attachments in the agent console: paste, drop or pick files to upload (with progress and
// their check's outcome), and each message's files as thumbnails that open in a new tab.
import { useEffect, useState } from "react";
import { ApiError, attachmentLink, uploadAttachment, type Api, type Attachment, type LiveClient, type Message } from "@switchboard/client";
import { errorText } from "../hooks";

/** A file being uploaded or waiting to be sent. */
export interface PendingFile {
  key: string;
  name: string;
  /** 0 to 1 while the file goes to the bucket. */
  progress: number;
  attachment?: Attachment;
  error?: string;
}

/** The checks' outcome of the session's attachments, kept current by `attachment.updated`. */
export function useAttachmentStates(live: LiveClient): Map<string, Attachment> {
  const [states, setStates] = useState(() => new Map<string, Attachment>());
  useEffect(
    () =>
      live.onFrame((frame) => {
        if (frame.type !== "attachment.updated") return;
        setStates((held) => new Map(held).set(frame.attachment.id, frame.attachment));
      }),
    [live],
  );
  return states;
}

/** Uploads for the next message: add files (pasted, dropped, picked), then take their ids. */
export function useUploads(api: Api, sessionId: string) {
  const [files, setFiles] = useState<PendingFile[]>([]);
  const update = (key: string, change: Partial<PendingFile>) =>
    setFiles((held) => held.map((file) => (file.key === key ? { ...file, ...change } : file)));
  const add = (picked: Iterable<File>) => {
    for (const file of picked) {
      const key = `${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
      setFiles((held) => [...held, { key, name: file.name || "pasted image", progress: 0 }]);
      uploadAttachment(api, sessionId, file, (progress) => update(key, { progress }))
        .then((attachment) => update(key, { attachment, progress: 1 }))
        .catch((caught: unknown) => update(key, { error: errorText(caught) }));
    }
  };
  const ready = files.filter((file) => file.attachment).map((file) => file.attachment!.id);
  const busy = files.some((file) => !file.attachment && !file.error);
  return { files, add, ready, busy, clear: () => setFiles([]), remove: (key: string) => setFiles((held) => held.filter((f) => f.key !== key)) };
}

/** The files of the next message: progress, the check's outcome, a way to take one back. */
export function UploadTray({ files, states, onRemove }: { files: PendingFile[]; states: Map<string, Attachment>; onRemove: (key: string) => void }) {
  if (files.length === 0) return null;
  return (
    <ul className="uploads" aria-label="Files to send">
      {files.map((file) => {
        const state = file.attachment ? (states.get(file.attachment.id) ?? file.attachment) : undefined;
        return (
          <li key={file.key} data-upload={file.name}>
            <span>{file.name}</span>{" "}
            {file.error ? (
              <span className="error" role="alert">{file.error}</span>
            ) : state ? (
              <span className="small">{statusText(state)}</span>
            ) : (
              <progress max={1} value={file.progress} aria-label={`Uploading ${file.name}`} />
            )}{" "}
            <button type="button" className="link" onClick={() => onRemove(file.key)} aria-label={`Remove ${file.name}`}>
              Remove
            </button>
          </li>
        );
      })}
    </ul>
  );
}

function statusText(attachment: Attachment): string {
  switch (attachment.status) {
    case "pending":
      return "Checking…";
    case "ready":
      return "Ready";
    case "rejected":
      return `Rejected (${(attachment.reason ?? "refused").replace("_", " ")})`;
  }
}

/** The files pasted (a screenshot) or dropped on the composer. */
export function filesOf(data: DataTransfer | null): File[] {
  return data ? Array.from(data.files) : [];
}

/** A message's files: thumbnails of checked images, names of the others; each opens in a new tab. */
export function MessageAttachments({ api, sessionId, message, states }: { api: Api; sessionId: string; message: Message; states: Map<string, Attachment> }) {
  if (!message.attachments || message.attachments.length === 0) return null;
  return (
    <ul className="attachments" aria-label="Attachments">
      {message.attachments.map((file) => (
        <AttachmentItem key={file.id} api={api} sessionId={sessionId} id={file.id} name={file.file_name} state={states.get(file.id)} />
      ))}
    </ul>
  );
}

function AttachmentItem({ api, sessionId, id, name, state }: { api: Api; sessionId: string; id: string; name: string; state?: Attachment }) {
  const [thumbnail, setThumbnail] = useState<string>();
  const [note, setNote] = useState<string>();
  useEffect(() => {
    let gone = false;
    attachmentLink(api, sessionId, id)
      .then((link) => {
        if (gone) return;
        setThumbnail(link.thumbnail_url ?? undefined);
        setNote(undefined);
      })
      .catch((caught: unknown) => {
        if (gone) return;
        const code = caught instanceof ApiError ? caught.code : "";
        setNote(code === "attachment_not_ready" ? "Checking…" : code === "attachment_rejected" ? "Rejected" : errorText(caught));
      });
    return () => {
      gone = true;
    };
  }, [api, sessionId, id, state?.status]);
  const open = async () => {
    // A tab opened now, before the link arrives, is not blocked as a pop-up.
    const tab = window.open("", "_blank");
    try {
      const link = await attachmentLink(api, sessionId, id);
      if (tab) {
        tab.opener = null;
        tab.location.href = link.url;
      }
    } catch (caught) {
      tab?.close();
      setNote(errorText(caught));
    }
  };
  return (
    <li data-attachment={id}>
      <button type="button" className="attachment" onClick={() => void open()} disabled={note !== undefined} aria-label={`Open ${name}`}>
        {thumbnail ? <img src={thumbnail} alt={name} /> : <span>📎 {name}</span>}
      </button>
      {note && <span className="small"> {note}</span>}
    </li>
  );
}
