/**
 * Time as timeouts see it, behind an interface so tests drive timeouts on a fake clock instead of
 * racing the real one (a loaded machine stretches real waits arbitrarily).
 */

/** A pending timer; `cancel()` is idempotent. */
export interface Timer {
  cancel(): void;
}

/** A monotonic clock with timers. */
export interface Clock {
  /** Milliseconds on a monotonic scale: only differences mean anything. */
  now(): number;
  /**
   * Calls `fn` after `ms`, or every `ms` with `repeat`. `unref`: the timer does not keep the
   * process alive (a watchdog must not delay exit).
   */
  timer(fn: () => void, ms: number, opts?: { readonly repeat?: boolean; readonly unref?: boolean }): Timer;
}

/** The real clock: `performance.now()` (immune to wall-clock steps) and the runtime's timers. */
export const systemClock: Clock = {
  now: () => performance.now(),
  timer(fn, ms, opts) {
    const id = opts?.repeat ? setInterval(fn, ms) : setTimeout(fn, ms);
    if (opts?.unref) Deno.unrefTimer(id);
    return { cancel: () => clearTimeout(id) };
  },
};

/** Waits `ms` on `clock`; rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal, clock: Clock = systemClock): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      t.cancel();
      reject(signal!.reason);
    };
    const t = clock.timer(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
