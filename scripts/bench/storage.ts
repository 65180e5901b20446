/**
 * Storage: time to hand a build a writable rootfs of the Debian base, per backend, beside
 * `cp -a --reflink=auto` of the same unpacked tree; prints the disk used by ten images from one base.
 */
import type { BenchCase, Benchmark } from "./_types.ts";

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
    for (const type of ["copy", "overlay"]) {
      const roots = `${dir}/${type}/roots`, sd = `${dir}/${type}/.stacker`;
      await sh([...helper, "unpack", type, roots, sd]);
      // ten images from one base: the disk they take
      for (let i = 0; i < 10; i++) await sh([...helper, "prepare", type, roots, sd, `img${i}`]);
      const du = (await sh(["du", "-sh", roots])).split("\t")[0];
      // deno-lint-ignore no-console
      console.error(`storage ${type}: ten images from one Debian base use ${du}`);
    }
    // The reference copies the same unpacked Debian tree a build would start from.
    const chains = `${dir}/copy/roots/chains`;
    const tree = `${chains}/${(await Array.fromAsync(Deno.readDir(chains)))[0].name}/rootfs`;
    for (const type of ["copy", "overlay"]) {
      const roots = `${dir}/${type}/roots`, sd = `${dir}/${type}/.stacker`;
      cases.push({
        label: `prepare (${type})`,
        ours: { argv: [...helper, "prepare", type, roots, sd, "bench"] },
        reference: {
          argv: ["cp", "-a", "--reflink=auto", tree, `${dir}/ref-copy`],
          before: () => Deno.remove(`${dir}/ref-copy`, { recursive: true }).catch(() => {}),
        },
        referenceName: "cp -a --reflink=auto",
      });
    }
    return { cases, cleanup: () => Deno.remove(dir, { recursive: true }) };
  },
};
export default bench;
