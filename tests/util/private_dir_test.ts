import assert from "node:assert/strict";
import { ensurePrivateDir, parentOf } from "../../lib/util/private_dir.ts";

Deno.test("ensurePrivateDir() makes a directory 0700 and tightens one of ours", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await ensurePrivateDir(`${dir}/a/b`);
    assert.equal((await Deno.stat(`${dir}/a/b`)).mode! & 0o777, 0o700);
    await Deno.mkdir(`${dir}/open`, { mode: 0o755 });
    await Deno.chmod(`${dir}/open`, 0o755);
    await ensurePrivateDir(`${dir}/open`);
    assert.equal((await Deno.stat(`${dir}/open`)).mode! & 0o777, 0o700);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("parentOf() names the parent directory", () => {
  assert.equal(parentOf("/a/b/c/"), "/a/b");
  assert.equal(parentOf("/a"), "/");
});
