import assert from "node:assert/strict";
import { BuildError } from "../../lib/util/errors.ts";
import { buildCommand, onRunFailureOf } from "../../lib/commands/build.ts";
import { BUILD_FLAGS } from "../../lib/commands/_flags.ts";
import { EROFS_MEDIA_TYPE, erofsSupported } from "../../lib/layer/mod.ts";
import { type CliRun, runCliProcess } from "./_cli_process.ts";
import {
  busyboxLayout,
  runAsTestUser,
  sourceRootForTestUser,
  testUserIds,
} from "../../scripts/fixtures/mod.ts";

Deno.test("onRunFailureOf() merges --shell-fail and --on-run-failure", () => {
  assert.equal(onRunFailureOf({}), undefined);
  assert.equal(onRunFailureOf({ "shell-fail": true }), "/bin/sh");
  assert.equal(onRunFailureOf({ "on-run-failure": "/bin/bash" }), "/bin/bash");
  assert.equal(onRunFailureOf({ "shell-fail": true, "on-run-failure": "/bin/sh" }), "/bin/sh");
  assert.throws(() => onRunFailureOf({ "shell-fail": true, "on-run-failure": "/bin/bash" }), BuildError);
});

Deno.test("buildCommand takes -f and every build flag of the CLI contract", () => {
  const names = buildCommand.flags.map((f) => f.name);
  assert.ok(names.includes("stacker-file"));
  for (const f of BUILD_FLAGS) assert.ok(names.includes(f.name), f.name);
});

const squashfsYaml = (base: string) => `
parent:
  from:
    type: oci
    url: ${base}
  run: |
    mkdir -p /etc/app
    echo hello > /etc/app/hello
    echo bye > /etc/app/gone
child:
  from:
    type: built
    tag: parent
  run: |
    rm /etc/app/gone
    echo child > /etc/app/child
`;

/** Tags of the layout at `dir` in index order, and the manifest of `tag`. */
async function layoutOf(dir: string, tag?: string) {
  const idx = JSON.parse(await Deno.readTextFile(`${dir}/index.json`)) as {
    manifests: { digest: string; annotations: Record<string, string> }[];
  };
  const tags = idx.manifests.map((m) => m.annotations["org.opencontainers.image.ref.name"]);
  const entry = idx.manifests.find((m) => m.annotations["org.opencontainers.image.ref.name"] === tag);
  const manifest = entry
    ? JSON.parse(await Deno.readTextFile(`${dir}/blobs/sha256/${entry.digest.slice(7)}`)) as {
      layers: { mediaType: string; digest: string; annotations?: Record<string, string> }[];
    }
    : undefined;
  return { tags, manifest };
}

async function unsquashfsList(file: string): Promise<string> {
  const r = await new Deno.Command("unsquashfs", { args: ["-lln", "-d", "", file], stdout: "piped" })
    .output();
  assert.equal(r.code, 0);
  return new TextDecoder().decode(r.stdout);
}

/** The squashfs build through the CLI as `run` sees it (root, or the test user). */
async function squashfsThroughCli(
  dir: string,
  cli: (args: string[]) => Promise<Pick<CliRun, "code" | "stderr">>,
): Promise<void> {
  const built = await cli(["build", "--layer-type", "tar", "--layer-type", "squashfs"]);
  assert.equal(built.code, 0, built.stderr);
  const { tags, manifest } = await layoutOf(`${dir}/oci`, "child-squashfs");
  assert.deepEqual(tags.filter((t) => !t.endsWith("-erofs")), [
    "parent",
    "parent-squashfs",
    "child",
    "child-squashfs",
  ]);
  assert.equal(manifest!.layers.length, 3);
  for (const l of manifest!.layers) {
    assert.match(l.mediaType, /^application\/vnd\.stacker\.image\.layer\.squashfs\+/);
  }
  const top = await unsquashfsList(`${dir}/oci/blobs/sha256/${manifest!.layers[2].digest.slice(7)}`);
  assert.match(top, /^-\S+\s+0\/0\s+6 .* \/etc\/app\/child$/m, top);
  assert.match(top, /^c\S+\s+0\/0\s+0,\s+0 .* \/etc\/app\/gone$/m, top);

  const again = await cli(["build", "--layer-type", "squashfs", "--layer-type", "tar"]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /found cached layer parent/);
  assert.match(again.stderr, /found cached layer child/);
  assert.doesNotMatch(again.stderr, /built successfully/);
}

Deno.test({
  name:
    "stacker build --layer-type squashfs: tags per type, cache, --no-verity, publish, squashfs base, bad types",
  ignore: Deno.uid() !== 0,
  fn: async () => {
    const bb = await busyboxLayout();
    const dir = await Deno.makeTempDir({ prefix: "cli-squashfs-" });
    const cli = (args: string[], cwd = dir): Promise<CliRun> => runCliProcess(args, cwd);
    try {
      await Deno.writeTextFile(`${dir}/stacker.yaml`, squashfsYaml(`${bb.dir}:${bb.tag}`));
      const bad = await cli(["build", "--layer-type", "zip"]);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /unknown layer type: zip/);
      const erofs = await cli(["build", "--layer-type", "erofs"]);
      if (await erofsSupported()) {
        assert.equal(erofs.code, 0, erofs.stderr);
        const e = await layoutOf(`${dir}/oci`, "child-erofs");
        assert.deepEqual(e.tags, ["parent-erofs", "child-erofs"], "erofs only: no tar tags");
        assert.equal(e.manifest!.layers.length, 3);
        for (const l of e.manifest!.layers) assert.equal(l.mediaType, EROFS_MEDIA_TYPE);
      } else {
        assert.equal(erofs.code, 2, erofs.stderr);
        assert.match(erofs.stderr, /erofs-utils/);
      }

      await squashfsThroughCli(dir, (args) => cli(args));

      // --no-verity (and its alias) is a different output: rebuilt, no root hash on the layers
      const plain = await cli([
        "build",
        "--layer-type",
        "tar",
        "--layer-type",
        "squashfs",
        "--no-squashfs-verity",
      ]);
      assert.equal(plain.code, 0, plain.stderr);
      const { manifest } = await layoutOf(`${dir}/oci`, "child-squashfs");
      for (const l of manifest!.layers) assert.equal(l.annotations, undefined);

      const pub = await cli([
        "publish",
        "--url",
        `oci:${dir}/published`,
        "--tag",
        "v1",
        "--layer-type",
        "squashfs",
      ]);
      assert.equal(pub.code, 0, pub.stderr);
      const published = await layoutOf(`${dir}/published`, "child_v1-squashfs");
      assert.deepEqual(published.tags, ["parent_v1-squashfs", "child_v1-squashfs"]);
      assert.deepEqual(published.manifest, manifest, "the squashfs image as built");

      // the squashfs image as the base of another stacker file
      await Deno.mkdir(`${dir}/next`);
      await Deno.writeTextFile(
        `${dir}/next/stacker.yaml`,
        `next:\n  from:\n    type: oci\n    url: ${dir}/oci:child-squashfs\n  run: |\n    test -f /etc/app/child\n    test ! -e /etc/app/gone\n    cat /etc/app/hello > /from-squashfs\n`,
      );
      const next = await cli(["build"], `${dir}/next`);
      assert.equal(next.code, 0, next.stderr);
      const n = await layoutOf(`${dir}/next/oci`, "next");
      assert.equal(n.manifest!.layers.length, 4);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "stacker build --layer-type squashfs works as the unprivileged user",
  ignore: Deno.uid() !== 0,
  fn: async () => {
    const bb = await busyboxLayout();
    const ids = await testUserIds();
    const cliPath = `${sourceRootForTestUser()}/cli.ts`;
    const dir = await Deno.makeTempDir({ dir: "/var/tmp", prefix: "stacker-ts-squashfs-user-" });
    try {
      await Deno.writeTextFile(`${dir}/stacker.yaml`, squashfsYaml(`${bb.dir}:${bb.tag}`));
      await new Deno.Command("chown", { args: ["-R", `${ids.uid}:${ids.gid}`, dir] }).output();
      await squashfsThroughCli(dir, async (args) => {
        const r = await runAsTestUser([Deno.execPath(), "run", "-A", cliPath, ...args], { cwd: dir });
        return { code: r.code, stderr: r.stderr };
      });
    } finally {
      await new Deno.Command("rm", { args: ["-rf", dir] }).output();
    }
  },
});

Deno.test({
  name: "stacker --progress build shows a 'Copying blob' line per base blob; without it nothing",
  ignore: Deno.uid() !== 0,
  fn: async () => {
    const { startRegistry } = await import("../../scripts/fixtures/mod.ts");
    await using reg = await startRegistry();
    const bb = await busyboxLayout();
    await reg.pushLayout(bb.dir, bb.tag, "bb:1");
    const dir = await Deno.makeTempDir({ prefix: "cli-progress-" });
    try {
      await Deno.writeTextFile(
        `${dir}/stacker.yaml`,
        `a:\n  from:\n    type: docker\n    url: docker://${reg.host}/bb:1\n  run: echo hi\n`,
      );
      const run = async (args: string[]) => {
        const r = await runCliProcess(args, dir);
        assert.equal(r.code, 0, r.stdout + r.stderr);
        return r.stdout + r.stderr;
      };
      assert.match(await run(["--progress", "build"]), /Copying blob [0-9a-f]{12}/);
      await Deno.remove(`${dir}/.stacker`, { recursive: true });
      assert.doesNotMatch(await run(["build", "--no-cache"]), /Copying blob/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
