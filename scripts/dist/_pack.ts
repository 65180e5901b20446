/**
 * Lays out a dist's payload tree and packs it behind the stub:
 *
 *   bin/deno bin/busybox bin/skopeo bin/umoci bin/lxc-usernsexec
 *   lib/<liblxc and the libraries it needs>
 *   app/cli.ts app/lib/… app/vendor/manifest.json app/dist.json
 *   app/lib/util/deps.ts -> re-exports app/lib/util/deps.bundle.js (yaml and zod, bundled: nothing
 *                           is resolved from npm at run time)
 *   SHA256SUMS
 *
 * The tar is reproducible (sorted names, owner 0, mtime 0), gzip'd in two halves at once (a
 * multi-member gzip stream decompresses as one).
 */
import { createHash } from "node:crypto";
import type { DistManifest } from "../../lib/util/dist.ts";
import { run } from "../fetch-helpers.ts";
import { stubScript } from "./_stub.ts";

/** Files to place in the payload: destination (relative) -> source path. */
export type PayloadFiles = ReadonlyMap<string, string>;

const root = decodeURIComponent(new URL("../..", import.meta.url).pathname).replace(/\/$/, "");

async function must(cmd: string, args: string[], cwd?: string): Promise<void> {
  const r = await run(cmd, args, cwd);
  if (!r.ok) throw new Error(`${cmd} ${args.join(" ")} failed: ${r.out.split("\n").slice(-3).join(" ")}`);
}

async function walk(dir: string, rel = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(`${dir}/${rel}`)) {
    const p = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory) out.push(...await walk(dir, p));
    else out.push(p);
  }
  return out;
}

/** Our program's files for app/: cli.ts, lib/**, vendor/manifest.json. */
export async function appFiles(): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  files.set("app/cli.ts", `${root}/cli.ts`);
  files.set("app/vendor/manifest.json", `${root}/vendor/manifest.json`);
  for (const p of await walk(`${root}/lib`)) files.set(`app/lib/${p}`, `${root}/lib/${p}`);
  return files;
}

/** Bundles lib/util/deps.ts (the npm packages) into one ES module at `out`. */
export async function bundleDeps(out: string): Promise<void> {
  await must(Deno.execPath(), [
    "bundle",
    "--quiet",
    "--platform",
    "deno",
    "-o",
    out,
    `${root}/lib/util/deps.ts`,
  ]);
}

async function sha256(path: string): Promise<string> {
  const h = createHash("sha256");
  using f = await Deno.open(path);
  for await (const c of f.readable) h.update(c);
  return h.digest("hex");
}

/**
 * Writes the payload tree into `stage` (copies of `files`, deps bundled, dist.json, SHA256SUMS) and
 * returns the SHA256SUMS text.
 */
export async function stagePayload(
  stage: string,
  files: PayloadFiles,
  manifest: DistManifest,
): Promise<string> {
  for (const [dest, src] of files) {
    await Deno.mkdir(`${stage}/${dest.slice(0, dest.lastIndexOf("/"))}`, { recursive: true });
    await Deno.copyFile(src, `${stage}/${dest}`);
    await Deno.chmod(`${stage}/${dest}`, dest.startsWith("bin/") || dest.startsWith("lib/") ? 0o755 : 0o644);
  }
  await bundleDeps(`${stage}/app/lib/util/deps.bundle.js`);
  await Deno.writeTextFile(
    `${stage}/app/lib/util/deps.ts`,
    '// The dist carries its npm dependencies bundled (scripts/dist/_pack.ts).\nexport { YAML, z } from "./deps.bundle.js";\n',
  );
  await Deno.writeTextFile(`${stage}/app/dist.json`, JSON.stringify(manifest, null, 2) + "\n");
  const names = (await walk(stage)).sort();
  const lines: string[] = [];
  for (const n of names) lines.push(`${await sha256(`${stage}/${n}`)}  ${n}`);
  const sums = lines.join("\n") + "\n";
  await Deno.writeTextFile(`${stage}/SHA256SUMS`, sums);
  return sums;
}

/** gzip'd reproducible tar of `stage`, written to `out`. */
async function packTree(stage: string, out: string): Promise<void> {
  const tar = `${out}.tar`;
  await must("tar", [
    "--sort=name",
    "--owner=0",
    "--group=0",
    "--numeric-owner",
    "--mtime=@0",
    "--format=gnu",
    "-C",
    stage,
    "-cf",
    tar,
    ".",
  ]);
  const size = (await Deno.stat(tar)).size;
  const half = Math.ceil(size / 2 / 512) * 512;
  // Two gzip members, compressed at the same time; `gzip -dc` reads them as one stream.
  const part = (skip: number, count: string, dest: string) =>
    must("sh", [
      "-c",
      `tail -c +$1 "$2" | head -c $3 | gzip -6n > "$4"`,
      "sh",
      String(skip + 1),
      tar,
      count,
      dest,
    ]);
  await Promise.all([part(0, String(half), `${out}.1`), part(half, String(size), `${out}.2`)]);
  await must("sh", ["-c", `cat "$1.1" "$1.2" > "$1" && rm -f "$1.1" "$1.2" "$1.tar"`, "sh", out]);
}

/**
 * Packs `stage` behind the stub into `output` (temp file + rename, mode 0755). Returns the payload's
 * sha256 (the cache dir name) and the file's size.
 */
export async function writeDistFile(
  stage: string,
  output: string,
  p: { version: string; arch: string; sums: string; denoFlags: readonly string[] },
): Promise<{ payloadSha256: string; size: number }> {
  const tmp = `${output}.tmp-${Deno.pid}`;
  try {
    await packTree(stage, `${tmp}.payload`);
    const payloadSha256 = await sha256(`${tmp}.payload`);
    const sumsSha256 = createHash("sha256").update(p.sums).digest("hex");
    const stub = stubScript({
      version: p.version,
      arch: p.arch,
      payloadSha256,
      sumsSha256,
      denoFlags: p.denoFlags,
    });
    await Deno.writeTextFile(tmp, stub);
    await must("sh", ["-c", `cat "$1.payload" >> "$1" && rm -f "$1.payload"`, "sh", tmp]);
    await Deno.chmod(tmp, 0o755);
    await Deno.rename(tmp, output);
    return { payloadSha256, size: (await Deno.stat(output)).size };
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    await Deno.remove(`${tmp}.payload`).catch(() => {});
    throw err;
  }
}
