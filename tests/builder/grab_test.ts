import assert from "node:assert/strict";
import { BuildError } from "../../lib/util/errors.ts";
import { silentLogger } from "../../lib/util/log.ts";
import { BuildCache } from "../../lib/builder/build_cache.ts";
import { collectGarbage, grab, parseGrabSpec } from "../../lib/builder/grab.ts";
import { countingServices } from "./_helpers/counting_services.ts";

Deno.test("parseGrabSpec() splits LAYER:PATH", () => {
  assert.deepEqual(parseGrabSpec("app:/etc/x"), { layer: "app", path: "/etc/x" });
  assert.deepEqual(parseGrabSpec("app:etc/x"), { layer: "app", path: "/etc/x" });
  assert.throws(() => parseGrabSpec("app"), BuildError);
  assert.throws(() => parseGrabSpec(":x"), BuildError);
});

Deno.test({
  name:
    "grab() copies out of a committed layer on either backend; collectGarbage() keeps what the cache uses",
  ignore: Deno.uid() !== 0,
  fn: async (t) => {
    for (const storageType of ["overlay", "copy"] as const) {
      await t.step(storageType, async () => {
        const dir = await Deno.makeTempDir();
        try {
          const services = await countingServices({
            ociDir: `${dir}/oci`,
            rootsDir: `${dir}/roots`,
            stackerDir: `${dir}/stacker`,
            storageType,
          });
          const snap = await services.storage.prepare("L", { scratch: true });
          const rootfs = snap.diff.kind === "trees" ? snap.diff.rootfs : snap.diff.upper;
          await Deno.mkdir(`${rootfs}/etc`);
          await Deno.writeTextFile(`${rootfs}/etc/conf`, "c");
          await Deno.chmod(`${rootfs}/etc/conf`, 0o640);
          await Deno.symlink("/etc", `${rootfs}/escape`);
          await services.storage.commit("L");
          await Deno.mkdir(`${dir}/out`);
          await grab({ services, layer: "L", path: "/etc/conf", dest: `${dir}/out` });
          assert.equal(await Deno.readTextFile(`${dir}/out/conf`), "c");
          assert.equal((await Deno.stat(`${dir}/out/conf`)).mode! & 0o777, 0o640);
          // A symlink in the layer resolves inside the layer, never to the host's /etc.
          await grab({ services, layer: "L", path: "/escape/conf", dest: `${dir}/out/via-link` });
          assert.equal(await Deno.readTextFile(`${dir}/out/via-link`), "c");
          await assert.rejects(
            () => grab({ services, layer: "L", path: "/escape/passwd", dest: `${dir}/out` }),
            /no such file/,
          );
          assert.deepEqual((await services.storage.list()).names, ["L"]);

          const stray = await services.output.putJson({ stray: true }, "application/json");
          const cache = await BuildCache.open(`${dir}/build.cache`, { log: silentLogger });
          const result = await collectGarbage(services, cache);
          assert.equal((result.layout as { removed: number }).removed, 1);
          assert.equal(await services.output.hasBlob(stray.digest), false);
        } finally {
          await Deno.remove(dir, { recursive: true });
        }
      });
    }
  },
});
