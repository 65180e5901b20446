/**
 * Repack of the Debian minbase rootfs after a change (1,000 new small files, one 50 MB file, a
 * deleted directory): ours (`generateLayer` of base vs changed tree, gzip, written to a file)
 * beside `umoci repack` of a bundle holding the same change, and GNU `tar -czf` of only the
 * changed paths as the machine's bound. Run directly (`deno run -A scripts/bench/repack.ts BASE
 * ROOTFS OUT`), it is the "ours" side.
 */
import type { Benchmark } from "./_types.ts";

const self = new URL(import.meta.url).pathname;

if (import.meta.main) {
  const [base, rootfs, out] = Deno.args;
  const { generateLayer } = await import("../../lib/layer/mod.ts");
  const g = await generateLayer({ kind: "trees", base, rootfs });
  if (g) {
    const f = await Deno.open(out, { create: true, write: true, truncate: true });
    await g.stream.pipeTo(f.writable);
    await g.done;
  }
}

async function sh(args: string[]): Promise<void> {
  const o = await new Deno.Command(args[0], { args: args.slice(1), stdout: "null", stderr: "piped" })
    .output();
  if (!o.success) throw new Error(`${args.join(" ")}: ${new TextDecoder().decode(o.stderr)}`);
}

async function change(root: string): Promise<void> {
  await Deno.mkdir(`${root}/opt/bench`, { recursive: true });
  for (let i = 0; i < 1000; i++) {
    await Deno.writeTextFile(`${root}/opt/bench/f${i}.txt`, `small file ${i}\n`.repeat(20));
  }
  const big = new Uint8Array(50 << 20);
  for (let i = 0; i < big.length; i += 65536) crypto.getRandomValues(big.subarray(i, i + 65536));
  await Deno.writeFile(`${root}/opt/big.bin`, big);
  await Deno.remove(`${root}/usr/share/doc`, { recursive: true });
}

const bench: Benchmark = {
  name: "repack",
  describe:
    "repack of the Debian rootfs after 1,000 small files, a 50 MB file and a deleted dir, beside umoci repack",
  async setup() {
    // the fixtures are loaded here, not at the top: this file is also the timed "ours" command
    const { debianLayout } = await import("../fixtures/mod.ts");
    const { dir, tag } = await debianLayout();
    const work = await Deno.makeTempDir({ dir: "/var/tmp", prefix: "bench-repack-" });
    await sh(["cp", "-a", dir, `${work}/layout`]);
    await sh(["umoci", "unpack", "--image", `${work}/layout:${tag}`, `${work}/bundle`]);
    await change(`${work}/bundle/rootfs`);
    // Our base is the same unpacked image; the changed tree is the bundle's rootfs.
    await sh(["umoci", "unpack", "--image", `${work}/layout:${tag}`, `${work}/base`]);
    await sh([
      "sh",
      "-c",
      `cd "$1" && find opt/bench opt/big.bin > "$2"`,
      "sh",
      `${work}/bundle/rootfs`,
      `${work}/changed.list`,
    ]);
    return {
      cases: [
        {
          label: "repack",
          ours: {
            argv: [
              Deno.execPath(),
              "run",
              "-A",
              "--cached-only",
              self,
              `${work}/base/rootfs`,
              `${work}/bundle/rootfs`,
              `${work}/ours.tgz`,
            ],
          },
          reference: { argv: ["umoci", "repack", "--image", `${work}/layout:changed`, `${work}/bundle`] },
          referenceName: "umoci repack",
        },
        {
          label: "vs tar -czf",
          ours: {
            argv: [
              Deno.execPath(),
              "run",
              "-A",
              "--cached-only",
              self,
              `${work}/base/rootfs`,
              `${work}/bundle/rootfs`,
              `${work}/ours.tgz`,
            ],
          },
          reference: {
            argv: [
              "tar",
              "-C",
              `${work}/bundle/rootfs`,
              "-czf",
              `${work}/tar.tgz`,
              "-T",
              `${work}/changed.list`,
            ],
          },
          referenceName: "tar -czf (changed paths only)",
        },
      ],
      cleanup: () => Deno.remove(work, { recursive: true }),
    };
  },
};
export default bench;
