// Telling an agent about a conversation that just became theirs while they look elsewhere: a
// desktop notification (once they allowed them), an optional short sound, and the page title's
// count of unread messages.

const SOUND_KEY = "switchboard.sound";

/** Whether the agent asked for a sound with each new conversation (kept in this browser). */
export function soundWanted(): boolean {
  return localStorage.getItem(SOUND_KEY) === "on";
}

export function setSoundWanted(on: boolean): void {
  localStorage.setItem(SOUND_KEY, on ? "on" : "off");
}

/** A short two-tone chime, made with Web Audio (no file to load). */
function chime(): void {
  const Context = window.AudioContext;
  if (!Context) return;
  const audio = new Context();
  for (const [index, frequency] of [660, 880].entries()) {
    const tone = audio.createOscillator();
    const gain = audio.createGain();
    tone.frequency.value = frequency;
    gain.gain.value = 0.08;
    tone.connect(gain).connect(audio.destination);
    const start = audio.currentTime + index * 0.15;
    tone.start(start);
    tone.stop(start + 0.12);
  }
  window.setTimeout(() => void audio.close(), 600);
}

/** Whether this browser can show desktop notifications, and what the agent decided. */
export function notificationPermission(): NotificationPermission | "unsupported" {
  return "Notification" in window ? Notification.permission : "unsupported";
}

/** Announces a conversation: a desktop notification (when allowed) and the sound (when wanted). */
export function announce(title: string, body: string, tag: string, onOpen: () => void): void {
  if (notificationPermission() === "granted") {
    const notification = new Notification(title, { body, tag });
    notification.onclick = () => {
      window.focus();
      onOpen();
      notification.close();
    };
  }
  if (soundWanted()) chime();
}

/** The page title with the unread count in front, as mail and chat apps show it. */
export function titleWithCount(count: number): string {
  return count > 0 ? `(${count}) Switchboard` : "Switchboard";
}
