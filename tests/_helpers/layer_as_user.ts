/**
 * Test helper run as the unprivileged test user: unpacks the layers named in its JSON argument
 * with lib/layer and prints one JSON line: { ok, stats } or { ok: false, code, message, context }.
 * argv[0]: JSON { rootfs, whiteouts?, layers: [{ path, mediaType, diffId? }] }, or
 * { generate: { base, rootfs, out } } to write the uncompressed layer of base → rootfs to `out`, or
 * { removeLocked: dir } to build a tree with mode-000 directories there and remove it with FsOps.
 */
import { fsOpsFor, generateLayer, type InRootPath, unpackImage } from "../../lib/layer/mod.ts";
import { StackerError } from "../../lib/util/errors.ts";
import { memoryLogger } from "../../lib/util/log.ts";

const req = JSON.parse(Deno.args[0]);
const { log, lines } = memoryLogger("warn");
const out = (v: unknown) => Deno.stdout.writeSync(new TextEncoder().encode(JSON.stringify(v) + "\n"));
try {
  if (req.removeLocked) {
    const dir = req.removeLocked as InRootPath;
    Deno.mkdirSync(`${dir}/a/b/c`, { recursive: true });
    Deno.writeTextFileSync(`${dir}/a/b/c/f`, "x");
    for (const d of [`${dir}/a/b/c`, `${dir}/a/b`, `${dir}/a`]) Deno.chmodSync(d, 0);
    const ops = fsOpsFor(true);
    const before = ops.lstat(dir) !== undefined;
    ops.remove(dir, true);
    out({ ok: true, before, after: ops.lstat(dir) !== undefined });
    Deno.exit(0);
  }
  if (req.generate) {
    const g = await generateLayer({ kind: "trees", base: req.generate.base, rootfs: req.generate.rootfs }, {
      compression: "none",
    });
    if (g) await g.stream.pipeTo((await Deno.open(req.generate.out, { create: true, write: true })).writable);
    out({ ok: true, meta: await g?.done });
    Deno.exit(0);
  }
  const stats = await unpackImage(
    req.layers.map((l: { path: string; mediaType: string; diffId?: string }) => ({
      open: async () => (await Deno.open(l.path)).readable,
      mediaType: l.mediaType,
      diffId: l.diffId,
      digest: "sha256:test",
    })),
    req.rootfs,
    { whiteouts: req.whiteouts ?? "apply", log },
  );
  out({ ok: true, stats, warnings: lines });
} catch (e) {
  if (e instanceof StackerError) out({ ok: false, code: e.code, message: e.message, context: e.context });
  else out({ ok: false, code: "unexpected", message: String(e) });
}
