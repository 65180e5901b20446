/**
 * Garbage collection of an OCI image layout shared by many processes. The rules that keep it safe:
 * - gc runs only under the layout's lock held exclusively; every writer (build, publish, copy)
 *   holds it shared from its first blob to its last tag, so no blob between `putBlob` and `tag`
 *   is ever seen as unreferenced;
 * - a blob is live when a tag, a caller's extra root or a registered root set reaches it;
 *   registered root sets (`.stacker-roots/`) are what other stacker dirs' build caches point at
 *   (untagged build_only manifests), each kept while the file it names exists;
 * - a temp file is removed only when its owner (pid and start time, in its name) is gone.
 */
import { join } from "../util/path.ts";
import { processAlive, processStartTime } from "../util/process.ts";
import { atomicWriteFile } from "./atomic_write.ts";
import { readBounded, sha256Digest } from "./digest.ts";
import { isIndexMediaType, MAX_JSON_BYTES, parseManifestOrIndex } from "./manifest.ts";
import type { GcResult } from "./layout_store.ts";
import type { Descriptor } from "./types.ts";
import { MediaType } from "./types.ts";

/** Where blobs are written before they are verified and renamed under their digest. */
export const TMP_DIR = ".stacker-tmp";
/** Registered root sets, one JSON file per owner. */
export const ROOTS_DIR = ".stacker-roots";

/** The parts of a layout gc reads and deletes through. */
export interface GcLayout {
  readonly dir: string;
  readIndex(): Promise<{ manifests: readonly Descriptor[] }>;
  hasBlob(digest: string): Promise<boolean>;
  openBlob(desc: Descriptor): Promise<ReadableStream<Uint8Array>>;
}

/** A registered root set: descriptors kept alive while `while` (a path) exists. */
interface RootsFile {
  readonly owner: string;
  readonly while: string;
  readonly manifests: readonly Descriptor[];
}

const OWN_START = processStartTime(Deno.pid) ?? "0";

/** A temp blob path in `dir`'s temp dir, named for this process so gc knows when it is orphaned. */
export function tempBlobName(): string {
  return `blob-${Deno.pid}-${OWN_START}-${crypto.randomUUID()}`;
}

/** True when the temp file `name` belongs to no running process (it can be removed). */
export function isOrphanTemp(name: string): boolean {
  const withStart = /^blob-(\d+)-(\d+)-[0-9a-f]{8}-/.exec(name);
  if (withStart) return !processAlive(Number(withStart[1]), withStart[2]);
  // atomicWriteFile's temp files and blobs of earlier versions: `<name>.tmp-<pid>-…`, `blob-<pid>-<uuid>`
  const pidOnly = /(?:^blob-|\.tmp-)(\d+)-[0-9a-f]{8}/.exec(name);
  if (pidOnly) return !processAlive(Number(pidOnly[1]));
  return true;
}

/**
 * Registers `manifests` as roots of `owner` (replacing its earlier set), kept while the path
 * `whilePath` exists. Call it holding the layout (shared).
 */
export async function writeRoots(
  dir: string,
  owner: string,
  whilePath: string,
  manifests: readonly Descriptor[],
): Promise<void> {
  await Deno.mkdir(join(dir, ROOTS_DIR), { recursive: true });
  const file: RootsFile = { owner, while: whilePath, manifests };
  const name = sha256Digest(new TextEncoder().encode(owner)).slice(7, 39);
  await atomicWriteFile(join(dir, ROOTS_DIR, `${name}.json`), JSON.stringify(file));
}

/** The live registered roots; sets whose `while` path is gone are deleted. */
async function registeredRoots(dir: string): Promise<Descriptor[]> {
  const out: Descriptor[] = [];
  const rootsDir = join(dir, ROOTS_DIR);
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(rootsDir));
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return out;
    throw err;
  }
  for (const e of entries) {
    const path = join(rootsDir, e.name);
    if (!e.name.endsWith(".json")) {
      if (isOrphanTemp(e.name)) await Deno.remove(path).catch(() => {});
      continue;
    }
    let file: RootsFile | undefined;
    try {
      file = JSON.parse(await Deno.readTextFile(path)) as RootsFile;
    } catch { /* unreadable: dropped below */ }
    const live = file && typeof file.while === "string" && Array.isArray(file.manifests) &&
      await Deno.lstat(file.while).then(() => true, () => false);
    if (live) out.push(...file!.manifests.filter((d) => typeof d?.digest === "string"));
    else await Deno.remove(path).catch(() => {});
  }
  return out;
}

/** Every digest reachable from the index, `extraRoots` and the registered roots. */
async function liveDigests(layout: GcLayout, extraRoots: readonly Descriptor[]): Promise<Set<string>> {
  const live = new Set<string>();
  const queue: Descriptor[] = [
    ...(await layout.readIndex()).manifests,
    ...extraRoots,
    ...(await registeredRoots(layout.dir)),
  ];
  while (queue.length > 0) {
    const d = queue.pop()!;
    if (live.has(d.digest)) continue;
    live.add(d.digest);
    if (!(await layout.hasBlob(d.digest))) continue;
    if (
      isIndexMediaType(d.mediaType) || d.mediaType === MediaType.ociManifest ||
      d.mediaType === MediaType.dockerManifest
    ) {
      const bytes = await readBounded(await layout.openBlob(d), MAX_JSON_BYTES, `manifest "${d.digest}"`);
      const parsed = parseManifestOrIndex(bytes, d.mediaType);
      if (parsed.kind === "index") queue.push(...parsed.index.manifests);
      else queue.push(parsed.manifest.config, ...parsed.manifest.layers);
    }
  }
  return live;
}

/**
 * Removes every blob nothing reaches, orphaned temp blobs and orphaned temp files of index
 * writes. The caller holds the layout exclusively and the index lock.
 */
export async function collectLayout(layout: GcLayout, extraRoots: readonly Descriptor[]): Promise<GcResult> {
  const live = await liveDigests(layout, extraRoots);
  let removed = 0, bytes = 0;
  for await (const alg of Deno.readDir(join(layout.dir, "blobs"))) {
    if (!alg.isDirectory) continue;
    for await (const e of Deno.readDir(join(layout.dir, "blobs", alg.name))) {
      if (live.has(`${alg.name}:${e.name}`)) continue;
      const p = join(layout.dir, "blobs", alg.name, e.name);
      bytes += (await Deno.lstat(p)).size;
      await Deno.remove(p, { recursive: true });
      removed++;
    }
  }
  await removeOrphans(join(layout.dir, TMP_DIR));
  await removeOrphans(layout.dir, (name) => name.includes(".tmp-"));
  return { removed, bytes };
}

async function removeOrphans(dir: string, only: (name: string) => boolean = () => true): Promise<void> {
  try {
    for await (const e of Deno.readDir(dir)) {
      if (only(e.name) && isOrphanTemp(e.name)) {
        await Deno.remove(join(dir, e.name), { recursive: true }).catch(() => {});
      }
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
}
