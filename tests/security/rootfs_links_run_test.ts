/**
 * A base whose `/etc/resolv.conf` or `/stacker` is a symlink (Ubuntu's systemd images ship
 * `/etc/resolv.conf -> ../run/systemd/resolve/stub-resolv.conf`): the run still gets the host's
 * resolver and the imports under /stacker, nothing on the host is touched through the links, and
 * the links are back afterwards (the run's layer does not carry them).
 */
import assert from "node:assert/strict";
import { makeBusyboxRootfs, tarDir, writeImage } from "../../scripts/fixtures/mod.ts";
import { chownTree, projectDir, sh, stackerAs, WHO } from "./_project.ts";

interface Variant {
  readonly name: string;
  readonly base: "oci" | "tar";
  readonly storage: "overlay" | "copy";
  /** Targets of the links in the image; `VICTIM` stands for a host directory. */
  readonly resolv: string;
  readonly stacker: string;
}

const VARIANTS: readonly Variant[] = [
  {
    name: "relative resolv.conf, absolute /stacker, oci base on overlay",
    base: "oci",
    storage: "overlay",
    resolv: "../run/systemd/resolve/stub-resolv.conf",
    stacker: "VICTIM",
  },
  {
    name: "absolute resolv.conf, relative /stacker, tar base on overlay",
    base: "tar",
    storage: "overlay",
    resolv: "/run/systemd/resolve/stub-resolv.conf",
    stacker: "../../../../../..VICTIM",
  },
  {
    name: "relative resolv.conf, absolute /stacker, oci base on copy",
    base: "oci",
    storage: "copy",
    resolv: "../run/systemd/resolve/stub-resolv.conf",
    stacker: "VICTIM",
  },
];

async function makeBase(dir: string, v: Variant, victim: string): Promise<string> {
  const rootfs = `${dir}/baseroot`;
  await makeBusyboxRootfs(rootfs);
  await Deno.mkdir(`${rootfs}/run/systemd/resolve`, { recursive: true });
  await Deno.writeTextFile(`${rootfs}/run/systemd/resolve/stub-resolv.conf`, "nameserver 127.0.0.53\n");
  await Deno.symlink(v.resolv, `${rootfs}/etc/resolv.conf`);
  await Deno.symlink(v.stacker.replace("VICTIM", victim), `${rootfs}/stacker`);
  await tarDir(rootfs, `${dir}/base.tar`);
  await Deno.remove(rootfs, { recursive: true });
  if (v.base === "tar") return `  from:\n    type: tar\n    url: ${dir}/base.tar\n`;
  await writeImage(`${dir}/base-oci`, "links", [`${dir}/base.tar`]);
  return `  from:\n    type: oci\n    url: ${dir}/base-oci:links\n`;
}

async function topLayerNames(oci: string, tag: string): Promise<string[]> {
  const index = JSON.parse(await Deno.readTextFile(`${oci}/index.json`));
  const desc = index.manifests.find((m: { annotations?: Record<string, string> }) =>
    m.annotations?.["org.opencontainers.image.ref.name"] === tag
  );
  const manifest = JSON.parse(await Deno.readTextFile(`${oci}/blobs/sha256/${desc.digest.slice(7)}`));
  const top = manifest.layers.at(-1).digest.slice(7);
  return (await sh("tar", ["-tzf", `${oci}/blobs/sha256/${top}`])).split("\n").filter((l) => l !== "");
}

for (const who of WHO) {
  for (const v of VARIANTS) {
    Deno.test(`a run on a base with symlinked /etc/resolv.conf and /stacker: ${v.name} (${who})`, async () => {
      await using p = await projectDir(who, "mountlinks");
      const victim = `${p.path}/victim`;
      await Deno.mkdir(victim);
      const from = await makeBase(p.path, v, victim);
      await Deno.writeTextFile(`${p.path}/note.txt`, "imported\n");
      await Deno.writeTextFile(
        `${p.path}/stacker.yaml`,
        `t:\n${from}  imports:\n    - note.txt\n  run: |\n    cat /etc/resolv.conf > /got-resolv\n    cat /stacker/imports/note.txt > /got-note\n`,
      );
      await chownTree(p.path, who);
      const r = await stackerAs(who, p.path, ["--storage-type", v.storage, "build"]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(await Array.fromAsync(Deno.readDir(victim)), [], "nothing made on the host");

      await sh("umoci", ["unpack", "--image", `${p.path}/oci:t`, `${p.path}/unpacked`]);
      const rootfs = `${p.path}/unpacked/rootfs`;
      assert.equal(
        await Deno.readTextFile(`${rootfs}/got-resolv`),
        await Deno.readTextFile("/etc/resolv.conf"),
      );
      assert.equal(await Deno.readTextFile(`${rootfs}/got-note`), "imported\n");
      assert.equal(await Deno.readLink(`${rootfs}/etc/resolv.conf`), v.resolv, "the link is back");
      assert.equal(await Deno.readLink(`${rootfs}/stacker`), v.stacker.replace("VICTIM", victim));
      if (v.base === "oci") {
        const names = await topLayerNames(`${p.path}/oci`, "t");
        assert.deepEqual(
          names.filter((n) => /^(\.\/)?(etc\/?|etc\/resolv\.conf|stacker\/?)$/.test(n)),
          [],
          `${names}`,
        );
      }
    });
  }
}
