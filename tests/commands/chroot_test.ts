import assert from "node:assert/strict";
import { chrootCommand } from "../../lib/commands/chroot.ts";
import { findCommand } from "../../lib/commands/mod.ts";
import { busyboxLayout, makeBusyboxRootfs } from "../../scripts/fixtures/mod.ts";
import { runtimeCtx } from "./_runtime_ctx.ts";

const cli = new URL("../../cli.ts", import.meta.url).pathname;

async function stacker(cwd: string, args: string[], stdin?: string) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", cli, ...args],
    cwd,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
  }
  const out = await child.output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("chroot runs in a throw-away snapshot of a built layer (default: the first layer)", async (t) => {
  const base = await busyboxLayout();
  for (const storage of ["overlay", "copy"]) {
    await t.step(storage, async () => {
      const dir = await Deno.makeTempDir();
      try {
        await Deno.writeTextFile(
          `${dir}/stacker.yaml`,
          `first:\n  from:\n    type: oci\n    url: ${base.dir}:${base.tag}\n  run: echo built > /built\n` +
            `second:\n  from:\n    type: built\n    tag: first\n  run: echo two > /two\n`,
        );
        const b = await stacker(dir, ["--storage-type", storage, "build"]);
        assert.equal(b.code, 0, b.stderr);
        const c = await stacker(dir, ["chroot"], "cat /built; echo scratch > /built; exit 7\n");
        assert.equal(c.code, 7, c.stderr);
        assert.equal(c.stdout, "built\n");
        const again = await stacker(dir, ["exec", "second"], "cat /built /two\n");
        assert.equal(again.code, 0, again.stderr);
        assert.equal(again.stdout, "built\ntwo\n", "changes of the first chroot are gone");
        const missing = await stacker(dir, ["chroot", "nope"]);
        assert.equal(missing.code, 1);
        assert.match(missing.stderr, /no such layer/);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    });
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
