import assert from "node:assert/strict";
import { BuildError } from "../../lib/util/errors.ts";
import { lockDir, lockHolder } from "../../lib/builder/lock.ts";

const here = new URL("../../lib/builder/lock.ts", import.meta.url).href;

Deno.test("lockDir() fails fast naming the pid of another holder, and works again after it dies", async () => {
  const dir = await Deno.makeTempDir();
  const script = `import { lockDir } from ${JSON.stringify(here)};
const l = await lockDir(${JSON.stringify(dir)}); console.log("locked"); setInterval(() => l, 1000);`;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", script],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  try {
    const reader = child.stdout.getReader();
    const { value } = await reader.read();
    assert.equal(new TextDecoder().decode(value).trim(), "locked");
    assert.equal(await lockHolder(`${dir}/.lock`), child.pid);
    const err = await lockDir(dir).then(() => undefined, (e) => e);
    assert.ok(err instanceof BuildError);
    assert.equal(err.code, "build.locked");
    assert.match(
      err.message,
      new RegExp(`^couldn't acquire lock on ${dir}/\\.lock: lock owned by pid ${child.pid} `),
    );
    reader.releaseLock();
    child.kill("SIGKILL");
    await child.stdout.cancel();
    await child.status;
    await using held = await lockDir(dir);
    assert.equal(held.path, `${dir}/.lock`);
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("lockDir() is exclusive within one process until released", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const a = await lockDir(dir);
    await assert.rejects(() => lockDir(dir), BuildError);
    a.release();
    a.release();
    const b = await lockDir(dir);
    b.release();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
