/**
 * What outlives one layer when several are applied to a rootfs in a row: the resolver (its cache
 * of verified directories), the filesystem operations chosen for the session, the directory
 * metadata deferred to the end, and the names written so far.
 */
import { LayerError } from "../util/errors.ts";
import { RootResolver } from "./_secure_join.ts";
import { type FsOps, fsOpsFor } from "./fs_ops.ts";

interface DirMeta {
  mode: number;
  mtime: number;
}

export class UnpackSession {
  readonly resolver: RootResolver;
  readonly ops: FsOps;
  /** The process umask, or "everything" (always chmod) where reading it is not permitted. */
  readonly umask: number;
  /** Directory mode/mtime, applied deepest-first once everything inside is written. */
  readonly #dirs = new Map<string, DirMeta>();
  /** Every name this session created (removed names may linger: they only cost an lstat). */
  readonly written = new Set<string>();
  /** Uncompressed bytes of the layers applied so far (the image budget). */
  imageBytes = 0;

  private constructor(rootfs: string, ops: FsOps) {
    this.resolver = new RootResolver(rootfs);
    this.ops = ops;
    this.umask = currentUmask();
  }

  /**
   * A session on `rootfs`, created when missing; refuses a root that is not a real directory.
   * `rootless` picks the filesystem operations (default: by the effective uid).
   */
  static async open(rootfs: string, rootless: boolean | undefined): Promise<UnpackSession> {
    await Deno.mkdir(rootfs, { recursive: true, mode: 0o755 });
    const st = await Deno.lstat(rootfs);
    if (!st.isDirectory) {
      throw new LayerError(`Cannot unpack into "${rootfs}": not a directory`, {
        code: "layer.root-type",
        context: { rootfs },
      });
    }
    return new UnpackSession(rootfs, fsOpsFor(rootless));
  }

  /** Records the mode and mtime a directory gets at the end (it stays writable until then). */
  deferDir(rel: string, mode: number, mtime: number): void {
    this.#dirs.set(rel, { mode, mtime });
  }

  /** Applies deferred directory metadata, deepest first; only to directories still known to be real. */
  finish(): void {
    const rels = [...this.#dirs.keys()].sort((a, b) => depth(b) - depth(a));
    for (const rel of rels) {
      if (!this.resolver.isKnownDir(rel)) continue;
      const m = this.#dirs.get(rel)!;
      const host = this.resolver.host(rel);
      this.ops.chmod(host, m.mode);
      this.ops.setTimes(host, m.mtime);
    }
    this.#dirs.clear();
  }
}

function depth(rel: string): number {
  let n = 0;
  for (let i = 0; i < rel.length; i++) if (rel.charCodeAt(i) === 47) n++;
  return rel === "" ? -1 : n;
}

function currentUmask(): number {
  try {
    return Deno.umask();
  } catch {
    return 0o7777;
  }
}
