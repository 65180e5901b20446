/**
 * The `copy` storage backend: plain directories under the roots dir, copied with
 * `cp -a --reflink=auto` (a reflink clone where the filesystem allows, a full copy otherwise), so
 * it works on any filesystem, tmpfs included. Diffs are tree pairs (base, rootfs).
 *
 * Layout under the roots dir:
 *   .storage.lock             flock for every mutation (never unlinked); `.lock` is the
 *                             build's own lock, held for a whole command (lib/builder/lock.ts)
 *   chains/<key>/rootfs       an unpacked base chain; <key> = sha256 of the chain's digests
 *   work/<name>/rootfs        the writable rootfs of a layer being built; work/<name>/base names its base
 *   built/<name>/rootfs       committed layers, the start of `built` children
 *   tmp/…                     throw-away snapshots and half-made chains (removed on open)
 * A chain is made in tmp/ and renamed into place, so a crash never leaves a half-unpacked chain.
 */
import { createHash } from "node:crypto";
import { StorageError } from "../util/errors.ts";
import { checkName, exists, realDirs, STORAGE_LOCK, swapIntoPlace } from "./_dirs.ts";
import type { Logger } from "../util/log.ts";
import type { Digest } from "../oci/types.ts";
import { withFileLock } from "../oci/mod.ts";
import type { BaseRef, Snapshot, Storage, UnpackFn } from "./types.ts";
import { createSubvolume, destroySubvolume, isSubvolume, setReadonly, snapshot } from "../ffi/btrfs.ts";

export type { BaseRef, Snapshot, UnpackFn } from "./types.ts";

async function run(argv: string[], what: string): Promise<void> {
  const out = await new Deno.Command(argv[0], { args: argv.slice(1), stdout: "null", stderr: "piped" })
    .output();
  if (!out.success) {
    throw new StorageError(`Cannot ${what}: ${new TextDecoder().decode(out.stderr).trim()}`, {
      code: "storage.command",
      context: { command: argv.join(" ") },
    });
  }
}

/** Copies the tree `src` to the new path `dest` keeping owners, modes, xattrs, hardlinks and times. */
export async function copyTree(src: string, dest: string): Promise<void> {
  await run(["cp", "-a", "--reflink=auto", "--no-target-directory", src, dest], `copy "${src}" to "${dest}"`);
}

/** Removes a tree; directories without write permission are made writable first. */
export async function removeTree(path: string): Promise<void> {
  if (!(await exists(path))) return;
  try {
    await Deno.remove(path, { recursive: true });
  } catch {
    await run(["chmod", "-R", "u+rwx", path], `make "${path}" removable`);
    await Deno.remove(path, { recursive: true });
  }
}

/**
 * How a backend of plain trees makes, clones, freezes and removes a rootfs: directories and
 * `cp -a --reflink=auto` for "copy", subvolumes and snapshots for "btrfs".
 */
export interface TreeOps {
  readonly kind: "copy" | "btrfs";
  empty(path: string): Promise<void>;
  clone(src: string, dest: string): Promise<void>;
  /** Makes a finished tree immutable where the backend can (read-only subvolume). */
  freeze(path: string): Promise<void>;
  /** Removes a path that may hold rootfs trees a few levels down. */
  remove(path: string): Promise<void>;
}

export const copyOps: TreeOps = {
  kind: "copy",
  empty: (p) => Deno.mkdir(p),
  clone: copyTree,
  freeze: () => Promise.resolve(),
  remove: removeTree,
};

/** Destroys the subvolumes found within `depth` levels of `path`, then removes what is left. */
async function removeWithSubvolumes(path: string, depth = 3): Promise<void> {
  if (isSubvolume(path)) return destroySubvolume(path);
  let st: Deno.FileInfo;
  try {
    st = await Deno.lstat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return;
    throw e;
  }
  if (st.isDirectory && depth > 0) {
    for await (const e of Deno.readDir(path)) {
      if (e.isDirectory) await removeWithSubvolumes(`${path}/${e.name}`, depth - 1);
    }
  }
  await removeTree(path);
}

/** btrfs: a subvolume per chain, a writable snapshot per build, read-only once finished. */
export const btrfsOps: TreeOps = {
  kind: "btrfs",
  empty: (p) => Promise.resolve(createSubvolume(p)),
  clone: (src, dest) => Promise.resolve(snapshot(src, dest, { readonly: false })),
  freeze: (p) => Promise.resolve(setReadonly(p, true)),
  remove: (p) => removeWithSubvolumes(p),
};

/** The key of a chain prefix: one directory per distinct stack of layers. */
export function chainKey(chain: readonly Digest[]): string {
  return createHash("sha256").update(chain.join("\n")).digest("hex");
}

export class CopyStorage implements Storage {
  readonly kind: "copy" | "btrfs";
  readonly #root: string;
  readonly #log: Logger;
  readonly #ops: TreeOps;
  /** How many layers this instance unpacked (for tests and the "unpack once" promise). */
  unpacked = 0;

  private constructor(root: string, log: Logger, ops: TreeOps) {
    this.#root = root;
    this.#log = log;
    this.#ops = ops;
    this.kind = ops.kind;
  }

  static async open(rootsDir: string, log: Logger, ops: TreeOps = copyOps): Promise<CopyStorage> {
    await realDirs(rootsDir, ["chains", "work", "built", "tmp"]);
    const s = new CopyStorage(rootsDir, log, ops);
    await s.#locked(async () => {
      // Leftovers of killed runs: half-made chains and throw-away snapshots.
      for await (const e of Deno.readDir(`${rootsDir}/tmp`)) await ops.remove(`${rootsDir}/tmp/${e.name}`);
    });
    return s;
  }

  #locked<T>(fn: () => Promise<T>): Promise<T> {
    return withFileLock(`${this.#root}/${STORAGE_LOCK}`, fn, {
      wait: true,
      what: `roots dir "${this.#root}"`,
    });
  }

  async #tmpDir(prefix: string): Promise<string> {
    return await Deno.makeTempDir({ dir: `${this.#root}/tmp`, prefix });
  }

  chainPath(chain: readonly Digest[]): string {
    return `${this.#root}/chains/${chainKey(chain)}/rootfs`;
  }

  async ensureLayers(chain: readonly Digest[], unpack: UnpackFn): Promise<void> {
    await this.#locked(async () => {
      for (let i = 0; i < chain.length; i++) {
        const prefix = chain.slice(0, i + 1);
        const dest = `${this.#root}/chains/${chainKey(prefix)}`;
        if (await exists(dest)) continue;
        const tmp = await this.#tmpDir("chain-");
        try {
          if (i === 0) await this.#ops.empty(`${tmp}/rootfs`);
          else await this.#ops.clone(this.chainPath(chain.slice(0, i)), `${tmp}/rootfs`);
          await unpack(`${tmp}/rootfs`, "apply", i);
          this.unpacked++;
          await this.#ops.freeze(`${tmp}/rootfs`);
          await Deno.rename(tmp, dest);
        } catch (e) {
          await this.#ops.remove(tmp);
          throw e;
        }
        this.#log.debug(`unpacked layer ${chain[i]} into chain ${chainKey(prefix).slice(0, 12)}`);
      }
    });
  }

  async #basePath(base: BaseRef): Promise<string> {
    if ("chain" in base) {
      if (base.chain.length === 0) return await this.#emptyDir();
      const p = this.chainPath(base.chain);
      if (!(await exists(p))) {
        throw new StorageError("Cannot prepare a rootfs: its base layers are not unpacked", {
          code: "storage.missing-chain",
          context: { key: chainKey(base.chain) },
        });
      }
      return p;
    }
    if ("built" in base) {
      checkName(base.built);
      const p = `${this.#root}/built/${base.built}/rootfs`;
      if (!(await exists(p))) {
        throw new StorageError(`Cannot start from layer "${base.built}": it has not been built`, {
          code: "storage.missing-built",
          context: { layer: base.built },
        });
      }
      return p;
    }
    return await this.#emptyDir();
  }

  async #emptyDir(): Promise<string> {
    const p = `${this.#root}/empty`;
    try {
      await this.#ops.empty(p);
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists) && !(await exists(p))) throw e;
    }
    return p;
  }

  /** A snapshot of a subvolume base; a plain empty dir (copy) is cloned as a fresh empty tree. */
  async #cloneBase(base: string, dest: string): Promise<void> {
    await this.#ops.clone(base, dest);
  }

  async prepare(name: string, base: BaseRef): Promise<Snapshot> {
    checkName(name);
    return await this.#locked(async () => {
      const work = `${this.#root}/work/${name}`;
      await this.#ops.remove(work);
      const basePath = await this.#basePath(base);
      const tmp = await this.#tmpDir("work-");
      await this.#cloneBase(basePath, `${tmp}/rootfs`);
      await Deno.writeTextFile(`${tmp}/base`, basePath);
      await Deno.rename(tmp, work);
      return this.#snapshot(name, basePath, `${work}/rootfs`);
    });
  }

  #snapshot(name: string, base: string, rootfs: string): Snapshot {
    return { name, lxcRootfs: { path: `dir:${rootfs}` }, diff: { kind: "trees", base, rootfs } };
  }

  async commit(name: string): Promise<void> {
    checkName(name);
    await this.#locked(async () => {
      const built = `${this.#root}/built/${name}`;
      const old = await this.#tmpDir("old-");
      await swapIntoPlace(name, `${this.#root}/work/${name}`, built, old);
      await this.#ops.freeze(`${built}/rootfs`);
      await this.#ops.remove(old);
    });
  }

  async tempSnapshot(name: string): Promise<Snapshot & AsyncDisposable> {
    checkName(name);
    const src = await this.#basePath({ built: name });
    const tmp = await this.#tmpDir(`snap-${name}-`);
    await this.#ops.clone(src, `${tmp}/rootfs`);
    return {
      ...this.#snapshot(name, src, `${tmp}/rootfs`),
      [Symbol.asyncDispose]: () => this.#ops.remove(tmp),
    };
  }

  async delete(name: string): Promise<void> {
    checkName(name);
    await this.#locked(async () => {
      await this.#ops.remove(`${this.#root}/work/${name}`);
      await this.#ops.remove(`${this.#root}/built/${name}`);
    });
  }

  async list(): Promise<{ layers: string[]; names: string[] }> {
    const names = async (d: string) => (await Array.fromAsync(Deno.readDir(d))).map((e) => e.name).sort();
    return { layers: await names(`${this.#root}/chains`), names: await names(`${this.#root}/built`) };
  }

  async gc(keep: { chains: Digest[][]; names: string[] }): Promise<{ removed: number }> {
    return await this.#locked(async () => {
      const keepChains = new Set<string>();
      for (const c of keep.chains) {
        for (let i = 1; i <= c.length; i++) keepChains.add(chainKey(c.slice(0, i)));
      }
      const keepNames = new Set(keep.names);
      let removed = 0;
      for await (const e of Deno.readDir(`${this.#root}/chains`)) {
        if (!keepChains.has(e.name)) {
          await this.#ops.remove(`${this.#root}/chains/${e.name}`);
          removed++;
        }
      }
      for await (const e of Deno.readDir(`${this.#root}/built`)) {
        if (!keepNames.has(e.name)) {
          await this.#ops.remove(`${this.#root}/built/${e.name}`);
          removed++;
        }
      }
      return { removed };
    });
  }

  /** Removes everything this backend made under the roots dir. */
  async clean(): Promise<void> {
    for (const d of ["chains", "work", "built", "tmp", "empty"]) await this.#ops.remove(`${this.#root}/${d}`);
  }
}
