import assert from "node:assert/strict";
import { chainKey } from "../../lib/storage/copy_dirs.ts";
import type { Digest } from "../../lib/oci/types.ts";

// Two processes on one roots dir, each ensuring the same chain with a slow unpack: the lock makes
// them serialize, so the layer is unpacked exactly once and never seen half-made.
for (const type of ["copy", "overlay"] as const) {
  Deno.test(`${type} storage: two processes on one roots dir serialize and unpack the base once`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "stacker-ts-contend-" });
    try {
      const script = `${dir}/p.ts`;
      const digest = `sha256:${"7".repeat(64)}` as Digest;
      await Deno.writeTextFile(
        script,
        `import { openStorage } from "${new URL("../../lib/storage/open_storage.ts", import.meta.url).href}";
import { silentLogger } from "${new URL("../../lib/util/log.ts", import.meta.url).href}";
const s = await openStorage({ rootsDir: "${dir}/roots", stackerDir: "${dir}/sd", type: "${type}", log: silentLogger });
await s.ensureLayers(["${digest}"], async (d) => {
  await Deno.writeTextFile("${dir}/unpacks", Deno.pid + "\\n", { append: true });
  await Deno.writeTextFile(d + "/half", "x");
  await new Promise((r) => setTimeout(r, 400));
  await Deno.writeTextFile(d + "/done", "x");
});
const snap = await s.prepare("n" + Deno.pid, { chain: ["${digest}"] });
console.log(JSON.stringify(snap.diff));
`,
      );
      const run = () =>
        new Deno.Command(Deno.execPath(), { args: ["run", "-A", script], stdout: "piped", stderr: "piped" })
          .output();
      const outs = await Promise.all([run(), run()]);
      for (const o of outs) assert.ok(o.success, new TextDecoder().decode(o.stderr));
      const unpacks = (await Deno.readTextFile(`${dir}/unpacks`)).trim().split("\n");
      assert.equal(unpacks.length, 1);
      const layerDir = type === "copy" ? `${dir}/roots/chains/${chainKey([digest])}/rootfs` : undefined;
      if (layerDir) {
        assert.deepEqual((await Array.fromAsync(Deno.readDir(layerDir), (e) => e.name)).sort(), [
          "done",
          "half",
        ]);
      }
      assert.deepEqual(await Array.fromAsync(Deno.readDir(`${dir}/roots/tmp`)), []);
    } finally {
      await new Deno.Command("chmod", { args: ["-R", "u+rwx", dir] }).output();
      await Deno.remove(dir, { recursive: true });
    }
  });
}
