/**
 * generateErofs() against the kernel's own erofs driver (root: a loop mount in a private mount
 * namespace): overlay whiteouts and the opaque xattr survive, the bytes are reproducible, and
 * verity data is appended when asked.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  EROFS_MEDIA_TYPE,
  erofsSupported,
  type GeneratedLayer,
  generateErofs,
  VERITY_ROOT_HASH_ANNOTATION,
  veritySupported,
} from "../../lib/layer/mod.ts";
import { lsetxattr, mknod, S_IFCHR } from "../../lib/ffi/libc.ts";
import { tempRoot } from "../_helpers/layer_root.ts";

const canRun = Deno.uid() === 0 && await erofsSupported();

async function collect(g: GeneratedLayer) {
  const bytes = new Uint8Array(await new Response(g.stream).arrayBuffer());
  return { bytes, meta: await g.done };
}

Deno.test({
  name: "generateErofs() keeps overlay whiteouts and opaque dirs, is reproducible, and appends verity",
  ignore: !canRun,
  fn: async () => {
    await using r = await tempRoot();
    const upper = `${r.dir}/upper`;
    await Deno.mkdir(`${upper}/opq`, { recursive: true });
    await Deno.writeTextFile(`${upper}/opq/kept`, "k");
    lsetxattr(`${upper}/opq`, "user.overlay.opaque", new TextEncoder().encode("y"));
    mknod(`${upper}/gone`, S_IFCHR, 0, 0, 0);
    await Deno.writeTextFile(`${upper}/added`, "a");

    const a = await collect((await generateErofs(upper, { sourceDateEpoch: 1700000000 }))!);
    const b = await collect((await generateErofs(upper, { sourceDateEpoch: 1700000000 }))!);
    assert.deepEqual(a.bytes, b.bytes, "same tree, same epoch: same bytes");
    assert.equal(a.meta.mediaType, EROFS_MEDIA_TYPE);
    assert.equal(a.meta.digest, `sha256:${createHash("sha256").update(a.bytes).digest("hex")}`);
    assert.equal(a.meta.diffId, a.meta.digest);
    assert.equal(a.meta.annotations, undefined);

    const img = `${r.dir}/layer.erofs`;
    await Deno.writeFile(img, a.bytes);
    const mnt = `${r.dir}/mnt`;
    await Deno.mkdir(mnt);
    const script = 'mount -t erofs -o loop,ro "$1" "$2" && stat -c "%F %t,%T" "$2/gone" && ' +
      'getfattr --only-values -n user.overlay.opaque "$2/opq" && echo && cat "$2/added" "$2/opq/kept"';
    const out = await new Deno.Command("unshare", {
      args: ["--mount", "--propagation", "private", "sh", "-c", script, "sh", img, mnt],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    assert.equal(new TextDecoder().decode(out.stdout), "character special file 0,0\ny\nak");

    assert.equal(await generateErofs(`${r.dir}/mnt`), undefined, "an empty dir gives no layer");

    if (await veritySupported()) {
      const v = await collect((await generateErofs(upper, { sourceDateEpoch: 1700000000, verity: true }))!);
      assert.match(v.meta.annotations?.[VERITY_ROOT_HASH_ANNOTATION] ?? "", /^[0-9a-f]{64}$/);
      assert.deepEqual(
        v.bytes.subarray(0, a.bytes.length),
        a.bytes,
        "the image first, the hash area after it",
      );
      await Deno.writeFile(img, v.bytes);
      const ok = await new Deno.Command("veritysetup", {
        args: [
          "verify",
          `--hash-offset=${a.bytes.length}`,
          img,
          img,
          v.meta.annotations![VERITY_ROOT_HASH_ANNOTATION],
        ],
        stdout: "null",
        stderr: "null",
      }).output();
      assert.equal(ok.success, true);
    }
  },
});
