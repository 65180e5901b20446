/**
 * The reader/writer lock of one OCI layout, `<dir>/.stacker-layout.lock`: processes that store
 * blobs and tag them (build, publish, copy) hold it shared for as long as they write, `gc` holds it
 * exclusively. One instance per `OciLayout`: its shared hold is counted, so one fd serves every
 * concurrent user in the process.
 */
import { join } from "../util/path.ts";
import { OciError } from "../util/errors.ts";
import { acquireFileLock, describeHolder, type HeldLock, type LockHolder } from "./file_lock.ts";
import type { LayoutHold } from "./layout_store.ts";

const LAYOUT_LOCK = ".stacker-layout.lock";
/** A writer may wait for a long gc, and gc for long builds: an hour unless told otherwise. */
const DEFAULT_LAYOUT_LOCK_MS = 3_600_000;

/** How long and how visibly to wait for the layout lock. */
export interface LayoutLockOptions {
  /** Upper bound on waiting (default 1 hour). */
  readonly timeoutMs?: number;
  /** Called when the lock is busy and we start waiting, and whenever its holder changes. */
  readonly onWait?: (holder: LockHolder | undefined, path: string) => void;
}

export interface HoldOptions extends LayoutLockOptions {
  /**
   * For readers: never create the lock file, and go on without the lock when there is none or it
   * cannot be opened (a base image layout nobody writes with stacker, or one we may not write).
   */
  readonly bestEffort?: boolean;
}

export type { LayoutHold };

export class LayoutLock {
  readonly #dir: string;
  readonly #defaults: LayoutLockOptions;
  /** This instance's shared hold: one fd, counted users. */
  #held?: { count: number; lock: Promise<HeldLock | undefined> };

  constructor(dir: string, defaults: LayoutLockOptions = {}) {
    this.#dir = dir;
    this.#defaults = defaults;
  }

  /** Takes (or joins) this instance's shared hold; released when every user released it. */
  async hold(opts: HoldOptions = {}): Promise<LayoutHold> {
    let h = this.#held;
    if (!h) {
      const lock = this.#acquire(false, opts, opts.bestEffort).catch((err) => {
        if (opts.bestEffort && isNotWritable(err)) return undefined;
        throw err;
      });
      h = this.#held = { count: 0, lock };
    }
    const held = h;
    held.count++;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      if (--held.count > 0) return;
      if (this.#held === held) this.#held = undefined;
      held.lock.then((l) => l?.release(), () => {});
    };
    try {
      await held.lock;
    } catch (err) {
      release();
      throw err;
    }
    return { release, [Symbol.asyncDispose]: () => Promise.resolve(release()) };
  }

  /**
   * The exclusive lock, waited for (bounded by the timeout). OciError `oci.busy` when this instance
   * holds the layout itself (it would wait for itself).
   */
  async exclusive(opts: LayoutLockOptions = {}): Promise<HeldLock> {
    if (this.#held) {
      throw new OciError(`Cannot lock "${this.#dir}" exclusively while holding it`, { code: "oci.busy" });
    }
    return await this.#acquire(true, opts);
  }

  /** The exclusive lock if it is free now, else `{ busy }` naming a holder. */
  async tryExclusive(): Promise<HeldLock | { busy: string }> {
    try {
      return await this.exclusive({ timeoutMs: 0 });
    } catch (err) {
      if (!(err instanceof OciError && err.code === "oci.locked")) throw err;
      const pid = err.context.pid;
      return { busy: describeHolder(typeof pid === "number" ? { pid, cmdline: "" } : undefined) };
    }
  }

  #acquire(exclusive: boolean, opts: LayoutLockOptions, readOnly = false): Promise<HeldLock> {
    return acquireFileLock(join(this.#dir, LAYOUT_LOCK), {
      readOnly,
      what: `the OCI layout "${this.#dir}"`,
      exclusive,
      timeoutMs: opts.timeoutMs ?? this.#defaults.timeoutMs ?? DEFAULT_LAYOUT_LOCK_MS,
      onWait: opts.onWait ?? this.#defaults.onWait,
    });
  }
}

function isNotWritable(err: unknown): boolean {
  return err instanceof Deno.errors.PermissionDenied || err instanceof Deno.errors.NotFound ||
    err instanceof Deno.errors.NotCapable;
}
