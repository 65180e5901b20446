/**
 * End-to-end build of the example on the Debian base, beside buildah doing the same steps from a
 * Containerfile (vfs storage, chroot isolation, output pushed to an OCI layout):
 *   clean     — empty stacker/storage dirs (the base layout is already local for both);
 *   no-change — the same build again (our cache; buildah's --layers cache);
 *   second    — a second image from the same base (the base is already unpacked for both).
 */
import { debianLayout } from "../fixtures/mod.ts";
import type { BenchCmd, Benchmark } from "./_types.ts";

const root = new URL("../..", import.meta.url).pathname;
const example = `${root}examples/myapp`;

const bench: Benchmark = {
  name: "build",
  describe: "build of examples/myapp on the Debian base (clean, no-change, second image) beside buildah",
  async setup() {
    const base = await debianLayout();
    const work = await Deno.makeTempDir({ dir: "/var/tmp", prefix: "bench-build-" });
    const ours = `${work}/ours`;
    const theirs = `${work}/buildah`;
    await Deno.mkdir(ours);
    await Deno.mkdir(`${theirs}/ctx`, { recursive: true });
    for (const f of ["config.json", "install.sh"]) {
      await Deno.copyFile(`${example}/${f}`, `${theirs}/ctx/${f}`);
    }
    const second = `${work}/second.yaml`;
    await Deno.writeTextFile(
      second,
      (await Deno.readTextFile(`${example}/stacker.yaml`)).replace(/^myapp:/m, "myapp2:")
        .replace("sh /stacker/install.sh", "sh /stacker/install.sh && echo two > /etc/myapp/two"),
    );
    // The second file's relative imports resolve against its own dir.
    for (const f of ["config.json", "install.sh"]) await Deno.copyFile(`${example}/${f}`, `${work}/${f}`);
    const containerfile = (extra: string) =>
      `FROM oci:${base.dir}:${base.tag}\nCOPY config.json install.sh /stacker/\n` +
      `RUN mkdir -p /etc/myapp && cp /stacker/config.json /etc/myapp/config.json && sh /stacker/install.sh${extra}\n` +
      `ENV MYAPP_CONFIG=/etc/myapp/config.json\nCMD ["/usr/bin/myapp"]\n`;
    await Deno.writeTextFile(`${theirs}/ctx/Containerfile`, containerfile(""));
    await Deno.writeTextFile(`${theirs}/ctx/Containerfile.2`, containerfile(" && echo two > /etc/myapp/two"));

    const stacker = (file: string): BenchCmd => ({
      argv: [
        Deno.execPath(),
        "run",
        "-A",
        "--cached-only",
        `${root}cli.ts`,
        "build",
        "-f",
        file,
        "--substitute",
        `BASE=${base.dir}:${base.tag}`,
      ],
      cwd: ours,
      env: { SOURCE_DATE_EPOCH: "1700000000" },
    });
    const buildah = (file: string, tag: string): BenchCmd => ({
      argv: [
        "sh",
        "-c",
        `buildah --root ${theirs}/root --runroot ${theirs}/run --storage-driver vfs bud --quiet --layers ` +
        `--isolation chroot -f ${file} -t ${tag} ${theirs}/ctx >/dev/null && ` +
        `buildah --root ${theirs}/root --runroot ${theirs}/run --storage-driver vfs push --quiet ${tag} ` +
        `oci:${theirs}/oci:${tag} >/dev/null`,
      ],
      env: { SOURCE_DATE_EPOCH: "1700000000" },
    });
    const wipe = (...dirs: string[]) => async () => {
      for (const d of dirs) await Deno.remove(d, { recursive: true }).catch(() => {});
    };
    return {
      cases: [
        {
          label: "clean build",
          ours: {
            ...stacker(`${example}/stacker.yaml`),
            before: wipe(`${ours}/oci`, `${ours}/.stacker`, `${ours}/roots`),
          },
          reference: {
            ...buildah(`${theirs}/ctx/Containerfile`, "myapp"),
            before: wipe(`${theirs}/root`, `${theirs}/run`, `${theirs}/oci`),
          },
          referenceName: "buildah (vfs, chroot)",
        },
        {
          label: "no-change rebuild",
          ours: stacker(`${example}/stacker.yaml`),
          reference: buildah(`${theirs}/ctx/Containerfile`, "myapp"),
          referenceName: "buildah (vfs, chroot, --layers)",
        },
        {
          label: "second image, same base",
          ours: { ...stacker(second), before: wipe(`${ours}/.stacker/build.cache`) },
          reference: {
            ...buildah(`${theirs}/ctx/Containerfile.2`, "myapp2"),
            before: async () => {
              // Drop only the second image's cached steps: buildah keeps the pulled base.
              await new Deno.Command("sh", {
                args: [
                  "-c",
                  `buildah --root ${theirs}/root --runroot ${theirs}/run --storage-driver vfs rmi -f myapp2 >/dev/null 2>&1; true`,
                ],
              }).output();
            },
          },
          referenceName: "buildah (vfs, chroot)",
        },
      ],
      cleanup: () => Deno.remove(work, { recursive: true }),
    };
  },
};
export default bench;
