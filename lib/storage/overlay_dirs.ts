/**
 * The `overlay` storage backend (the default, as in stacker): each base layer is unpacked once into
 * its own content-addressed directory with overlay-style whiteouts (0/0 char devices,
 * `user.overlay.opaque`), and a build gets a fresh upper dir over those lower dirs. LXC mounts the
 * overlay (with `userxattr`) inside the container's own mount namespace, so no mount outlives a run;
 * the upper dir is the layer engine's diff input.
 *
 * Layout under the roots dir:
 *   .storage.lock                flock for every mutation (never unlinked); `.lock` is the
 *                                build's own lock, held for a whole command (lib/builder/lock.ts)
 *   sha256_<hex>/overlay         one unpacked layer (named by its digest, as stacker names them)
 *   work/<name>/{upper,work}     the writable state of a layer being built; lowers.json its lowers
 *   built/<name>/{upper,...}     committed layers: their upper dir becomes a lower dir of children
 *   tmp/…                        half-unpacked layers, throw-away snapshots (removed on open)
 */
import { StorageError } from "../util/errors.ts";
import { checkName, exists, realDirs, STORAGE_LOCK, swapIntoPlace } from "./_dirs.ts";
import type { Logger } from "../util/log.ts";
import type { Digest } from "../oci/types.ts";
import { withFileLock } from "../oci/mod.ts";
import { removeTree } from "./copy_dirs.ts";
import type { BaseRef, Snapshot, Storage, UnpackFn } from "./types.ts";

/** The roots dir entry of an unpacked layer: `sha256_<hex>` (spec §3.1). */
function layerEntryOf(d: Digest): string {
  const m = /^(sha256|sha512):([a-f0-9]{64,128})$/.exec(d);
  if (!m) {
    throw new StorageError(`Cannot use digest "${d}" as a layer directory`, { code: "storage.bad-digest" });
  }
  return `${m[1]}_${m[2]}`;
}

/** Roots dir entries that are unpacked layers (layer names live under work/ and built/, never here). */
const LAYER_ENTRY_RE = /^sha(256|512)_[a-f0-9]{64,128}$/;

export class OverlayStorage implements Storage {
  readonly kind = "overlay" as const;
  readonly #root: string;
  readonly #log: Logger;
  /** How many layers this instance unpacked (for tests and the "unpack once" promise). */
  unpacked = 0;

  private constructor(root: string, log: Logger) {
    this.#root = root;
    this.#log = log;
  }

  static async open(rootsDir: string, log: Logger): Promise<OverlayStorage> {
    if (rootsDir.includes(":") || rootsDir.includes(",")) {
      throw new StorageError(
        `Cannot use roots dir "${rootsDir}" for overlay: it must not contain ":" or ","`,
        {
          code: "storage.bad-roots-dir",
        },
      );
    }
    await realDirs(rootsDir, ["work", "built", "tmp"]);
    const s = new OverlayStorage(rootsDir, log);
    await s.#locked(async () => {
      for await (const e of Deno.readDir(`${rootsDir}/tmp`)) await removeTree(`${rootsDir}/tmp/${e.name}`);
    });
    return s;
  }

  #locked<T>(fn: () => Promise<T>): Promise<T> {
    return withFileLock(`${this.#root}/${STORAGE_LOCK}`, fn, {
      wait: true,
      what: `roots dir "${this.#root}"`,
    });
  }

  layerDir(d: Digest): string {
    return `${this.#root}/${layerEntryOf(d)}/overlay`;
  }

  async ensureLayers(chain: readonly Digest[], unpack: UnpackFn): Promise<void> {
    await this.#locked(async () => {
      for (let i = 0; i < chain.length; i++) {
        const dest = `${this.#root}/${layerEntryOf(chain[i])}`;
        if (await exists(dest)) continue;
        const tmp = await Deno.makeTempDir({ dir: `${this.#root}/tmp`, prefix: "layer-" });
        try {
          await Deno.mkdir(`${tmp}/overlay`);
          await unpack(`${tmp}/overlay`, "overlay", i);
          this.unpacked++;
          await Deno.rename(tmp, dest);
        } catch (e) {
          await removeTree(tmp);
          throw e;
        }
        this.#log.debug(`unpacked layer ${chain[i]}`);
      }
    });
  }

  /** Lower dirs, top first, for a base. */
  async #lowers(base: BaseRef): Promise<string[]> {
    if ("chain" in base) {
      const dirs = base.chain.map((d) => this.layerDir(d)).reverse();
      for (const d of dirs) {
        if (!(await exists(d))) {
          throw new StorageError("Cannot prepare a rootfs: its base layers are not unpacked", {
            code: "storage.missing-chain",
            context: { dir: d },
          });
        }
      }
      return dirs;
    }
    if ("built" in base) {
      checkName(base.built, ":,");
      const dir = `${this.#root}/built/${base.built}`;
      if (!(await exists(`${dir}/lowers.json`))) {
        throw new StorageError(`Cannot start from layer "${base.built}": it has not been built`, {
          code: "storage.missing-built",
          context: { layer: base.built },
        });
      }
      const parent = JSON.parse(await Deno.readTextFile(`${dir}/lowers.json`)) as string[];
      return [`${dir}/upper`, ...parent];
    }
    return [];
  }

  async #makeState(dir: string, lowers: string[]): Promise<void> {
    await Deno.mkdir(`${dir}/upper`, { recursive: true });
    await Deno.mkdir(`${dir}/work`, { recursive: true });
    // With no lower layer at all, overlay still needs one: an empty dir.
    if (lowers.length === 0) await Deno.mkdir(`${dir}/empty`, { recursive: true });
    await Deno.writeTextFile(`${dir}/lowers.json`, JSON.stringify(lowers));
  }

  #snapshot(name: string, dir: string, lowers: string[]): Snapshot {
    const lower = lowers.length ? lowers : [`${dir}/empty`];
    return {
      name,
      lxcRootfs: { path: `overlay:${lower.join(":")}:${dir}/upper`, options: "userxattr" },
      diff: { kind: "overlay-upper", upper: `${dir}/upper` },
    };
  }

  async prepare(name: string, base: BaseRef): Promise<Snapshot> {
    checkName(name, ":,");
    return await this.#locked(async () => {
      const work = `${this.#root}/work/${name}`;
      await removeTree(work);
      const lowers = await this.#lowers(base);
      const tmp = await Deno.makeTempDir({ dir: `${this.#root}/tmp`, prefix: "work-" });
      await this.#makeState(tmp, lowers);
      await Deno.rename(tmp, work);
      return this.#snapshot(name, work, lowers);
    });
  }

  async commit(name: string): Promise<void> {
    checkName(name, ":,");
    await this.#locked(async () => {
      const built = `${this.#root}/built/${name}`;
      const old = await Deno.makeTempDir({ dir: `${this.#root}/tmp`, prefix: "old-" });
      await swapIntoPlace(name, `${this.#root}/work/${name}`, built, old);
      await removeTree(old);
    });
  }

  async tempSnapshot(name: string): Promise<Snapshot & AsyncDisposable> {
    checkName(name, ":,");
    const lowers = await this.#lowers({ built: name });
    const tmp = await Deno.makeTempDir({ dir: `${this.#root}/tmp`, prefix: `snap-${name}-` });
    await this.#makeState(tmp, lowers);
    return { ...this.#snapshot(name, tmp, lowers), [Symbol.asyncDispose]: () => removeTree(tmp) };
  }

  /**
   * Copies the merged view of `snapshot` into the new directory `dest`: the overlay is mounted
   * read-only in a private mount namespace of a short-lived `unshare` process, so no mount is ever
   * visible to (or left behind in) this process's namespace.
   */
  async materialize(snapshot: Snapshot, dest: string): Promise<void> {
    const spec = snapshot.lxcRootfs.path.slice("overlay:".length).split(":");
    const upper = spec.pop()!;
    const lowers = [upper, ...spec];
    const mnt = await Deno.makeTempDir({ dir: `${this.#root}/tmp`, prefix: "mnt-" });
    try {
      const script = 'mount -t overlay overlay -o "ro,userxattr,lowerdir=$1" "$2" && cp -a "$2/." "$3"';
      await Deno.mkdir(dest, { recursive: true });
      const out = await new Deno.Command("unshare", {
        args: ["--mount", "--propagation", "private", "sh", "-c", script, "sh", lowers.join(":"), mnt, dest],
        stdout: "null",
        stderr: "piped",
      }).output();
      if (!out.success) {
        throw new StorageError(
          `Cannot read the files of layer "${snapshot.name}": ${new TextDecoder().decode(out.stderr).trim()}`,
          { code: "storage.materialize", context: { layer: snapshot.name } },
        );
      }
    } finally {
      await Deno.remove(mnt).catch(() => {});
    }
  }

  async delete(name: string): Promise<void> {
    checkName(name, ":,");
    await this.#locked(async () => {
      await removeTree(`${this.#root}/work/${name}`);
      await removeTree(`${this.#root}/built/${name}`);
    });
  }

  async list(): Promise<{ layers: string[]; names: string[] }> {
    const names = async (d: string) => (await Array.fromAsync(Deno.readDir(d))).map((e) => e.name).sort();
    const layers = (await names(this.#root)).filter((n) => LAYER_ENTRY_RE.test(n));
    return { layers, names: await names(`${this.#root}/built`) };
  }

  async gc(keep: { chains: Digest[][]; names: string[] }): Promise<{ removed: number }> {
    return await this.#locked(async () => {
      const keepLayers = new Set(keep.chains.flat().map(layerEntryOf));
      const keepNames = new Set(keep.names);
      // A kept built layer keeps every layer below it.
      for (const n of keepNames) {
        try {
          const lowers = JSON.parse(
            await Deno.readTextFile(`${this.#root}/built/${n}/lowers.json`),
          ) as string[];
          for (const l of lowers) {
            const m = l.match(/\/(sha(?:256|512)_[a-f0-9]+)\/overlay$/);
            if (m) keepLayers.add(m[1]);
            const b = l.match(/\/built\/([^/]+)\/upper$/);
            if (b) keepNames.add(b[1]);
          }
        } catch { /* not built */ }
      }
      let removed = 0;
      for await (const e of Deno.readDir(this.#root)) {
        if (LAYER_ENTRY_RE.test(e.name) && !keepLayers.has(e.name)) {
          await removeTree(`${this.#root}/${e.name}`);
          removed++;
        }
      }
      // the layer dirs of older versions of this backend
      await removeTree(`${this.#root}/layers`);
      for await (const e of Deno.readDir(`${this.#root}/built`)) {
        if (!keepNames.has(e.name)) {
          await removeTree(`${this.#root}/built/${e.name}`);
          removed++;
        }
      }
      return { removed };
    });
  }

  async clean(): Promise<void> {
    for (const d of (await this.list()).layers) await removeTree(`${this.#root}/${d}`);
    for (const d of ["layers", "work", "built", "tmp"]) await removeTree(`${this.#root}/${d}`);
  }
}
