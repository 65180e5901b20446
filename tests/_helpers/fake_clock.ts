/**
 * Test helper: a Clock whose time moves only when the test says so, so timeout rules are judged on
 * exact, repeatable times however loaded the machine is.
 */
import type { Clock, Timer } from "../../lib/util/clock.ts";

interface Pending {
  at: number;
  readonly every?: number;
  readonly fn: () => void;
}

/** Lets promise reactions and already-finished I/O callbacks run (one real macrotask turn). */
export function flush(): Promise<void> {
  return new Promise((r) => setTimeout(r, 0));
}

export class FakeClock implements Clock {
  #now = 0;
  readonly #timers = new Set<Pending>();

  now(): number {
    return this.#now;
  }

  timer(fn: () => void, ms: number, opts?: { readonly repeat?: boolean }): Timer {
    const t: Pending = {
      at: this.#now + Math.max(0, ms),
      every: opts?.repeat ? Math.max(1, ms) : undefined,
      fn,
    };
    this.#timers.add(t);
    return { cancel: () => void this.#timers.delete(t) };
  }

  /** Timers still pending (a finished body must leave none). */
  get pending(): number {
    return this.#timers.size;
  }

  /** Moves time forward by `ms`, firing due timers in time order, with a flush after each. */
  async advance(ms: number): Promise<void> {
    const end = this.#now + ms;
    for (;;) {
      let due: Pending | undefined;
      for (const t of this.#timers) if (t.at <= end && (!due || t.at < due.at)) due = t;
      if (!due) break;
      this.#now = due.at;
      if (due.every) due.at += due.every;
      else this.#timers.delete(due);
      due.fn();
      await flush();
    }
    this.#now = end;
    await flush();
  }

  /**
   * Moves time from timer to timer (by `step` when none is pending) until `p` settles, and returns
   * its outcome. Throws when `limit` ms of fake time pass first (the code under test ignores the
   * clock). What the code decides depends only on fake time, so how fast the machine runs between
   * steps cannot change the outcome.
   */
  async settle<T>(p: Promise<T>, step = 10, limit = 3_600_000): Promise<T> {
    let done = false;
    const watched = p.finally(() => done = true);
    watched.catch(() => {});
    const start = this.#now;
    for (;;) {
      await flush();
      if (done) return await watched;
      if (this.#now - start > limit) throw new Error(`still pending after ${limit} ms of fake time`);
      let next: number | undefined;
      for (const t of this.#timers) next = Math.min(next ?? t.at, t.at);
      await this.advance(next === undefined ? step : next - this.#now);
    }
  }
}
