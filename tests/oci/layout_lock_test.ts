import assert from "node:assert/strict";
import { LayoutLock } from "../../lib/oci/layout_lock.ts";
import { OciError } from "../../lib/util/errors.ts";

Deno.test("LayoutLock.hold() is counted: the lock goes only when the last user released it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const mine = new LayoutLock(dir);
    const other = new LayoutLock(dir); // another process would see the same
    const a = await mine.hold();
    const b = await mine.hold();
    a.release();
    a.release(); // idempotent: does not drop b's share
    assert.deepEqual(await other.tryExclusive(), { busy: `pid ${Deno.pid}` });
    b.release();
    const ex = await other.exclusive();
    // shared holders wait for the exclusive one, saying so
    const waits: number[] = [];
    const joining = mine.hold({ onWait: (h) => waits.push(h?.pid ?? -1) });
    while (waits.length === 0) await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(waits, [Deno.pid]);
    ex.release();
    (await joining).release();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("LayoutLock.exclusive() refuses while its own instance holds (it would wait for itself)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const lock = new LayoutLock(dir);
    await using _held = await lock.hold();
    await assert.rejects(lock.exclusive(), (e: unknown) => e instanceof OciError && e.code === "oci.busy");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("LayoutLock.hold({ bestEffort }) goes on without a lock file it cannot make; without, it fails", async () => {
  const lock = new LayoutLock("/nonexistent/stacker-ts-layout");
  const h = await lock.hold({ bestEffort: true });
  h.release();
  await assert.rejects(lock.hold(), Deno.errors.NotFound);
});
