/**
 * squashfs layers through squashfs-tools: `mksquashfs` of an overlay upper directory (whiteout
 * devices and opaque xattrs kept as overlayfs understands them) and `unsquashfs` back to a tree.
 * As stacker does, a squashfs layer's diff_id is the digest of the squashfs blob itself.
 */
import { LayerError } from "../util/errors.ts";
import { type Logger, silentLogger } from "../util/log.ts";
import { fileChunks } from "../util/file_stream.ts";
import { MediaType } from "../oci/types.ts";
import { digester, type DigestResult } from "./_compression.ts";

/** A layer being produced: pipe `stream` once; `done` resolves after its last byte. */
export interface GeneratedLayer {
  /** The blob bytes (compressed tar, or squashfs image), to be piped once into a store. */
  readonly stream: ReadableStream<Uint8Array>;
  /** Digest and size of the blob and the diff_id, computed while the bytes flowed. */
  readonly done: Promise<{ diffId: string; digest: string; size: number; mediaType: string }>;
}

export interface SquashfsOptions {
  /** Clamp every timestamp to this (seconds) and fix the image time: same tree, same bytes. */
  sourceDateEpoch?: number;
  /** "zstd" when mksquashfs supports it (default), else gzip. */
  compression?: "zstd" | "gzip";
  log?: Logger;
}

async function run(argv: string[], what: string): Promise<string> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(argv[0], { args: argv.slice(1), stdout: "piped", stderr: "piped" }).output();
  } catch (cause) {
    throw new LayerError(`Cannot ${what}: "${argv[0]}" could not be started`, {
      code: "layer.squashfs",
      cause,
    });
  }
  const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new LayerError(`Cannot ${what}: ${argv[0]} exited with ${out.code}: ${text.trim().slice(-400)}`, {
      code: "layer.squashfs",
    });
  }
  return text;
}

/** True when this machine's mksquashfs offers zstd. */
export async function squashfsSupportsZstd(): Promise<boolean> {
  const out = await new Deno.Command("mksquashfs", { args: ["-help"], stdout: "piped", stderr: "piped" })
    .output().catch(() => undefined);
  if (!out) return false;
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  return /^\s+zstd\b/m.test(text);
}

/**
 * Packs `dir` (an overlay upper directory: whiteouts stay char 0/0 devices, opaque dirs keep their
 * xattr) into a squashfs layer. Returns undefined when `dir` is empty. The image is built in a
 * temp file first (mksquashfs needs a seekable output), then streamed and removed.
 */
export async function generateSquashfs(
  dir: string,
  opts: SquashfsOptions = {},
): Promise<GeneratedLayer | undefined> {
  for await (const _ of Deno.readDir(dir)) {
    return await buildSquashfs(dir, opts);
  }
  return undefined;
}

async function buildSquashfs(dir: string, opts: SquashfsOptions): Promise<GeneratedLayer> {
  const comp = opts.compression ?? ((await squashfsSupportsZstd()) ? "zstd" : "gzip");
  const mediaType = comp === "zstd" ? MediaType.squashfsZstd : MediaType.squashfsGzip;
  const tmp = await Deno.makeTempDir({ prefix: "stacker-squashfs-" });
  const file = `${tmp}/layer.squashfs`;
  const argv = ["mksquashfs", dir, file, "-noappend", "-no-progress", "-comp", comp];
  if (opts.sourceDateEpoch !== undefined) {
    argv.push("-mkfs-time", String(opts.sourceDateEpoch), "-all-time", String(opts.sourceDateEpoch));
  }
  try {
    (opts.log ?? silentLogger).debug("mksquashfs", { dir, comp });
    await run(argv, `make squashfs layer of "${dir}"`);
  } catch (e) {
    await Deno.remove(tmp, { recursive: true });
    throw e;
  }
  const f = await Deno.open(file);
  const hash = digester();
  const stream = fileChunks(f).pipeThrough(hash.stream);
  const done = hash.result.then((r: DigestResult) => ({
    diffId: r.digest,
    digest: r.digest,
    size: r.size,
    mediaType,
  }))
    .finally(() => Deno.remove(tmp, { recursive: true }).catch(() => {}));
  done.catch(() => {});
  return { stream, done };
}

/**
 * Writes a squashfs blob to a temp file, hashing it, and extracts it with `unsquashfs` into a fresh
 * directory `dest` (which must not exist). Returns the blob's digest.
 */
export async function extractSquashfs(blob: ReadableStream<Uint8Array>, dest: string): Promise<DigestResult> {
  const tmp = await Deno.makeTempDir({ prefix: "stacker-unsquashfs-" });
  try {
    const file = `${tmp}/layer.squashfs`;
    const hash = digester();
    const f = await Deno.open(file, { createNew: true, write: true });
    await blob.pipeThrough(hash.stream).pipeTo(f.writable); // closes f
    const r = await hash.result;
    await run(["unsquashfs", "-no-progress", "-d", dest, file], "extract squashfs layer");
    return r;
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}
