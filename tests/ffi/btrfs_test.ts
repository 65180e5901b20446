import assert from "node:assert/strict";
import {
  createSubvolume,
  destroySubvolume,
  getFlags,
  isSubvolume,
  setReadonly,
  snapshot,
  SUBVOL_RDONLY,
} from "../../lib/ffi/btrfs.ts";
import { OsError } from "../../lib/util/errors.ts";
import { runAsTestUser, sourceRootForTestUser } from "../../scripts/fixtures/mod.ts";
import { loopBtrfs } from "../storage/_loop_btrfs.ts";

Deno.test("btrfs ioctls: create, snapshot ro and rw, flags, destroy on a real loop-mounted btrfs", async () => {
  await using fs = await loopBtrfs();
  const base = `${fs.mnt}/base`;
  createSubvolume(base);
  assert.ok(isSubvolume(base));
  await Deno.mkdir(`${fs.mnt}/plain`);
  assert.equal(isSubvolume(`${fs.mnt}/plain`), false);
  assert.equal(isSubvolume(`${fs.mnt}/missing`), false);
  await Deno.writeTextFile(`${base}/f`, "base");

  snapshot(base, `${fs.mnt}/ro`, { readonly: true });
  assert.equal(getFlags(`${fs.mnt}/ro`) & SUBVOL_RDONLY, SUBVOL_RDONLY);
  assert.equal(await Deno.readTextFile(`${fs.mnt}/ro/f`), "base");
  await assert.rejects(() => Deno.writeTextFile(`${fs.mnt}/ro/g`, "x"), /Read-only file system|EROFS/);

  snapshot(`${fs.mnt}/ro`, `${fs.mnt}/rw`, { readonly: false });
  assert.equal(getFlags(`${fs.mnt}/rw`) & SUBVOL_RDONLY, 0n);
  await Deno.writeTextFile(`${fs.mnt}/rw/f`, "changed");
  assert.equal(await Deno.readTextFile(`${base}/f`), "base");

  setReadonly(`${fs.mnt}/rw`, true);
  assert.equal(getFlags(`${fs.mnt}/rw`) & SUBVOL_RDONLY, SUBVOL_RDONLY);
  for (const p of ["rw", "ro", "base"]) destroySubvolume(`${fs.mnt}/${p}`);
  assert.deepEqual((await Array.fromAsync(Deno.readDir(fs.mnt))).map((e) => e.name), ["plain"]);

  // a plain directory is not a subvolume: the ioctl refuses with an errno, not silently
  const err = (() => {
    try {
      destroySubvolume(`${fs.mnt}/plain`);
    } catch (e) {
      return e;
    }
  })();
  assert.ok(err instanceof OsError, String(err));
  assert.notEqual(err.errno, 0);
});

Deno.test("btrfs ioctls as the unprivileged test user: its own read-only snapshot is destroyed after clearing the flag", async () => {
  await using fs = await loopBtrfs();
  const src = sourceRootForTestUser();
  const script = `${fs.mnt}/probe.ts`;
  await Deno.writeTextFile(
    script,
    `import * as b from "${src}/lib/ffi/btrfs.ts";
const m = "${fs.mnt}";
b.createSubvolume(m + "/v");
await Deno.writeTextFile(m + "/v/f", "x");
b.snapshot(m + "/v", m + "/s", { readonly: true });
b.destroySubvolume(m + "/s");
b.destroySubvolume(m + "/v");
console.log(JSON.stringify((await Array.fromAsync(Deno.readDir(m))).map((e) => e.name)));
`,
  );
  const r = await runAsTestUser([Deno.execPath(), "run", "-A", script]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), '["probe.ts"]');
});
