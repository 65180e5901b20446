import assert from "node:assert/strict";
import { foreignController, refuseForeignDirs } from "../../lib/commands/_root_guard.ts";
import type { GlobalOptions } from "../../lib/commands/types.ts";
import { StackerError } from "../../lib/util/errors.ts";

function globals(dir: string): GlobalOptions {
  return {
    ociDir: `${dir}/oci`,
    stackerDir: `${dir}/.stacker`,
    rootsDir: `${dir}/roots`,
    debug: false,
    quiet: false,
    progress: false,
    internalUserns: false,
  };
}

Deno.test({
  name: "refuseForeignDirs() lets root work in its own dirs and refuses a user's, naming them",
  ignore: Deno.uid() !== 0,
  fn: async () => {
    const dir = await Deno.makeTempDir({ dir: "/var/tmp" });
    try {
      await Deno.chmod(dir, 0o755);
      assert.equal(foreignController(globals(dir)), undefined);
      refuseForeignDirs("build", globals(dir));
      await Deno.mkdir(`${dir}/roots`);
      await Deno.chown(`${dir}/roots`, 4242, 4242);
      assert.deepEqual(foreignController(globals(dir)), { uid: 4242, path: `${dir}/roots` });
      const e = (() => {
        try {
          refuseForeignDirs("build", globals(dir));
        } catch (x) {
          return x;
        }
      })();
      assert.ok(e instanceof StackerError);
      assert.equal(e.code, "root.foreign-dir");
      assert.match(e.message, /^Cannot run "build" as root here: ".*\/roots" belongs to uid 4242/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
