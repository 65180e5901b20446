import assert from "node:assert/strict";
import { chrootCommand } from "../../lib/commands/chroot.ts";
import { findCommand } from "../../lib/commands/mod.ts";
import { NotImplementedError } from "../../lib/util/errors.ts";
import { makeBusyboxRootfs } from "../../scripts/fixtures/mod.ts";
import { runtimeCtx } from "./_runtime_ctx.ts";

Deno.test("chroot of a built layer is not implemented yet, and says so", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(chrootCommand.run(runtimeCtx({ dir, args: ["layer"] })), NotImplementedError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "chroot --rootfs runs the command in the rootfs and returns its exit code",
  // The container is started through `cli.ts internal-run`, which the lead wires into the table.
  ignore: findCommand("internal-run") === undefined,
  async fn() {
    const dir = await Deno.makeTempDir({ dir: "/tmp" });
    try {
      await Deno.chmod(dir, 0o755);
      await makeBusyboxRootfs(`${dir}/rootfs`);
      const ctx = runtimeCtx({
        dir,
        args: ["demo", "echo $STACKER_LAYER_NAME > /tmp/who; exit 5"],
        flags: { rootfs: `${dir}/rootfs` },
      });
      assert.equal(await chrootCommand.run(ctx), 5);
      assert.equal(await Deno.readTextFile(`${dir}/rootfs/tmp/who`), "demo\n");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
