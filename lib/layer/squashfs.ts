/**
 * squashfs layers through squashfs-tools: `mksquashfs` of an overlay upper directory (whiteout
 * devices and opaque xattrs kept as overlayfs understands them) and `unsquashfs` back to a tree.
 * As stacker does, a squashfs layer's diff_id is the digest of the squashfs blob itself (verity data
 * included, when appended).
 */
import { LayerError } from "../util/errors.ts";
import { type Logger, silentLogger } from "../util/log.ts";
import { fileChunks } from "../util/file_stream.ts";
import { type Digest, MediaType } from "../oci/types.ts";
import { fileDigest } from "../oci/mod.ts";
import { digester, type DigestResult } from "./_compression.ts";

/** A layer being produced: pipe `stream` once; `done` resolves after its last byte. */
export interface GeneratedLayer {
  /** The blob bytes (compressed tar, or squashfs image), to be piped once into a store. */
  readonly stream: ReadableStream<Uint8Array>;
  /** Digest and size of the blob and the diff_id, computed while the bytes flowed. */
  readonly done: Promise<{
    diffId: Digest;
    digest: Digest;
    size: number;
    mediaType: string;
    /** Layer descriptor annotations (the verity root hash of a squashfs layer with verity). */
    annotations?: Record<string, string>;
  }>;
}

/** The layer descriptor annotation holding the dm-verity root hash (hex), as stacker's atomfs reads it. */
export const VERITY_ROOT_HASH_ANNOTATION = "io.stackeroci.stacker.atomfs_verity_root_hash";

export interface SquashfsOptions {
  /** Clamp every timestamp to this (seconds) and fix the image time: same tree, same bytes. */
  sourceDateEpoch?: number;
  /** "zstd" when mksquashfs supports it (default), else gzip. */
  compression?: "zstd" | "gzip";
  /** Append dm-verity hash data (`veritysetup format`) and return its root hash as an annotation. */
  verity?: boolean;
  /** Pack an empty directory too, instead of returning undefined (a converted empty layer). */
  keepEmpty?: boolean;
  log?: Logger;
}

/**
 * The environment image tools run with: ours without SOURCE_DATE_EPOCH. Timestamps come from the
 * options alone (`-mkfs-time`/`-all-time`, `-T`), and mksquashfs refuses to run when the variable
 * and those flags are both present ("SOURCE_DATE_EPOCH and command line options can't be used at
 * the same time"), which is exactly the case of `SOURCE_DATE_EPOCH=… stacker build`.
 */
function toolEnv(): Record<string, string> {
  const env = Deno.env.toObject();
  delete env.SOURCE_DATE_EPOCH;
  return env;
}

/** Runs a squashfs/erofs/verity tool; LayerError `code` naming `what` with its output tail on failure. */
export async function runImageTool(argv: string[], what: string, code = "layer.squashfs"): Promise<string> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(argv[0], {
      args: argv.slice(1),
      env: toolEnv(),
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (cause) {
    throw new LayerError(`Cannot ${what}: "${argv[0]}" could not be started`, {
      code,
      cause,
    });
  }
  const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new LayerError(`Cannot ${what}: ${argv[0]} exited with ${out.code}: ${text.trim().slice(-400)}`, {
      code,
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
 * xattr) into a squashfs layer. Returns undefined when `dir` is empty (unless `keepEmpty`). The image is built in a
 * temp file first (mksquashfs needs a seekable output), then streamed and removed.
 */
export async function generateSquashfs(
  dir: string,
  opts: SquashfsOptions = {},
): Promise<GeneratedLayer | undefined> {
  if (opts.keepEmpty) return await buildSquashfs(dir, opts);
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
  (opts.log ?? silentLogger).debug("mksquashfs", { dir, comp });
  return await imageLayerOf(
    tmp,
    file,
    mediaType,
    opts.verity ?? false,
    () => runImageTool(argv, `make squashfs layer of "${dir}"`),
  );
}

/**
 * The layer of the filesystem image `make` writes to `file` (inside the scratch dir `tmp`, which
 * this owns and removes once the stream ends or fails), with verity data appended when asked.
 */
export async function imageLayerOf(
  tmp: string,
  file: string,
  mediaType: string,
  verity: boolean,
  make: () => Promise<unknown>,
): Promise<GeneratedLayer> {
  let annotations: Record<string, string> | undefined;
  try {
    await make();
    if (verity) annotations = { [VERITY_ROOT_HASH_ANNOTATION]: await appendVerity(file) };
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
    ...(annotations ? { annotations } : {}),
  }))
    .finally(() => Deno.remove(tmp, { recursive: true }).catch(() => {}));
  done.catch(() => {});
  return { stream, done };
}

/**
 * The `veritysetup` (cryptsetup-bin) to run: the one on PATH, else Debian's /usr/sbin or /sbin copy
 * (an ordinary user's PATH often lacks sbin, and formatting a file needs no privilege); undefined
 * when none can be started.
 */
export async function findVeritysetup(): Promise<string | undefined> {
  for (const bin of ["veritysetup", "/usr/sbin/veritysetup", "/sbin/veritysetup"]) {
    try {
      // a missing binary (or a denied one) throws synchronously from output(), not as a rejection
      const out = await new Deno.Command(bin, { args: ["--version"], stdout: "null", stderr: "null" })
        .output();
      if (out.success) return bin;
    } catch { /* try the next */ }
  }
  return undefined;
}

/** True when `veritysetup` can be started here (see {@link findVeritysetup}). */
export async function veritySupported(): Promise<boolean> {
  return (await findVeritysetup()) !== undefined;
}

/** A UUID-shaped string from the first 32 hex digits of `hex` (version/variant bits set). */
function uuidOf(hex: string): string {
  const h = hex.slice(0, 32).split("");
  h[12] = "4";
  h[16] = "89ab"[parseInt(h[16], 16) & 3];
  const s = h.join("");
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
}

/**
 * Appends dm-verity hash data to the image `file` in place (`veritysetup format` with the hash area
 * right after the data, as stacker's atomfs expects) and returns the root hash (hex). Salt and
 * superblock UUID are derived from the image's own digest instead of random, so the same tree with
 * the same SOURCE_DATE_EPOCH still gives the same blob. Throws LayerError `layer.verity`.
 */
export async function appendVerity(file: string): Promise<string> {
  const size = (await Deno.stat(file)).size;
  // dm-verity works in 4 KiB blocks; mksquashfs pads to 4 KiB unless told not to.
  if (size === 0 || size % 4096 !== 0) {
    throw new LayerError(`Cannot append verity data to "${file}": size ${size} is not a multiple of 4096`, {
      code: "layer.verity",
    });
  }
  const bin = await findVeritysetup();
  if (!bin) {
    throw new LayerError(
      `Cannot append verity data to "${file}": veritysetup (cryptsetup-bin) is not installed`,
      {
        code: "layer.verity",
      },
    );
  }
  const hex = (await fileDigest(file)).slice("sha256:".length);
  const argv = [
    bin,
    "format",
    `--hash-offset=${size}`,
    `--data-blocks=${size / 4096}`,
    "--data-block-size=4096",
    "--hash-block-size=4096",
    "--hash=sha256",
    `--salt=${hex}`,
    `--uuid=${uuidOf(hex)}`,
    file,
    file,
  ];
  const text = await runImageTool(argv, `append verity data to "${file}"`, "layer.verity");
  const m = text.match(/^Root hash:\s+([0-9a-f]{64})\s*$/m);
  if (!m) {
    throw new LayerError(`Cannot append verity data to "${file}": no root hash in veritysetup's output`, {
      code: "layer.verity",
    });
  }
  return m[1];
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
    await runImageTool(["unsquashfs", "-no-progress", "-d", dest, file], "extract squashfs layer");
    return r;
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}
