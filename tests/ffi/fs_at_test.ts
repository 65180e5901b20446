import assert from "node:assert/strict";
import {
  closeAt,
  mkdirAt,
  O_PATH,
  openAt,
  readlinkAt,
  statAt,
  unlinkAt,
  writeAllFd,
} from "../../lib/ffi/fs_at.ts";
import { O_CREAT, O_DIRECTORY, O_EXCL, O_NOFOLLOW, O_RDONLY, O_WRONLY } from "../../lib/ffi/libc.ts";
import { OsError } from "../../lib/util/errors.ts";

Deno.test("the *at calls work relative to a held directory and never follow a final symlink", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const d = openAt(-1, dir, O_RDONLY | O_DIRECTORY);
    try {
      mkdirAt(d, "sub", 0o750);
      assert.deepEqual([statAt(d, "sub").kind, statAt(d, "sub").mode], ["dir", 0o750]);
      const f = openAt(d, "sub/file", O_WRONLY | O_CREAT | O_EXCL, 0o640);
      writeAllFd(f, new TextEncoder().encode("hello"), "file");
      closeAt(f);
      assert.equal(await Deno.readTextFile(`${dir}/sub/file`), "hello");
      assert.equal(statAt(d, "sub/file").size, 5);
      await Deno.symlink("/etc/passwd", `${dir}/link`);
      assert.equal(statAt(d, "link").kind, "symlink");
      assert.equal(readlinkAt(d, "link"), "/etc/passwd");
      const e = (() => {
        try {
          openAt(d, "link", O_RDONLY | O_NOFOLLOW);
        } catch (x) {
          return x;
        }
      })();
      assert.ok(e instanceof OsError && e.errno === 40, "ELOOP"); // ELOOP
      const p = openAt(d, "link", O_PATH | O_NOFOLLOW);
      assert.equal(statAt(p, "").kind, "symlink");
      closeAt(p);
      unlinkAt(d, "link", false);
      unlinkAt(d, "sub/file", false);
      unlinkAt(d, "sub", true);
      assert.deepEqual(await Array.fromAsync(Deno.readDir(dir)), []);
    } finally {
      closeAt(d);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
