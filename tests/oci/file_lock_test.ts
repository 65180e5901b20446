import assert from "node:assert/strict";
import { lockHolder, withFileLock } from "../../lib/oci/file_lock.ts";
import { OciError } from "../../lib/util/errors.ts";

async function holdLock(path: string): Promise<Deno.ChildProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./_lock_holder.ts", import.meta.url).pathname, path],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.getReader();
  const { value } = await reader.read();
  assert.match(new TextDecoder().decode(value), /locked/);
  reader.releaseLock();
  return child;
}

Deno.test("withFileLock() fails fast naming the holder's pid when wait is false", async () => {
  const dir = await Deno.makeTempDir();
  const child = await holdLock(`${dir}/l.lock`);
  try {
    const holder = await lockHolder(`${dir}/l.lock`);
    assert.equal(holder?.pid, child.pid);
    let ran = false;
    await assert.rejects(
      withFileLock(`${dir}/l.lock`, () => Promise.resolve(ran = true), { wait: false, what: "the test" }),
      (e: unknown) =>
        e instanceof OciError && e.code === "oci.locked" && e.message.includes(`pid ${child.pid}`),
    );
    assert.equal(ran, false);
  } finally {
    child.kill("SIGKILL");
    await child.status;
    await child.stdout.cancel().catch(() => {});
  }
  // kill -9 released it, and the lock file is still there
  assert.equal(await withFileLock(`${dir}/l.lock`, () => Promise.resolve(7), { wait: false, what: "t" }), 7);
  await Deno.stat(`${dir}/l.lock`);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("withFileLock() serialises holders in one process and releases on error", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const p = `${dir}/l`;
    let inside = 0, max = 0;
    const work = async () => {
      inside++;
      max = Math.max(max, inside);
      await new Promise((r) => setTimeout(r, 10));
      inside--;
    };
    await Promise.all(Array.from({ length: 5 }, () => withFileLock(p, work, { what: "t" })));
    assert.equal(max, 1);
    await assert.rejects(withFileLock(p, () => Promise.reject(new Error("x")), { what: "t" }), /x/);
    assert.equal(await withFileLock(p, () => Promise.resolve("free"), { wait: false, what: "t" }), "free");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("withFileLock() gives up after timeoutMs", async () => {
  const dir = await Deno.makeTempDir();
  const child = await holdLock(`${dir}/l`);
  try {
    const t0 = Date.now();
    await assert.rejects(
      withFileLock(`${dir}/l`, () => Promise.resolve(), { what: "t", timeoutMs: 200 }),
      (e: unknown) => e instanceof OciError && e.code === "oci.locked",
    );
    assert.ok(Date.now() - t0 >= 190);
  } finally {
    child.kill("SIGKILL");
    await child.status;
    await child.stdout.cancel().catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
});
