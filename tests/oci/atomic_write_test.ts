import assert from "node:assert/strict";
import { atomicWriteFile, syncDir } from "../../lib/oci/atomic_write.ts";
import { OciError } from "../../lib/util/errors.ts";

Deno.test("atomicWriteFile() writes, replaces, streams and leaves no temp files", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const p = `${dir}/f.json`;
    await atomicWriteFile(p, "one");
    assert.equal(await Deno.readTextFile(p), "one");
    await atomicWriteFile(p, new TextEncoder().encode("two"));
    assert.equal(await Deno.readTextFile(p), "two");
    await atomicWriteFile(
      p,
      ReadableStream.from([new TextEncoder().encode("thr"), new TextEncoder().encode("ee")]),
    );
    assert.equal(await Deno.readTextFile(p), "three");
    assert.equal((await Deno.stat(p)).mode! & 0o777, 0o644);
    const names = [];
    for await (const e of Deno.readDir(dir)) names.push(e.name);
    assert.deepEqual(names, ["f.json"]);
    await syncDir(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("atomicWriteFile() keeps the old content when the new stream fails", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const p = `${dir}/f`;
    await atomicWriteFile(p, "old");
    const failing = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new TextEncoder().encode("partial"));
        c.error(new Error("boom"));
      },
    });
    await assert.rejects(atomicWriteFile(p, failing), /boom/);
    assert.equal(await Deno.readTextFile(p), "old");
    const names = [];
    for await (const e of Deno.readDir(dir)) names.push(e.name);
    assert.deepEqual(names, ["f"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("atomicWriteFile() on a full disk names the file, keeps the old content and leaves no temp file", async () => {
  const dir = await Deno.makeTempDir();
  const mount = await new Deno.Command("mount", { args: ["-t", "tmpfs", "-o", "size=256k", "tmpfs", dir] })
    .output();
  assert.equal(mount.code, 0, new TextDecoder().decode(mount.stderr));
  try {
    await atomicWriteFile(`${dir}/index.json`, "old");
    const err = await atomicWriteFile(`${dir}/index.json`, new Uint8Array(1024 * 1024)).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof OciError && err.code === "oci.no-space", String(err));
    assert.equal(err.message, `Cannot write "${dir}/index.json": no space left on device`);
    assert.equal(await Deno.readTextFile(`${dir}/index.json`), "old");
    assert.deepEqual(await Array.fromAsync(Deno.readDir(dir), (e) => e.name), ["index.json"]);
  } finally {
    await new Deno.Command("umount", { args: [dir] }).output();
    await Deno.remove(dir, { recursive: true });
  }
});
