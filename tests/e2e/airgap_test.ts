/**
 * The dist file on an air-gapped machine: a Debian minbase root (the debootstrap fixture) with no
 * deno, node, lxc/liblxc, skopeo, umoci or busybox gets only the dist file, a local OCI layout and
 * the example. Inside it, with its own root (pivot_root: a chroot that still lets an unprivileged
 * user create user namespaces) and no network (`unshare -n`), `stacker build` and `stacker inspect`
 * run as root and as the test user; the image has the digest `deno task stacker` gives the same
 * input with the same SOURCE_DATE_EPOCH on the host.
 */
import assert from "node:assert/strict";
import { busyboxLayout, debianLayout, distFile, testUserIds } from "../../scripts/fixtures/mod.ts";
import { notReady } from "./_ready.ts";

const root = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
const EPOCH = "1700000000";
const dec = new TextDecoder();

async function sh(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}) {
  const r = await new Deno.Command(args[0], {
    args: args.slice(1),
    ...opts,
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  return { code: r.code, stdout: dec.decode(r.stdout), stderr: dec.decode(r.stderr) };
}

async function must(args: string[]): Promise<void> {
  const r = await sh(args);
  assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
}

/** The minbase root with the dist file, the base layout and the example (as root: ownership kept). */
async function airgapRoot(dir: string): Promise<void> {
  const debian = await debianLayout();
  const index = JSON.parse(await Deno.readTextFile(`${debian.dir}/index.json`));
  const manifest = JSON.parse(
    await Deno.readTextFile(`${debian.dir}/blobs/${index.manifests[0].digest.replace(":", "/")}`),
  );
  await must([
    "tar",
    "-xzf",
    `${debian.dir}/blobs/${manifest.layers[0].digest.replace(":", "/")}`,
    "-C",
    dir,
  ]);
  const absent = await sh([
    "find",
    dir,
    "(",
    ...["deno", "node", "lxc-usernsexec", "liblxc.so*", "skopeo", "umoci", "busybox"].flatMap((
      n,
    ) => ["-name", n, "-o"]),
    "-name",
    "newuidmap",
    ")",
  ]);
  assert.equal(absent.stdout.trim(), "", "the minbase root already has a tool the dist file must bring");
  await must(["cp", await distFile(), `${dir}/usr/local/bin/stacker`]);
  const base = await busyboxLayout();
  for (const w of ["root", "user"]) {
    await must(["mkdir", "-p", `${dir}/work/${w}`]);
    await must(["cp", "-a", base.dir, `${dir}/work/${w}/base`]);
    await must(["cp", "-a", `${root}/examples/myapp`, `${dir}/work/${w}/example`]);
  }
  // Only the setuid id mappers come from the host (their libraries are in minbase).
  await must(["cp", "-a", "/usr/bin/newuidmap", "/usr/bin/newgidmap", `${dir}/usr/bin/`]);
  const ids = await testUserIds();
  const add = (f: string, line: string) =>
    Deno.writeTextFile(`${dir}/etc/${f}`, line + "\n", { append: true });
  await add("passwd", `builder:x:${ids.uid}:${ids.gid}::/home/builder:/bin/sh`);
  await add("group", `builder:x:${ids.gid}:`);
  await add("subuid", `builder:100000:65536`);
  await add("subgid", `builder:100000:65536`);
  await must(["mkdir", "-p", `${dir}/home/builder`]);
  await must(["chown", "-R", `${ids.uid}:${ids.gid}`, `${dir}/home/builder`, `${dir}/work/user`]);
}

/**
 * Runs `argv` inside `dir` as its root: new mount and network namespaces, proc/sys/dev mounted,
 * pivot_root into it; as `uid` (the test user) when given.
 */
async function inRoot(dir: string, cwd: string, argv: string[], uid?: number) {
  const drop = uid === undefined ? [] : ["setpriv", `--reuid=${uid}`, `--regid=${uid}`, "--clear-groups"];
  const home = uid === undefined ? "/root" : "/home/builder";
  const script = [
    "set -e",
    'mount --bind "$R" "$R"',
    'mount -t proc proc "$R/proc"',
    'mount --rbind /sys "$R/sys"',
    'mount --rbind /dev "$R/dev"',
    'cd "$R"',
    "mkdir -p .old",
    "pivot_root . .old",
    "cd /",
    "umount -l /.old",
    "rmdir /.old",
    'cd "$W"',
    'exec "$@"',
  ].join("\n");
  return await sh([
    "unshare",
    "--mount",
    "--net",
    "--propagation",
    "private",
    "env",
    `R=${dir}`,
    `W=${cwd}`,
    "sh",
    "-c",
    script,
    "sh",
    ...drop,
    "env",
    "-i",
    "PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
    `HOME=${home}`,
    `SOURCE_DATE_EPOCH=${EPOCH}`,
    ...argv,
  ]);
}

async function tagDigest(layout: string, tag: string): Promise<string> {
  const index = JSON.parse(await Deno.readTextFile(`${layout}/index.json`));
  const m = index.manifests.find((d: { annotations?: Record<string, string> }) =>
    d.annotations?.["org.opencontainers.image.ref.name"] === tag
  );
  assert.ok(m, `no tag ${tag} in ${layout}`);
  return m.digest;
}

/** The digest `deno task stacker` (deno run cli.ts) builds for the example on the host. */
async function hostDigest(tag: string): Promise<string> {
  const base = await busyboxLayout();
  const work = await Deno.makeTempDir({ prefix: "airgap-host-" });
  try {
    await must(["cp", "-a", base.dir, `${work}/base`]);
    await must(["cp", "-a", `${root}/examples/myapp`, `${work}/example`]);
    const r = await sh(
      [Deno.execPath(), "run", "-A", "--cached-only", `${root}/cli.ts`, ...buildArgs(tag)],
      { cwd: `${work}/example`, env: { SOURCE_DATE_EPOCH: EPOCH } },
    );
    assert.equal(r.code, 0, r.stderr);
    return await tagDigest(`${work}/example/oci`, "myapp");
  } finally {
    await Deno.remove(work, { recursive: true });
  }
}

function buildArgs(tag: string): string[] {
  return ["build", "-f", "stacker.yaml", "--substitute", `BASE=../base:${tag}`];
}

Deno.test({
  name: "air gap: the dist file alone builds and inspects the example, as root and as the test user",
  ignore: notReady !== undefined || Deno.uid() !== 0,
  fn: async (t) => {
    const dir = await Deno.makeTempDir({ prefix: "airgap-" });
    try {
      await airgapRoot(dir);
      const tag = (await busyboxLayout()).tag;
      const expected = await hostDigest(tag);
      const ids = await testUserIds();
      for (const [who, uid] of [["root", undefined], ["user", ids.uid]] as const) {
        await t.step(who, async () => {
          const cwd = `/work/${who}/example`;
          const build = await inRoot(dir, cwd, ["stacker", ...buildArgs(tag)], uid);
          assert.equal(build.code, 0, build.stderr);
          assert.match(build.stderr, /filesystem myapp built successfully/);
          const inspect = await inRoot(dir, cwd, ["stacker", "inspect", "--json"], uid);
          assert.equal(inspect.code, 0, inspect.stderr);
          assert.deepEqual(JSON.parse(inspect.stdout).map((i: { tag: string }) => i.tag), ["myapp"]);
          assert.equal(await tagDigest(`${dir}${cwd}/oci`, "myapp"), expected);
        });
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
