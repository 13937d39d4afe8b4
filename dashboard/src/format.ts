import type { Schemas } from "@switchboard/client";

/** What an e-mail to the customer became, in words: opening is not tracked (no tracking pixels). */
export const EMAIL_STATUS: Record<Schemas["SentStatus"], string> = {
  sending: "sending",
  sent: "sent",
  refused: "not sent (refused by the mail service)",
  delivered: "delivered",
  bounced: "bounced",
  complained: "marked as spam",
};

export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return "—";
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  return `${Math.floor(m / 60)}h ${m % 60}m`;
}

export function time(iso: string | null | undefined): string {
  if (!iso) return "—";
  return new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

export function number(value: number | null | undefined, digits = 0): string {
  return value === null || value === undefined ? "—" : value.toFixed(digits);
}
