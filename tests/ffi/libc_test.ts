import assert from "node:assert/strict";
import {
  closeFd,
  Errno,
  ioctlInt,
  lgetxattr,
  llistxattr,
  lremovexattr,
  lsetxattr,
  mknod,
  O_CREAT,
  O_RDONLY,
  O_WRONLY,
  openFd,
  pipe,
  S_IFCHR,
  S_IFIFO,
  tryIoctlInt,
} from "../../lib/ffi/libc.ts";
import { OsError } from "../../lib/util/errors.ts";
import { loopBtrfs } from "../storage/_loop_btrfs.ts";

const FICLONE = 0x40049409n;

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ dir: "/var/tmp", prefix: "stacker-ts-libc-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("mknod makes an overlay whiteout (c 0,0) and a fifo; an existing path is EEXIST", async () => {
  await withDir(async (dir) => {
    mknod(`${dir}/wh`, S_IFCHR, 0o000, 0, 0);
    const st = await Deno.lstat(`${dir}/wh`);
    assert.ok(st.isCharDevice);
    assert.equal(st.rdev, 0);
    mknod(`${dir}/fifo`, S_IFIFO, 0o640);
    const f = await Deno.lstat(`${dir}/fifo`);
    assert.ok(f.isFifo);
    assert.equal(f.mode! & 0o777, 0o640 & ~Deno.umask());
    assert.throws(
      () => mknod(`${dir}/fifo`, S_IFIFO, 0o600),
      (e) => e instanceof OsError && e.errno === Errno.EEXIST,
    );
  });
});

Deno.test("xattrs: set, get, list, remove, on a symlink itself (l* calls do not follow)", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/f`, "x");
    const value = new Uint8Array([0, 1, 2, 255]);
    lsetxattr(`${dir}/f`, "user.test", value);
    lsetxattr(`${dir}/f`, "trusted.overlay.opaque", new TextEncoder().encode("y"));
    assert.deepEqual(lgetxattr(`${dir}/f`, "user.test"), value);
    assert.deepEqual(llistxattr(`${dir}/f`).sort(), ["trusted.overlay.opaque", "user.test"]);
    assert.equal(lgetxattr(`${dir}/f`, "user.missing"), undefined);
    lremovexattr(`${dir}/f`, "user.test");
    assert.deepEqual(llistxattr(`${dir}/f`), ["trusted.overlay.opaque"]);
    await Deno.symlink("f", `${dir}/l`);
    lsetxattr(`${dir}/l`, "trusted.on-link", new Uint8Array([1]));
    assert.deepEqual(llistxattr(`${dir}/l`), ["trusted.on-link"]);
    assert.deepEqual(llistxattr(`${dir}/f`), ["trusted.overlay.opaque"]);
  });
});

Deno.test("pipe returns two fds that carry bytes", async () => {
  const [r, w] = pipe();
  try {
    assert.ok(r >= 0 && w >= 0 && r !== w);
    // /proc/self/fd gives a path for each raw fd, so Deno's own file API can use them
    const wf = await Deno.open(`/proc/self/fd/${w}`, { write: true });
    await wf.write(new TextEncoder().encode("hi"));
    wf.close();
    const rf = await Deno.open(`/proc/self/fd/${r}`, { read: true });
    const buf = new Uint8Array(2);
    assert.equal(await rf.read(buf), 2);
    rf.close();
    assert.equal(new TextDecoder().decode(buf), "hi");
  } finally {
    closeFd(r);
    closeFd(w);
  }
});

Deno.test("ioctl FICLONE clones a file on btrfs and is refused on tmpfs", async () => {
  await using fs = await loopBtrfs();
  const data = new Uint8Array(1 << 20).map((_, i) => i & 0xff);
  await Deno.writeFile(`${fs.mnt}/src`, data);
  const src = openFd(`${fs.mnt}/src`, O_RDONLY);
  const dst = openFd(`${fs.mnt}/dst`, O_WRONLY | O_CREAT, 0o644);
  try {
    ioctlInt(dst, FICLONE, BigInt(src), "clone");
  } finally {
    closeFd(dst);
  }
  try {
    assert.deepEqual(await Deno.readFile(`${fs.mnt}/dst`), data);
    const shm = await Deno.makeTempDir({ dir: "/dev/shm" });
    try {
      const other = openFd(`${shm}/dst`, O_WRONLY | O_CREAT, 0o644);
      try {
        const r = tryIoctlInt(other, FICLONE, BigInt(src));
        assert.equal(r.ok, false);
        assert.equal(!r.ok && r.errno, Errno.EXDEV);
      } finally {
        closeFd(other);
      }
    } finally {
      await Deno.remove(shm, { recursive: true });
    }
  } finally {
    closeFd(src);
  }
});
