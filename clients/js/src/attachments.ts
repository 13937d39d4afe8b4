// Attachments: ask the API for an upload, post the file straight to the bucket with the signed
// form (with progress), and get short-lived links to open a checked file or its thumbnail.
import { Api, ApiError, type Schemas } from "./api.js";

/** A file attached to a session: `pending` until checked, then `ready` or `rejected`. */
export type Attachment = Schemas["Attachment"];
/** An attachment and the signed form that uploads its file. */
export type Upload = Schemas["Upload"];
/** A 5-minute link to an attachment (and its thumbnail, for images). */
export type AttachmentLink = Schemas["AttachmentLink"];
/** The content types the API accepts. */
export type AttachmentType = Schemas["AttachmentType"];

const BY_EXTENSION: Record<string, AttachmentType> = {
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
  pdf: "application/pdf",
  txt: "text/plain",
  csv: "text/csv",
  log: "text/x-log",
  zip: "application/zip",
};
const ACCEPTED = new Set<string>(Object.values(BY_EXTENSION));

/**
 * The type to declare for a file: the browser's when the API accepts it, else by its name's
 * ending (browsers give `.log` files no type); undefined for a file the API refuses.
 */
export function attachmentType(file: { name: string; type: string }): AttachmentType | undefined {
  if (ACCEPTED.has(file.type)) return file.type as AttachmentType;
  const ending = file.name.toLowerCase().split(".").pop() ?? "";
  return BY_EXTENSION[ending];
}

/** Posts a signed upload form and then the file (S3's browser upload), reporting progress. */
export function postUploadForm(
  form: Upload["upload"],
  file: Blob,
  onProgress?: (fraction: number) => void,
): Promise<void> {
  const body = new FormData();
  for (const [name, value] of Object.entries(form.fields)) body.append(name, value);
  body.append("file", file);
  return new Promise((resolve, reject) => {
    // XMLHttpRequest, not fetch: only it reports an upload's progress.
    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.url);
    xhr.upload.onprogress = (event) => onProgress?.(event.total > 0 ? event.loaded / event.total : 0);
    xhr.onload = () =>
      xhr.status >= 200 && xhr.status < 300
        ? resolve()
        : reject(new ApiError(xhr.status, "upload_refused", `the bucket refused the upload (${xhr.status})`));
    xhr.onerror = () => reject(new ApiError(0, "upload_failed", "the upload did not reach the bucket"));
    xhr.send(body);
  });
}

/**
 * Uploads a file to a session: asks for the upload (the API's 422 for a refused type or size
 * rejects it), then posts the file to the bucket. Resolves to the attachment, still `pending`:
 * its `attachment.updated` frame says when it is checked.
 */
export async function uploadAttachment(
  api: Api,
  sessionId: string,
  file: File,
  onProgress?: (fraction: number) => void,
): Promise<Attachment> {
  const contentType = attachmentType(file);
  if (!contentType) throw new ApiError(422, "attachment_type_not_allowed", `${file.name}: this type of file is not accepted`);
  const upload = await api.post("/chat/sessions/{id}/attachments", {
    path: { id: sessionId },
    body: { file_name: file.name || "pasted.png", content_type: contentType, size: file.size },
  });
  await postUploadForm(upload.upload, file, onProgress);
  return upload.attachment;
}

/** A 5-minute link to a checked attachment (409 `attachment_not_ready` while it is checked). */
export function attachmentLink(api: Api, sessionId: string, attachmentId: string): Promise<AttachmentLink> {
  return api.get("/chat/sessions/{id}/attachments/{attachment_id}", { path: { id: sessionId, attachment_id: attachmentId } });
}
