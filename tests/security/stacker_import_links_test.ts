/**
 * A `stacker://` import reads a file of an earlier layer, which the base image or the run made: a
 * symlink there is resolved inside that layer's rootfs, never on the host. `leak -> /host/file`
 * with `hash:` must not hash (and so confirm) the host's file, and a link to something that is not
 * a regular file or directory (a fifo, /dev/zero) is refused instead of read.
 */
import assert from "node:assert/strict";
import { busyboxLayout } from "../../scripts/fixtures/mod.ts";
import { chownTree, projectDir, sh, stackerAs, WHO } from "./_project.ts";

async function sha256(text: string): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function yaml(base: string, victim: string, imports: string): string {
  return `src:
  from:
    type: oci
    url: ${base}
  build_only: true
  run: |
    echo inside > /etc/inside
    ln -s /etc/inside /inlink
    ln -s ../../../../../../..${victim} /leak
    mkfifo /fifo
    ln -s /fifo /fifolink
use:
  from:
    type: built
    tag: src
  imports:
${imports}
`;
}

for (const who of WHO) {
  Deno.test(`stacker:// imports resolve symlinks inside the source layer, never on the host (${who})`, async () => {
    const base = await busyboxLayout();
    await using p = await projectDir(who, "stacker-links");
    const victim = `${p.path}/victim`;
    await Deno.writeTextFile(victim, "host secret\n");
    const write = async (imports: string) => {
      await Deno.writeTextFile(`${p.path}/stacker.yaml`, yaml(`${base.dir}:${base.tag}`, victim, imports));
      await chownTree(p.path, who);
    };

    // A link inside the layer is followed inside it: the import is the layer's file.
    await write(
      `    - path: stacker://src/inlink\n      hash: ${await sha256("inside\n")}\n      dest: /got`,
    );
    const ok = await stackerAs(who, p.path, ["build"]);
    assert.equal(ok.code, 0, ok.stderr);
    await sh("umoci", ["unpack", "--image", `${p.path}/oci:use`, `${p.path}/unpacked`]);
    assert.equal(await Deno.readTextFile(`${p.path}/unpacked/rootfs/got`), "inside\n");

    // A link to a host path names nothing in the layer: no hash of the host file is taken.
    await write(`    - path: stacker://src/leak\n      hash: ${await sha256("host secret\n")}`);
    const leak = await stackerAs(who, p.path, ["build"]);
    assert.notEqual(leak.code, 0, "the host file's hash must not be confirmed");
    assert.match(leak.stderr, /no such file in layer "src"/);

    await write("    - path: stacker://src/fifolink");
    const fifo = await stackerAs(who, p.path, ["build"]);
    assert.notEqual(fifo.code, 0);
    assert.match(fifo.stderr, /stacker:\/\/src\/fifolink.*a fifo, not a regular file or directory/);
  });
}
