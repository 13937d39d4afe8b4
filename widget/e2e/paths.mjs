// Where the widget's browser tests find the build and put their screenshots.
import { existsSync, mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const widgetDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const artifacts = join(widgetDir, "artifacts");

export function ensureArtifacts() {
  if (!existsSync(artifacts)) mkdirSync(artifacts, { recursive: true });
  return artifacts;
}
