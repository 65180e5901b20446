import assert from "node:assert/strict";
import { resolveInRoot } from "../../lib/builder/_in_root.ts";

Deno.test("resolveInRoot() follows symlinks inside the root only", async (t) => {
  const root = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${root}/etc`);
    await Deno.mkdir(`${root}/usr/lib`, { recursive: true });
    await Deno.symlink("/etc", `${root}/abs`);
    await Deno.symlink("../../../../etc", `${root}/usr/rel`);
    await Deno.symlink("usr/lib", `${root}/lib`);
    await Deno.symlink("loop2", `${root}/loop1`);
    await Deno.symlink("loop1", `${root}/loop2`);
    await Deno.symlink("/etc/passwd", `${root}/last`);
    const cases: [string, string][] = [
      ["/abs/passwd", `${root}/etc/passwd`],
      ["/usr/rel/shadow", `${root}/etc/shadow`],
      ["../../etc/x", `${root}/etc/x`],
      ["/lib/x", `${root}/usr/lib/x`],
      ["/last", `${root}/last`],
      ["/", root],
      ["/missing/dir", `${root}/missing/dir`],
    ];
    for (const [path, want] of cases) {
      await t.step(path, async () => assert.equal(await resolveInRoot(root, path), want));
    }
    await assert.rejects(() => resolveInRoot(root, "/loop1/x"), /too many symlinks/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("resolveInRoot({followLast}) follows a final symlink inside the root, re-rooting absolute targets", async () => {
  const root = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${root}/etc`);
    await Deno.writeTextFile(`${root}/etc/inside`, "x");
    await Deno.symlink("/etc/inside", `${root}/abs`);
    await Deno.symlink("etc/../abs", `${root}/rel`);
    await Deno.symlink("../../../../../../tmp", `${root}/up`);
    await Deno.symlink("self", `${root}/self`);
    const follow = { followLast: true };
    assert.equal(await resolveInRoot(root, "/abs", follow), `${root}/etc/inside`);
    assert.equal(await resolveInRoot(root, "/rel", follow), `${root}/etc/inside`);
    assert.equal(await resolveInRoot(root, "/up", follow), `${root}/tmp`, "clamped at the root");
    assert.equal(await resolveInRoot(root, "/abs"), `${root}/abs`, "not followed by default");
    await assert.rejects(() => resolveInRoot(root, "/self", follow), /too many symlinks/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
