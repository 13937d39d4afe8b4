import { useEffect, useState, useSyncExternalStore } from "react";
import { ApiError, type LiveClient } from "@switchboard/client";

export type Load<T> =
  | { state: "loading" }
  | { state: "error"; message: string }
  | { state: "ready"; data: T };

export function errorText(error: unknown): string {
  if (error instanceof ApiError) return `${error.message} (${error.code})`;
  return error instanceof Error ? error.message : String(error);
}

/** Loads `fetcher` now and whenever `deps` change; keeps the last data while reloading. */
export function useLoad<T>(fetcher: () => Promise<T>, deps: unknown[]): [Load<T>, () => void] {
  const [load, setLoad] = useState<Load<T>>({ state: "loading" });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    fetcher().then(
      (data) => live && setLoad({ state: "ready", data }),
      (error: unknown) => live && setLoad({ state: "error", message: errorText(error) }),
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  return [load, () => setTick((t) => t + 1)];
}

/** Re-renders on every change of the live client; returns a counter that moves with it. */
export function useLive(live: LiveClient): number {
  return useSyncExternalStore(
    (listener) => live.subscribe(listener),
    () => live.version,
  );
}

/** The time now, moving every `everyMs` (waits tick between server updates). */
export function useNow(everyMs = 1_000): number {
  const [now, setNow] = useState(Date.now);
  useEffect(() => {
    const timer = window.setInterval(() => setNow(Date.now()), everyMs);
    return () => window.clearInterval(timer);
  }, [everyMs]);
  return now;
}
