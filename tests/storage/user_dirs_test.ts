import assert from "node:assert/strict";
import { setupUserDirs } from "../../lib/storage/user_dirs.ts";
import { StackerError } from "../../lib/util/errors.ts";

Deno.test({
  name: "setupUserDirs() makes the user's stacker and roots dirs and refuses an existing stacker dir",
  ignore: Deno.uid() !== 0,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const opts = { stackerDir: `${dir}/w/.stacker`, rootsDir: `${dir}/w/roots`, uid: 4321, gid: 4322 };
      assert.deepEqual(await setupUserDirs(opts), {});
      for (const d of [opts.stackerDir, opts.rootsDir]) {
        const st = await Deno.stat(d);
        assert.deepEqual([st.uid, st.gid], [4321, 4322]);
      }
      const e = await setupUserDirs(opts).catch((x) => x);
      assert.ok(e instanceof StackerError);
      assert.match(e.message, /^stacker dir .*\/w\/\.stacker already exists, aborting setup$/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
