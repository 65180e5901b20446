/**
 * A tar base is untrusted (it may come from a URL): its symlinks must never carry the build's own
 * writes to the host. `overlay_dirs` and `dest:` imports go onto a tar base through the unpacker's
 * chroot-semantics resolver, so `etc/passwd -> /host/file` and `opt -> /host/dir` are replaced
 * inside the rootfs instead of followed, as root and as the unprivileged user.
 */
import assert from "node:assert/strict";
import { chownTree, projectDir, sh, stackerAs, WHO } from "./_project.ts";

for (const who of WHO) {
  Deno.test(`a tar base's symlinks do not take overlay_dirs and dest imports to the host (${who})`, async () => {
    await using dirDir = await projectDir(who, "tarlinks");
    const dir = dirDir.path;
    const base = `${dir}/base`;
    await Deno.mkdir(`${base}/etc`, { recursive: true });
    await Deno.writeTextFile(`${dir}/victim`, "host file\n");
    await Deno.writeTextFile(`${dir}/victim2`, "host file 2\n");
    await Deno.mkdir(`${dir}/hostdir`);
    await Deno.symlink(`${dir}/victim`, `${base}/etc/passwd`);
    // relative, climbing far above the rootfs: chroot semantics clamp it at "/"
    await Deno.symlink(`../../../../../../../..${dir}/victim2`, `${base}/etc/group`);
    await Deno.symlink(`${dir}/hostdir`, `${base}/opt`);
    await sh("tar", ["-C", base, "-czf", `${dir}/base.tar.gz`, "."]);
    await Deno.mkdir(`${dir}/imp`);
    await Deno.writeTextFile(`${dir}/imp/passwd`, "imported passwd\n");
    await Deno.writeTextFile(`${dir}/imp/group`, "imported group\n");
    await Deno.mkdir(`${dir}/ov`);
    await Deno.writeTextFile(`${dir}/ov/planted`, "from overlay dir\n");
    await Deno.writeTextFile(
      `${dir}/stacker.yaml`,
      `t:
  from:
    type: tar
    url: base.tar.gz
  imports:
    - path: imp/passwd
      dest: /etc/passwd
    - path: imp/group
      dest: /etc/group
  overlay_dirs:
    - source: ov
      dest: /opt
`,
    );
    await chownTree(dir, who);
    const r = await stackerAs(who, dir, ["build"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await Deno.readTextFile(`${dir}/victim`), "host file\n", "host file untouched");
    assert.equal(await Deno.readTextFile(`${dir}/victim2`), "host file 2\n", "host file untouched");
    assert.deepEqual(await Array.fromAsync(Deno.readDir(`${dir}/hostdir`)), [], "host dir untouched");

    // In the image the links were replaced inside the rootfs.
    await sh("umoci", ["unpack", "--image", `${dir}/oci:t`, `${dir}/unpacked`]);
    const rootfs = `${dir}/unpacked/rootfs`;
    assert.equal(await Deno.readTextFile(`${rootfs}/etc/passwd`), "imported passwd\n");
    assert.equal(await Deno.readTextFile(`${rootfs}/etc/group`), "imported group\n");
    assert.equal((await Deno.lstat(`${rootfs}/opt`)).isDirectory, true);
    assert.equal(await Deno.readTextFile(`${rootfs}/opt/planted`), "from overlay dir\n");
  });
}
