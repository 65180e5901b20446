/**
 * Storage: time to hand a build a writable rootfs of the Debian base, per backend, beside
 * `cp -a --reflink=auto` of the same unpacked tree; prints the disk used by ten images from one base.
 */
import type { BenchCase, Benchmark } from "./_types.ts";
import { setupBtrfsLoopback, unmountBtrfsLoopback } from "../../lib/storage/mod.ts";

const here = new URL(".", import.meta.url).pathname;
const deno = Deno.execPath();

async function sh(argv: string[]): Promise<string> {
  const o = await new Deno.Command(argv[0], { args: argv.slice(1), stdout: "piped", stderr: "inherit" })
    .output();
  if (!o.success) throw new Error(`${argv.join(" ")} failed`);
  return new TextDecoder().decode(o.stdout);
}

const bench: Benchmark = {
  name: "storage",
  describe: "writable rootfs of the Debian base per backend, beside cp -a --reflink=auto",
  async setup() {
    const dir = await Deno.makeTempDir({ dir: "/var/tmp", prefix: "stacker-ts-bench-storage-" });
    const cases: BenchCase[] = [];
    const helper = [deno, "run", "-A", `${here}_storage_prepare.ts`];
    const types = ["copy", "overlay", "btrfs"];
    // btrfs: a loopback filesystem on the roots dir, as unpriv-setup makes it (root only).
    await setupBtrfsLoopback({
      stackerDir: `${dir}/btrfs/.stacker`,
      rootsDir: `${dir}/btrfs/roots`,
      uid: 0,
      gid: 0,
      size: 4 * 2 ** 30,
    });
    const used = async (p: string) => {
      await sh(["sync", "-f", p]);
      return Number((await sh(["df", "-B1", "--output=used", p])).trim().split("\n")[1]);
    };
    for (const type of types) {
      const roots = `${dir}/${type}/roots`, sd = `${dir}/${type}/.stacker`;
      await sh([...helper, "unpack", type, roots, sd]);
      const before = type === "btrfs" ? await used(roots) : 0;
      // ten images from one base: the disk they take
      for (let i = 0; i < 10; i++) await sh([...helper, "prepare", type, roots, sd, `img${i}`]);
      // du counts reflinked and snapshotted extents once per file, so btrfs reports the df delta.
      const du = type === "btrfs"
        ? `${((await used(roots) - before) / 2 ** 20).toFixed(1)}M more than the base (df)`
        : (await sh(["du", "-sh", roots])).split("\t")[0] + " in all (du, base included)";
      // deno-lint-ignore no-console
      console.error(`storage ${type}: ten images from one Debian base use ${du}`);
    }
    // The reference copies the same unpacked Debian tree a build would start from.
    const chains = `${dir}/copy/roots/chains`;
    const tree = `${chains}/${(await Array.fromAsync(Deno.readDir(chains)))[0].name}/rootfs`;
    const btrfsChains = `${dir}/btrfs/roots/chains`;
    const btrfsTree = `${btrfsChains}/${(await Array.fromAsync(Deno.readDir(btrfsChains)))[0].name}/rootfs`;
    for (const type of types) {
      const roots = `${dir}/${type}/roots`, sd = `${dir}/${type}/.stacker`;
      // On btrfs the reference copy runs on btrfs too, so it can reflink.
      const [src, dest] = type === "btrfs" ? [btrfsTree, `${roots}/ref-copy`] : [tree, `${dir}/ref-copy`];
      cases.push({
        label: `prepare (${type})`,
        ours: { argv: [...helper, "prepare", type, roots, sd, "bench"] },
        reference: {
          argv: ["cp", "-a", "--reflink=auto", src, dest],
          before: () => Deno.remove(dest, { recursive: true }).catch(() => {}),
        },
        referenceName: "cp -a --reflink=auto",
      });
    }
    return {
      cases,
      cleanup: async () => {
        await unmountBtrfsLoopback(`${dir}/btrfs/roots`);
        await Deno.remove(dir, { recursive: true });
      },
    };
  },
};
export default bench;
