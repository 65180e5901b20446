/**
 * readFromLayer() (stacker:// reads) on a layer committed in real copy storage: files and trees come
 * out with their bytes, symlinks are resolved inside the layer, a missing path names the layer.
 * Root only (real storage).
 */
import assert from "node:assert/strict";
import { BuildError } from "../../lib/util/errors.ts";
import { readFromLayer } from "../../lib/builder/_read_from_layer.ts";
import { tempLayerContext } from "./_helpers/layer_context.ts";

const isRoot = Deno.uid() === 0;

Deno.test({
  name: "readFromLayer() copies a file or tree out of a committed layer and refuses a missing path",
  ignore: !isRoot,
  fn: async (t) => {
    await using lc = await tempLayerContext();
    const snap = await lc.svc.storage.prepare("src", { scratch: true });
    assert.equal(snap.diff.kind, "trees");
    const root = snap.diff.kind === "trees" ? snap.diff.rootfs : "";
    await Deno.mkdir(`${root}/etc/app`, { recursive: true });
    await Deno.writeTextFile(`${root}/etc/app/conf`, "v=1\n");
    await Deno.symlink("/etc/app", `${root}/link`);
    await lc.svc.storage.commit("src");

    await t.step("a file, through a symlink resolved inside the layer", async () => {
      await readFromLayer(lc.svc, { layer: "src", path: "/link/conf", dest: `${lc.dir}/conf` });
      assert.equal(await Deno.readTextFile(`${lc.dir}/conf`), "v=1\n");
    });
    await t.step("a tree", async () => {
      await readFromLayer(lc.svc, { layer: "src", path: "/etc/app", dest: `${lc.dir}/app` });
      assert.equal(await Deno.readTextFile(`${lc.dir}/app/conf`), "v=1\n");
    });
    await t.step("a missing path", async () => {
      const e = await readFromLayer(lc.svc, { layer: "src", path: "/nope", dest: `${lc.dir}/nope` })
        .then(() => undefined, (x) => x);
      assert.ok(e instanceof BuildError);
      assert.equal(e.code, "build.stacker-import-missing");
      assert.deepEqual(e.context, { layer: "src", path: "/nope" });
      assert.equal(await Deno.lstat(`${lc.dir}/nope`).then(() => true, () => false), false);
    });
  },
});
