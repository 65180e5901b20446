import assert from "node:assert/strict";
import { checkCommand } from "../../lib/commands/check.ts";
import { runtimeCtx } from "./_runtime_ctx.ts";

Deno.test("check reports each runtime requirement as ok on this host", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const ctx = runtimeCtx({ dir });
    const code = await checkCommand.run(ctx);
    const byName = Object.fromEntries(ctx.lines.map((l) => [l.slice(5, l.indexOf(":")), l]));
    assert.equal(code, 0, ctx.lines.join("\n"));
    assert.match(byName["liblxc"], /^ok {3}liblxc: \d+\.\d+/);
    assert.match(byName["newuidmap"], /^ok {3}newuidmap: \/usr\/bin\/newuidmap \(setuid\)/);
    assert.match(byName["newgidmap"], /^ok /);
    assert.match(byName["lxc-usernsexec"], /^ok /);
    assert.match(byName["busybox (static)"], /^ok /);
    assert.match(byName["subuid"], /^ok {3}subuid: 200000:65536/);
    assert.match(byName["roots dir"], /^ok {3}roots dir: .* on \w+/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("check fails naming the Debian package of each missing tool", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const ctx = runtimeCtx({ dir, env: { PATH: dir, HOME: "/root" } });
    const code = await checkCommand.run(ctx);
    assert.equal(code, 1);
    const text = ctx.lines.join("\n");
    assert.match(text, /FAIL newuidmap: missing \(install the Debian package "uidmap"\)/);
    assert.match(text, /FAIL lxc-usernsexec: missing \(install the Debian package "lxc"\)/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("check fails when the roots dir is reached through a symlink anywhere on its path", async () => {
  const dir = await Deno.realPath(await Deno.makeTempDir());
  try {
    await Deno.mkdir(`${dir}/real`);
    await Deno.symlink("real", `${dir}/link`);
    for (const roots of [`${dir}/link/roots`, `${dir}/link/not/yet/roots`, `${dir}/link`]) {
      const ctx = runtimeCtx({ dir });
      const code = await checkCommand.run({ ...ctx, global: { ...ctx.global, rootsDir: roots } });
      assert.equal(code, 1, roots);
      const want = roots.replace("/link", "/real");
      assert.ok(
        ctx.lines.some((l) =>
          l ===
            `FAIL roots dir path: ${roots}: roots dir (--roots-dir) path uses symbolic links, use "${want}" instead`
        ),
        ctx.lines.join("\n"),
      );
    }
    const ctx = runtimeCtx({ dir });
    const code = await checkCommand.run({ ...ctx, global: { ...ctx.global, rootsDir: `${dir}/real/roots` } });
    assert.equal(code, 0, ctx.lines.join("\n"));
    assert.ok(ctx.lines.includes("ok   roots dir path: no symbolic links"), ctx.lines.join("\n"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
