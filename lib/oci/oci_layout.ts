/**
 * The OCI image layout store: `oci-layout`, `index.json`, `blobs/<alg>/<hex>`. Blobs appear under
 * their digest only after their bytes were verified and fsynced; `index.json` is replaced
 * atomically under an flock on `<dir>/.stacker-index.lock` (never unlinked), so concurrent taggers
 * never lose a tag and a kill -9 at any moment leaves a valid layout.
 *
 * Many processes may share one layout: writers hold `<dir>/.stacker-layout.lock` shared (`hold()`,
 * and every write holds it for its own duration), `gc` holds it exclusively, so gc never deletes a
 * blob a writer stored and has not tagged yet (`layout_gc.ts` has the rules).
 */
import { fileChunks } from "../util/file_stream.ts";
import { join } from "../util/path.ts";
import { OciError } from "../util/errors.ts";
import { atomicWriteFile, storageError, syncDir, writeCoalesced } from "./atomic_write.ts";
import { DigestStream, parseDigest, readBounded, sha256Digest } from "./digest.ts";
import { withFileLock } from "./file_lock.ts";
import { type HoldOptions, type LayoutHold, LayoutLock, type LayoutLockOptions } from "./layout_lock.ts";
import { collectLayout, tempBlobName, TMP_DIR, writeRoots } from "./layout_gc.ts";
import {
  MAX_JSON_BYTES,
  parseDescriptor,
  parseImageConfig,
  parseManifestOrIndex,
  selectPlatform,
} from "./manifest.ts";
import type { GcResult, LayoutStore } from "./layout_store.ts";
import type { Descriptor, Digest, ImageConfig, Index, Manifest } from "./types.ts";
import { MediaType, REF_NAME_ANNOTATION } from "./types.ts";

const LOCK_NAME = ".stacker-index.lock";

export type { HoldOptions, LayoutHold, LayoutLockOptions } from "./layout_lock.ts";

/** Options of {@link OciLayout.open}. */
export interface OpenLayoutOptions extends LayoutLockOptions {
  /** Create the layout (and its directory) when it does not exist (default false). */
  readonly create?: boolean;
}

/** An image as stored: its manifest, its config and the descriptor that names the manifest. */
export interface StoredImage {
  readonly manifestDescriptor: Descriptor;
  readonly manifest: Manifest;
  readonly config: ImageConfig;
}

/** An OCI image layout directory. One instance per directory and process is enough; it holds no open files. */
export class OciLayout implements LayoutStore {
  readonly dir: string;
  readonly #lock: LayoutLock;

  private constructor(dir: string, lockOpts: LayoutLockOptions) {
    this.dir = dir;
    this.#lock = new LayoutLock(dir, lockOpts);
  }

  /**
   * Opens the layout at `dir`. Throws OciError `oci.not-layout` when `oci-layout` is missing (unless
   * `create`), `oci.bad-layout` when it or `index.json` is unreadable. Creation is idempotent and
   * safe against concurrent creators.
   */
  static async open(dir: string, opts: OpenLayoutOptions = {}): Promise<OciLayout> {
    const layout = new OciLayout(dir, opts);
    const marker = join(dir, "oci-layout");
    let exists = true;
    try {
      await Deno.stat(marker);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
      exists = false;
    }
    if (!exists) {
      if (!opts.create) {
        throw new OciError(`Cannot open OCI layout "${dir}": no oci-layout file`, {
          code: "oci.not-layout",
          context: { dir },
        });
      }
      await Deno.mkdir(join(dir, "blobs", "sha256"), { recursive: true });
      await withFileLock(join(dir, LOCK_NAME), async () => {
        if (!(await exists_(join(dir, "index.json")))) {
          await atomicWriteFile(
            join(dir, "index.json"),
            JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] }),
          );
        }
        if (!(await exists_(marker))) {
          await atomicWriteFile(marker, JSON.stringify({ imageLayoutVersion: "1.0.0" }));
        }
      }, { what: `the OCI layout "${dir}"` });
    }
    // Only a layout we may write to gets its blob dir made: a source layout can be read-only.
    if (opts.create) await Deno.mkdir(join(dir, "blobs", "sha256"), { recursive: true });
    await layout.readIndex(); // an unreadable index is an error now, not a surprise later
    return layout;
  }

  /** `blobs/<alg>/<hex>` for `digest` (validated first, so it cannot escape the layout). */
  blobPath(digest: Digest): string {
    const d = parseDigest(digest);
    const [alg, hex] = d.split(":");
    return join(this.dir, "blobs", alg, hex);
  }

  /** True when a blob with `digest` is present (its content is verified when read, not here). */
  async hasBlob(digest: Digest): Promise<boolean> {
    return await exists_(this.blobPath(digest));
  }

  /**
   * Stores `stream`'s bytes as a blob. With `expected`, the digest and size are verified and an
   * already-present blob is not rewritten (the stream is cancelled). Without, the sha256 digest is
   * computed while streaming. The blob becomes visible only after verification, fsync and rename;
   * on failure nothing is stored and the stream is cancelled. Idempotent.
   */
  async putBlob(
    stream: ReadableStream<Uint8Array>,
    expected?: { digest: Digest; size: number },
  ): Promise<{ digest: Digest; size: number }> {
    await using _held = await this.hold();
    if (expected) {
      parseDigest(expected.digest);
      if (await this.hasBlob(expected.digest)) {
        await stream.cancel().catch(() => {});
        return { digest: expected.digest, size: expected.size };
      }
    }
    const tmpDir = join(this.dir, TMP_DIR);
    await Deno.mkdir(tmpDir, { recursive: true });
    const tmp = join(tmpDir, tempBlobName());
    const verify = new DigestStream({ digest: expected?.digest, size: expected?.size });
    const file = await Deno.open(tmp, { write: true, createNew: true, mode: 0o644 });
    let closed = false;
    try {
      await writeCoalesced(file, stream.pipeThrough(verify));
      const result = await verify.result;
      await file.sync();
      file.close();
      closed = true;
      const final = this.blobPath(result.digest);
      await Deno.mkdir(join(final, ".."), { recursive: true });
      await Deno.rename(tmp, final);
      await syncDir(join(final, ".."));
      return result;
    } catch (err) {
      if (!closed) file.close();
      await Deno.remove(tmp).catch(() => {});
      throw storageError(err, `store blob "${expected?.digest ?? "(new)"}" in "${this.dir}"`, {
        dir: this.dir,
        digest: expected?.digest,
      });
    }
  }

  /** Stores `value` as canonical JSON (no whitespace) and returns its descriptor. */
  async putJson(value: unknown, mediaType: string): Promise<Descriptor> {
    const bytes = new TextEncoder().encode(JSON.stringify(value));
    const digest = sha256Digest(bytes);
    await this.putBlob(ReadableStream.from([bytes]), { digest, size: bytes.byteLength });
    return { mediaType, digest, size: bytes.byteLength };
  }

  /**
   * A fresh stream of the blob, verified against `desc` (size and digest) as it is read: it errors
   * with `oci.digest-mismatch`/`oci.size-mismatch` at the first wrong byte count or at EOF. The
   * caller reads it to the end or cancels it. Throws `oci.missing-blob` when absent.
   */
  async openBlob(desc: Pick<Descriptor, "digest" | "size">): Promise<ReadableStream<Uint8Array>> {
    let file: Deno.FsFile;
    try {
      file = await Deno.open(this.blobPath(desc.digest), { read: true });
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) {
        throw new OciError(`Cannot read blob "${desc.digest}": not in the layout "${this.dir}"`, {
          code: "oci.missing-blob",
          context: { digest: desc.digest, dir: this.dir },
        });
      }
      throw err;
    }
    return fileChunks(file, desc.size).pipeThrough(
      new DigestStream({ digest: desc.digest, size: desc.size }),
    );
  }

  /** Reads and parses a JSON blob (at most 4 MiB), verified against `desc`. */
  async readJson<T>(desc: Pick<Descriptor, "digest" | "size">): Promise<T> {
    if (desc.size > MAX_JSON_BYTES) {
      throw new OciError(
        `Cannot read "${desc.digest}": ${desc.size} bytes is more than a JSON blob may hold`,
        {
          code: "oci.too-large",
          context: { digest: desc.digest, size: desc.size },
        },
      );
    }
    const bytes = await readBounded(await this.openBlob(desc), MAX_JSON_BYTES, `blob "${desc.digest}"`);
    try {
      return JSON.parse(new TextDecoder().decode(bytes)) as T;
    } catch (err) {
      throw new OciError(`Cannot parse blob "${desc.digest}": not JSON`, {
        code: "oci.bad-json",
        cause: err,
      });
    }
  }

  /** Reads `index.json`. Throws `oci.bad-layout` when it is missing or malformed (never "empty"). */
  async readIndex(): Promise<Index> {
    const path = join(this.dir, "index.json");
    try {
      const file = await Deno.open(path, { read: true });
      const bytes = await readBounded(file.readable, MAX_JSON_BYTES, `"${path}"`);
      const parsed = parseManifestOrIndex(bytes, MediaType.ociIndex);
      if (parsed.kind !== "index") throw new Error("not an index");
      return parsed.index;
    } catch (err) {
      throw new OciError(`Cannot read "${path}": ${err instanceof Error ? err.message : err}`, {
        code: "oci.bad-layout",
        context: { dir: this.dir },
        cause: err,
      });
    }
  }

  /** Every tagged manifest: the `org.opencontainers.image.ref.name` of each index entry. */
  async tags(): Promise<{ name: string; descriptor: Descriptor }[]> {
    const index = await this.readIndex();
    return index.manifests
      .filter((d) => d.annotations?.[REF_NAME_ANNOTATION] !== undefined)
      .map((d) => ({ name: d.annotations![REF_NAME_ANNOTATION], descriptor: d }));
  }

  /** The descriptor tagged `tag` (annotation removed), or undefined when no such tag exists. */
  async resolve(tag: string): Promise<Descriptor | undefined> {
    const found = (await this.tags()).find((t) => t.name === tag);
    if (!found) return undefined;
    const { annotations, ...rest } = found.descriptor;
    const others = Object.fromEntries(
      Object.entries(annotations ?? {}).filter(([k]) => k !== REF_NAME_ANNOTATION),
    );
    return Object.keys(others).length > 0 ? { ...rest, annotations: others } : rest;
  }

  /**
   * Points `name` at `desc` (replacing any previous target), atomically under the index lock. The
   * blob must be present (manifests are tagged only after their content). Throws `oci.bad-tag`.
   */
  async tag(name: string, desc: Descriptor): Promise<void> {
    if (name === "" || /[\0\n]/.test(name)) {
      throw new OciError(`Cannot tag "${name}": empty or control characters`, { code: "oci.bad-tag" });
    }
    parseDescriptor(desc);
    await using _held = await this.hold();
    if (!(await this.hasBlob(desc.digest))) {
      throw new OciError(`Cannot tag "${name}": blob "${desc.digest}" is not in the layout`, {
        code: "oci.missing-blob",
        context: { digest: desc.digest, tag: name },
      });
    }
    await this.#updateIndex((manifests) => [
      ...manifests.filter((d) => d.annotations?.[REF_NAME_ANNOTATION] !== name),
      { ...desc, annotations: { ...desc.annotations, [REF_NAME_ANNOTATION]: name } },
    ]);
  }

  /** Removes tag `name` (no-op when absent), atomically under the index lock. */
  async untag(name: string): Promise<void> {
    await using _held = await this.hold();
    await this.#updateIndex((manifests) =>
      manifests.filter((d) => d.annotations?.[REF_NAME_ANNOTATION] !== name)
    );
  }

  async #updateIndex(edit: (m: readonly Descriptor[]) => Descriptor[]): Promise<void> {
    await withFileLock(join(this.dir, LOCK_NAME), async () => {
      const index = await this.readIndex();
      const next: Index = {
        ...index,
        mediaType: index.mediaType ?? MediaType.ociIndex,
        manifests: edit(index.manifests),
      };
      await atomicWriteFile(join(this.dir, "index.json"), JSON.stringify(next));
    }, { what: `the index of "${this.dir}"` });
  }

  /**
   * Reads the manifest `desc` names. An index or manifest list is resolved to `platform` (default
   * the only entry; `oci.no-platform` lists what is offered). Returns the image manifest and its descriptor.
   */
  async readManifest(
    desc: Descriptor,
    platform?: { os: string; arch: string },
  ): Promise<{ manifest: Manifest; descriptor: Descriptor }> {
    let cur = desc;
    for (let depth = 0; depth < 4; depth++) {
      if (cur.size > MAX_JSON_BYTES) {
        throw new OciError(`Cannot read manifest "${cur.digest}": too large`, { code: "oci.too-large" });
      }
      const bytes = await readBounded(await this.openBlob(cur), MAX_JSON_BYTES, `manifest "${cur.digest}"`);
      const parsed = parseManifestOrIndex(bytes, cur.mediaType);
      if (parsed.kind === "manifest") return { manifest: parsed.manifest, descriptor: cur };
      cur = selectPlatform(parsed.index, platform?.os ?? "linux", platform?.arch ?? "amd64", cur.digest);
    }
    throw new OciError(`Cannot read manifest "${desc.digest}": indexes nested too deep`, {
      code: "oci.bad-json",
    });
  }

  /** Reads and checks the config of `manifest`. */
  async readConfig(manifest: Manifest): Promise<ImageConfig> {
    if (manifest.config.size > MAX_JSON_BYTES) {
      throw new OciError(`Cannot read config "${manifest.config.digest}": too large`, {
        code: "oci.too-large",
      });
    }
    const bytes = await readBounded(await this.openBlob(manifest.config), MAX_JSON_BYTES, "image config");
    return parseImageConfig(bytes);
  }

  /** The image tagged `tag` (resolved to `platform` when it is an index). Throws `oci.no-tag`. */
  async imageOf(tag: string, platform?: { os: string; arch: string }): Promise<StoredImage> {
    const desc = await this.resolve(tag);
    if (!desc) {
      throw new OciError(`Cannot find tag "${tag}" in "${this.dir}"`, {
        code: "oci.no-tag",
        context: { tag, dir: this.dir },
      });
    }
    const { manifest, descriptor } = await this.readManifest(desc, platform);
    return { manifestDescriptor: descriptor, manifest, config: await this.readConfig(manifest) };
  }

  /**
   * Holds the layout shared until released: a `gc` (of any process) waits meanwhile, so blobs this
   * process stored and has not tagged yet stay. Builds and publishes hold it from their first blob
   * to their last tag; each write holds it for its own duration anyway. See `LayoutLock.hold`.
   */
  async hold(opts: HoldOptions = {}): Promise<LayoutHold> {
    return await this.#lock.hold(opts);
  }

  /**
   * Registers `manifests` as gc roots of `owner` (replacing its earlier set) for as long as the
   * path `whilePath` exists: a build cache's untagged manifests outlive other processes' gc.
   */
  async setRoots(owner: string, whilePath: string, manifests: readonly Descriptor[]): Promise<void> {
    await using _held = await this.hold();
    await writeRoots(this.dir, owner, whilePath, manifests);
  }

  /**
   * Removes every blob that no tag, no `extraRoots` entry and no registered root set reaches
   * (through indexes, manifests, configs and layers), and temp files whose owner is gone. Holds the
   * layout exclusively: it waits for every writer (bounded by the lock timeout), or with
   * `wait: false` returns at once with `skipped` naming a holder. Throws OciError `oci.busy` when
   * this instance itself holds the layout.
   */
  async gc(
    extraRoots: readonly Descriptor[] = [],
    opts: LayoutLockOptions & { readonly wait?: boolean } = {},
  ): Promise<GcResult> {
    const lock = opts.wait === false ? await this.#lock.tryExclusive() : await this.#lock.exclusive(opts);
    if ("busy" in lock) return { removed: 0, bytes: 0, skipped: lock.busy };
    try {
      return await withFileLock(join(this.dir, LOCK_NAME), () => collectLayout(this, extraRoots), {
        what: `the index of "${this.dir}"`,
      });
    } finally {
      lock.release();
    }
  }
}

async function exists_(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}
