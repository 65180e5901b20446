import assert from "node:assert/strict";
import { internalRunCommand } from "../../lib/commands/internal_run.ts";
import { makeBusyboxRootfs } from "../../scripts/fixtures/mod.ts";
import { runtimeCtx } from "./_runtime_ctx.ts";

Deno.test("internal-run wants exactly one request file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(internalRunCommand.run(runtimeCtx({ dir, args: [] })), /expected one request file/);
    assert.equal(internalRunCommand.hidden, true);
    assert.equal(internalRunCommand.noUserns, true);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("internal-run runs the request's container and exits with the command's status", async () => {
  // In a child process: the helper resets SIGPIPE and moves cgroups, which a test runner must not.
  const dir = await Deno.makeTempDir({ dir: "/tmp" });
  try {
    await Deno.chmod(dir, 0o755);
    await makeBusyboxRootfs(`${dir}/rootfs`);
    const req = {
      spec: {
        name: `cmdtest-${crypto.randomUUID().slice(0, 8)}`,
        lxcRootfs: { path: `dir:${dir}/rootfs` },
        argv: ["/bin/sh", "-c", "echo via-command; exit 9"],
        env: { PATH: "/bin" },
        binds: [],
        logFile: `${dir}/lxc.log`,
        lxcPath: `${dir}/lxc`,
        busybox: "/bin/busybox",
      },
      resultFile: `${dir}/result.json`,
    };
    await Deno.writeTextFile(`${dir}/req.json`, JSON.stringify(req));
    const cmdUrl = new URL("../../lib/commands/internal_run.ts", import.meta.url).href;
    const ctxUrl = new URL("./_runtime_ctx.ts", import.meta.url).href;
    const code = `import { internalRunCommand } from "${cmdUrl}";
import { runtimeCtx } from "${ctxUrl}";
Deno.exit(await internalRunCommand.run(runtimeCtx({ dir: "${dir}", args: ["${dir}/req.json"] })) as number);`;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", "--cached-only", code],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 9, new TextDecoder().decode(out.stderr));
    assert.equal(new TextDecoder().decode(out.stdout), "via-command\n");
    assert.deepEqual(JSON.parse(await Deno.readTextFile(`${dir}/result.json`)), { ok: true, exitCode: 9 });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
