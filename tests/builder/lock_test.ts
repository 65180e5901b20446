import assert from "node:assert/strict";
import { BuildError } from "../../lib/util/errors.ts";
import { lockDir, lockHolder } from "../../lib/builder/lock.ts";
import { memoryLogger } from "../../lib/util/log.ts";
import { runAsTestUser, sourceRootForTestUser, testUserIds } from "../../scripts/fixtures/mod.ts";

const here = new URL("../../lib/builder/lock.ts", import.meta.url).href;

Deno.test("lockDir() with timeout 0 fails fast naming the pid of another holder; after a kill -9 it is free", async () => {
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
    const err = await lockDir(dir, { timeoutMs: 0 }).then(() => undefined, (e) => e);
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
    await using held = await lockDir(dir, { timeoutMs: 0 });
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
    await assert.rejects(() => lockDir(dir, { timeoutMs: 0 }), BuildError);
    a.release();
    a.release();
    const b = await lockDir(dir, { timeoutMs: 0 });
    b.release();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("lockDir() waits for the holder, says once whom it waits for, and gets the lock when it is released", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const a = await lockDir(dir);
    const { log, lines } = memoryLogger("info");
    let got = false;
    const waiting = lockDir(dir, { log }).then((l) => {
      got = true;
      return l;
    });
    // the waiter reports as soon as it finds the lock busy; poll its log, not the clock
    while (lines.length === 0) await new Promise((r) => setTimeout(r, 5));
    assert.equal(got, false);
    assert.match(lines[0], new RegExp(`waiting for lock held by pid ${Deno.pid} \\(.*\\) on ${dir}/\\.lock`));
    a.release();
    const b = await waiting;
    assert.equal(lines.length, 1);
    b.release();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("lockDir() gives up after its timeout with stacker's message", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await using _a = await lockDir(dir);
    const err = await lockDir(dir, { timeoutMs: 50 }).then(() => undefined, (e) => e);
    assert.ok(err instanceof BuildError);
    assert.match(
      err.message,
      new RegExp(`^couldn't acquire lock on ${dir}/\\.lock: lock owned by pid ${Deno.pid} .*--lock-timeout`),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("lockDir() locks a lock file it may not write (another user's) through a read-only fd", {
  ignore: Deno.uid() !== 0,
}, async () => {
  const dir = await Deno.makeTempDir({ dir: "/var/tmp", prefix: "lock-foreign-" });
  try {
    const ids = await testUserIds();
    await Deno.chmod(dir, 0o755);
    await Deno.chown(dir, ids.uid, ids.gid);
    await Deno.writeTextFile(`${dir}/.lock`, "", { mode: 0o644 }); // root's, as a root build leaves it
    const lockModule = `file://${sourceRootForTestUser()}/lib/builder/lock.ts`;
    const script = `import { lockDir } from ${JSON.stringify(lockModule)};
const l = await lockDir(${JSON.stringify(dir)}, { timeoutMs: 0 }); console.log("locked " + l.path);`;
    const r = await runAsTestUser([Deno.execPath(), "eval", script]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), `locked ${dir}/.lock`);
    assert.equal((await Deno.stat(`${dir}/.lock`)).uid, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("lockDir() takes the new lock file when the held one was removed while waiting (clean)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const a = await lockDir(`${dir}/s`);
    const { log, lines } = memoryLogger("info");
    const waiting = lockDir(`${dir}/s`, { log });
    while (lines.length === 0) await new Promise((r) => setTimeout(r, 5));
    // what clean does: remove the dir while holding its lock, then release
    await Deno.remove(`${dir}/s`, { recursive: true });
    a.release();
    const b = await waiting;
    // the waiter holds the file the path names now, so a third locker is refused
    assert.equal((await Deno.stat(`${dir}/s/.lock`)).isFile, true);
    await assert.rejects(() => lockDir(`${dir}/s`, { timeoutMs: 0 }), BuildError);
    b.release();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
