/**
 * The pipeline (`buildLayers`) end to end on the busybox fixture with the real services (overlay
 * storage unless a test says otherwise) and counters on unpack, run and generate. Root only; the
 * unprivileged user is covered through the CLI in tests/e2e.
 */
import assert from "node:assert/strict";
import { loopBtrfs } from "../storage/_loop_btrfs.ts";
import { busyboxLayout } from "../../scripts/fixtures/mod.ts";
import { BuildError, StackerError } from "../../lib/util/errors.ts";
import { memoryLogger, silentLogger } from "../../lib/util/log.ts";
import { loadPlan } from "../../lib/builder/_wiring.ts";
import { gitVersion } from "../../lib/builder/git_version.ts";
import type { ImageConfig, Manifest } from "../../lib/oci/types.ts";
import { authorOf, buildLayers, sourceDateEpochOf, staleLayers } from "../../lib/builder/build.ts";
import type { PlannedLayer } from "../../lib/builder/build_layer.ts";
import type { LayerDefinition } from "../../lib/builder/types.ts";
import { countingServices } from "./_helpers/counting_services.ts";
import { OciLayout } from "../../lib/oci/mod.ts";

const isRoot = Deno.uid() === 0;
const EPOCH = { SOURCE_DATE_EPOCH: "1700000000" };

interface Env extends AsyncDisposable {
  dir: string;
  src: string;
  base: string;
  run(
    defs: LayerDefinition[],
    env?: Record<string, string>,
  ): Promise<
    {
      result: Awaited<ReturnType<typeof buildLayers>>;
      lines: string[];
      counters: { unpacks: number; runs: number; generated: number };
    }
  >;
  image(tag: string): Promise<{ manifest: Manifest; config: ImageConfig }>;
  /** Lists a layer blob's entries with `tar -tvz`. */
  entries(digest: string): Promise<string[]>;
}

type Backend = "overlay" | "copy" | "btrfs";
/** Every backend; btrfs on a loop-mounted btrfs the test makes and removes. */
const BACKENDS: readonly Backend[] = ["overlay", "copy", "btrfs"];

async function setup(storageType: Backend = "overlay"): Promise<Env> {
  const dir = await Deno.makeTempDir({ prefix: "build-test-" });
  const btrfs = storageType === "btrfs" ? await loopBtrfs() : undefined;
  const roots = btrfs ? `${btrfs.mnt}/roots` : `${dir}/roots`;
  const src = `${dir}/src`;
  await Deno.mkdir(src);
  const bb = await busyboxLayout();
  const out = `${dir}/oci`;
  return {
    dir,
    src,
    base: `${bb.dir}:${bb.tag}`,
    async run(defs, env = {}) {
      const services = await countingServices({
        ociDir: out,
        rootsDir: roots,
        stackerDir: `${dir}/stacker`,
        storageType,
      });
      const { log, lines } = memoryLogger("info");
      const plan: PlannedLayer[] = defs.map((def) => ({
        def,
        file: `${src}/stacker.yaml`,
        stackerYaml: "# test\n" + defs.map((d) => d.name).join(","),
      }));
      const result = await buildLayers(plan, {
        ociDir: out,
        stackerDir: `${dir}/stacker`,
        rootsDir: roots,
        env,
        log,
        services,
      });
      return { result, lines, counters: services.counters };
    },
    async image(tag) {
      const layout = await OciLayout.open(out);
      const desc = await layout.resolve(tag);
      assert.ok(desc, `tag ${tag} exists`);
      const manifest = await layout.readJson<Manifest>(desc);
      return { manifest, config: await layout.readJson<ImageConfig>(manifest.config) };
    },
    async entries(digest) {
      const r = await new Deno.Command("tar", {
        args: ["-tzf", `${out}/blobs/${digest.replace(":", "/")}`],
        stdout: "piped",
      }).output();
      return new TextDecoder().decode(r.stdout).split("\n").filter((l) => l);
    },
    async [Symbol.asyncDispose]() {
      await Deno.remove(dir, { recursive: true });
      await btrfs?.[Symbol.asyncDispose]();
    },
  };
}

function exampleDefs(e: Env): LayerDefinition[] {
  return [{
    name: "myapp",
    from: { type: "oci", url: e.base },
    imports: [{ path: `${e.src}/config.json` }, { path: `${e.src}/install.sh` }],
    run: [
      "mkdir -p /etc/myapp",
      "cp /stacker/imports/config.json /etc/myapp/",
      "sh /stacker/imports/install.sh",
    ],
    environment: { APP: "myapp" },
    cmd: "/bin/myapp --serve",
    labels: { "org.example.app": "myapp" },
  }, {
    name: "child",
    from: { type: "built", tag: "myapp" },
    run: "echo child > /etc/child",
  }];
}

async function writeExampleSources(e: Env): Promise<void> {
  await Deno.writeTextFile(`${e.src}/config.json`, '{"greeting": "hello"}\n');
  await Deno.writeTextFile(
    `${e.src}/install.sh`,
    "printf '#!/bin/sh\\ncat /etc/myapp/config.json\\n' > /bin/myapp\nchmod 755 /bin/myapp\n",
  );
}

Deno.test({
  name: "buildLayers() builds the example: one new layer, config, annotations, tags; then all from cache",
  ignore: !isRoot,
  fn: async (t) => {
    for (const storageType of BACKENDS) {
      await t.step(storageType, () => exampleOn(storageType));
    }
  },
});

async function exampleOn(storageType: Backend): Promise<void> {
  {
    await using e = await setup(storageType);
    await writeExampleSources(e);
    const first = await e.run(exampleDefs(e), EPOCH);
    assert.deepEqual(first.result.layers.map((l) => [l.name, l.cached, l.newLayers]), [
      ["myapp", false, 1],
      ["child", false, 1],
    ]);
    assert.ok(
      first.lines.includes("filesystem myapp built successfully layer=myapp"),
      first.lines.join("\n"),
    );
    const { manifest, config } = await e.image("myapp");
    assert.equal(manifest.layers.length, 2, "busybox + one layer");
    const own = await e.entries(manifest.layers[1].digest);
    assert.ok(own.includes("etc/myapp/config.json"), own.join("\n"));
    assert.ok(own.includes("bin/myapp"));
    assert.ok(!own.some((n) => n.startsWith("stacker")), "the /stacker mount point is not in the layer");
    assert.deepEqual(config.config?.Cmd, ["/bin/myapp", "--serve"]);
    const baseLayout = await OciLayout.open(e.base.slice(0, e.base.lastIndexOf(":")));
    const baseManifest = await baseLayout.readJson<Manifest>((await baseLayout.resolve("latest"))!);
    const baseEnv = (await baseLayout.readJson<ImageConfig>(baseManifest.config)).config?.Env ?? [];
    assert.deepEqual(config.config?.Env, [...baseEnv, "APP=myapp"], "appended to the base's Env");
    assert.equal(config.config?.Labels?.["org.example.app"], "myapp");
    assert.equal(config.author, "stacker");
    assert.equal(config.created, "2023-11-14T22:13:20Z");
    assert.equal(config.rootfs.diff_ids.length, 2);
    assert.equal(manifest.annotations?.["io.stackeroci.stacker.stacker_yaml"], "# test\nmyapp,child");
    const child = await e.image("child");
    assert.equal(child.manifest.layers.length, 3);
    assert.deepEqual(child.config.config?.Cmd, ["/bin/myapp", "--serve"], "Cmd inherited from the parent");

    // skopeo reads what we wrote.
    const sk = await new Deno.Command("skopeo", {
      args: ["inspect", `oci:${e.dir}/oci:child`],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(sk.success, new TextDecoder().decode(sk.stderr));
    assert.equal(JSON.parse(new TextDecoder().decode(sk.stdout)).Layers.length, 3);

    // No change: every layer from the cache; nothing unpacked, run or compressed.
    const second = await e.run(exampleDefs(e), EPOCH);
    assert.deepEqual(second.result.layers.map((l) => l.cached), [true, true]);
    assert.deepEqual(second.counters, { unpacks: 0, runs: 0, generated: 0 });
    assert.ok(second.lines.includes("found cached layer myapp"));
    assert.ok(second.lines.includes("found cached layer child"));
    assert.equal((await e.image("myapp")).manifest.layers[1].digest, manifest.layers[1].digest);
  }
}

Deno.test({
  name: "buildLayers() rebuilds exactly the affected layers and their descendants, saying why",
  ignore: !isRoot,
  fn: async () => {
    await using e = await setup();
    await writeExampleSources(e);
    const defs: LayerDefinition[] = [
      ...exampleDefs(e),
      { name: "other", from: { type: "oci", url: e.base }, run: "touch /other" },
    ];
    await e.run(defs, EPOCH);
    const reason = (lines: string[], layer: string) =>
      lines.find((l) =>
        l.endsWith(`layer=${layer}`) && (l.startsWith("cache miss") || l.startsWith("rebuilding"))
      );

    await Deno.writeTextFile(`${e.src}/config.json`, '{"greeting": "changed"}\n');
    const a = await e.run(defs, EPOCH);
    assert.deepEqual(a.result.layers.map((l) => [l.name, l.cached]), [["myapp", false], ["child", false], [
      "other",
      true,
    ]]);
    assert.equal(
      reason(a.lines, "myapp"),
      `cache miss because import content changed: ${e.src}/config.json layer=myapp`,
    );
    assert.equal(reason(a.lines, "child"), "cache miss because base layer changed layer=child");
    assert.equal(a.counters.runs, 2);

    const b = await e.run(defs, { SOURCE_DATE_EPOCH: "1700000001" });
    assert.equal(reason(b.lines, "other"), "cache miss because SOURCE_DATE_EPOCH changed layer=other");

    const changed = defs.map((d) => d.name === "other" ? { ...d, run: "touch /other2" } : d);
    const c = await e.run(changed, { SOURCE_DATE_EPOCH: "1700000001" });
    assert.deepEqual(c.result.layers.map((l) => l.cached), [true, true, false]);
    assert.equal(reason(c.lines, "other"), "cache miss because layer definition was changed layer=other");

    const d = await e.run(changed, { SOURCE_DATE_EPOCH: "1700000001", https_proxy: "http://proxy:3128" });
    assert.deepEqual(d.result.layers.map((l) => l.cached), [false, false, false]);
    assert.equal(reason(d.lines, "myapp"), "cache miss because build environment changed layer=myapp");
  },
});

Deno.test({
  name: "buildLayers() gives identical digests for two clean builds with SOURCE_DATE_EPOCH",
  ignore: !isRoot,
  fn: async () => {
    const digests: string[][] = [];
    for (let i = 0; i < 2; i++) {
      await using e = await setup();
      await writeExampleSources(e);
      const { result } = await e.run(exampleDefs(e), EPOCH);
      const { manifest } = await e.image("child");
      digests.push([
        ...result.layers.map((l) => l.manifest.digest),
        manifest.config.digest,
        ...manifest.layers.map((l) => l.digest),
      ]);
      // a pause, so that "now" differs if it leaked into anything
      await new Promise((r) => setTimeout(r, 1100));
    }
    assert.deepEqual(digests[0], digests[1]);
  },
});

Deno.test({
  name: "buildLayers() keeps the previous outputs and cache when a run fails, and a fixed file builds",
  ignore: !isRoot,
  fn: async () => {
    await using e = await setup();
    await writeExampleSources(e);
    const defs = exampleDefs(e);
    await e.run(defs, EPOCH);
    const before = await e.image("child");
    const broken = defs.map((d) => d.name === "child" ? { ...d, run: "echo x > /etc/child\nexit 42" } : d);
    const err = await e.run(broken, EPOCH).then(() => undefined, (x) => x);
    assert.ok(err instanceof StackerError, String(err));
    assert.match(err.message, /run commands failed for image "child" .*exit code 42/);
    assert.equal(err.context.layer, "child");
    assert.deepEqual(
      (await e.image("child")).manifest,
      before.manifest,
      "the old tag still points at the good image",
    );
    const fixed = defs.map((d) => d.name === "child" ? { ...d, run: "echo fixed > /etc/child" } : d);
    const again = await e.run(fixed, EPOCH);
    assert.deepEqual(again.result.layers.map((l) => l.cached), [true, false]);
    const now = await e.image("child");
    assert.notEqual(now.manifest.layers[2].digest, before.manifest.layers[2].digest);
  },
});

Deno.test({
  name: "buildLayers() handles build_only chains, stacker:// imports, dest imports and overlay_dirs",
  ignore: !isRoot,
  fn: async (t) => {
    for (const storageType of BACKENDS) await t.step(storageType, () => directivesOn(storageType));
  },
});

async function directivesOn(storageType: Backend): Promise<void> {
  {
    await using e = await setup(storageType);
    await Deno.mkdir(`${e.src}/overlay/etc`, { recursive: true });
    await Deno.writeTextFile(`${e.src}/overlay/etc/overlaid`, "o");
    await Deno.writeTextFile(`${e.src}/file.txt`, "f");
    const defs: LayerDefinition[] = [
      {
        name: "builder",
        from: { type: "oci", url: e.base },
        buildOnly: true,
        run: "mkdir /out && echo bin > /out/tool",
      },
      { name: "builder2", from: { type: "built", tag: "builder" }, buildOnly: true, run: "echo 2 > /two" },
      {
        name: "final",
        from: { type: "built", tag: "builder2" },
        imports: [
          { path: "stacker://builder/out/tool", dest: "/usr/bin/tool" },
          { path: `${e.src}/file.txt`, dest: "/srv/" },
        ],
        overlayDirs: [{ source: `${e.src}/overlay`, dest: "/" }],
        run: "test -f /etc/overlaid && test -f /usr/bin/tool && test -f /srv/file.txt && echo ok > /ran",
      },
      { name: "empty", from: { type: "built", tag: "final" } },
      {
        name: "scratchy",
        from: { type: "scratch" },
        imports: [{ path: `${e.src}/file.txt`, dest: "/file" }],
      },
    ];
    const { result } = await e.run(defs, EPOCH);
    const tags = (await (await OciLayout.open(`${e.dir}/oci`)).tags()).map((t) => t.name).sort();
    assert.deepEqual(tags, ["empty", "final", "scratchy"], "build_only layers are not tagged");
    const { manifest, config } = await e.image("final");
    // busybox, builder's diff, builder2's diff, overlay dir, tool import, file import, own run diff
    assert.equal(manifest.layers.length, 7);
    assert.deepEqual(config.history?.slice(-5).map((h) => h.created_by), [
      "stacker overlay dir for final",
      "stacker overlay dir for final",
      "stacker overlay dir for final",
      "stacker build of final",
      "stacker build",
    ]);
    assert.deepEqual(await e.entries(manifest.layers[3].digest), ["etc/", "etc/overlaid"]);
    assert.deepEqual(await e.entries(manifest.layers[4].digest), ["usr/", "usr/bin/", "usr/bin/tool"]);
    assert.deepEqual(await e.entries(manifest.layers[5].digest), ["srv/", "srv/file.txt"]);
    // Only what the run made; directories whose mtime the container setup touched (/etc for the
    // resolv.conf mount point) may come along, but no imported file is repeated.
    const own = await e.entries(manifest.layers[6].digest);
    assert.ok(own.includes("ran"), own.join(" "));
    assert.deepEqual(
      own.filter((n) => !n.endsWith("/") && n !== "ran"),
      [],
      "the run's layer does not repeat imports",
    );
    assert.equal(
      result.layers.find((l) => l.name === "empty")?.newLayers,
      0,
      "nothing changed: no new layer",
    );
    assert.equal((await e.image("empty")).manifest.layers.length, 7);
    assert.deepEqual((await e.image("scratchy")).manifest.layers.length, 1);
  }
}

Deno.test("sourceDateEpochOf() and authorOf() read the environment", () => {
  assert.equal(sourceDateEpochOf({}), undefined);
  assert.equal(sourceDateEpochOf({ SOURCE_DATE_EPOCH: "0" }), 0);
  assert.throws(() => sourceDateEpochOf({ SOURCE_DATE_EPOCH: "yesterday" }), BuildError);
  assert.match(authorOf({ SUDO_USER: "alice", USER: "root" }), /^alice@/);
  assert.match(authorOf({}), /^root@/);
});

Deno.test({
  name: "buildLayers() builds the bundled example's definition (legacy import at /stacker)",
  ignore: !isRoot,
  fn: async () => {
    await using e = await setup();
    const example = new URL("../../examples/myapp", import.meta.url).pathname;
    // examples/myapp/stacker.yaml as the parser will hand it over.
    const def: LayerDefinition = {
      name: "myapp",
      from: { type: "oci", url: e.base },
      imports: [{ path: `${example}/config.json` }, { path: `${example}/install.sh` }],
      legacyImport: true,
      run: "mkdir -p /etc/myapp\ncp /stacker/config.json /etc/myapp/config.json\nsh /stacker/install.sh\n",
      environment: { MYAPP_CONFIG: "/etc/myapp/config.json" },
      cmd: "/usr/bin/myapp",
      labels: { "org.opencontainers.image.title": "myapp" },
      generateLabels:
        'echo -n "$(cat /etc/myapp/config.json | wc -l)" > /stacker/oci-labels/config-lines\ntouch /gone',
    };
    await e.run([def], EPOCH);
    const { manifest, config } = await e.image("myapp");
    const names = await e.entries(manifest.layers[1].digest);
    assert.ok(names.includes("etc/myapp/config.json") && names.includes("usr/bin/myapp"), names.join("\n"));
    assert.ok(!names.includes("gone"), "generate_labels changes are discarded");
    assert.deepEqual(config.config?.Labels, {
      "config-lines": "4",
      "org.opencontainers.image.title": "myapp",
    });
    assert.deepEqual(config.config?.Cmd, ["/usr/bin/myapp"]);
  },
});

Deno.test({
  name: "buildLayers() builds on a tar base: base content and run changes become one layer",
  ignore: !isRoot,
  fn: async () => {
    await using e = await setup();
    await Deno.mkdir(`${e.src}/rootfs/bin`, { recursive: true });
    await Deno.copyFile("/bin/busybox", `${e.src}/rootfs/bin/busybox`);
    await Deno.symlink("busybox", `${e.src}/rootfs/bin/sh`);
    const tar = await new Deno.Command("tar", {
      args: ["-czf", `${e.src}/rootfs.tar.gz`, "-C", `${e.src}/rootfs`, "."],
    }).output();
    assert.ok(tar.success);
    const def: LayerDefinition = {
      name: "fromtar",
      from: { type: "tar", url: `${e.src}/rootfs.tar.gz` },
      run: "/bin/busybox mkdir /made",
    };
    await e.run([def], EPOCH);
    const { manifest, config } = await e.image("fromtar");
    assert.equal(manifest.layers.length, 1);
    const names = await e.entries(manifest.layers[0].digest);
    assert.ok(names.includes("bin/busybox") && names.includes("made/"), names.join("\n"));
    assert.deepEqual(config.config?.Env, [
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    ]);
    // Changing the tarball is a base change.
    await Deno.writeTextFile(`${e.src}/rootfs/extra`, "x");
    await new Deno.Command("tar", { args: ["-czf", `${e.src}/rootfs.tar.gz`, "-C", `${e.src}/rootfs`, "."] })
      .output();
    const again = await e.run([def], EPOCH);
    assert.ok(
      again.lines.includes("cache miss because base layer changed layer=fromtar"),
      again.lines.join("\n"),
    );
  },
});

Deno.test({
  name: "buildLayers() refuses a missing overlay dir, naming it and the layer",
  ignore: !isRoot,
  fn: async () => {
    await using e = await setup();
    const err = await e.run([{
      name: "o",
      from: { type: "scratch" },
      overlayDirs: [{ source: `${e.src}/absent`, dest: "/" }],
    }]).then(() => undefined, (x) => x);
    assert.ok(err instanceof BuildError, String(err));
    assert.equal(err.code, "build.overlay-dir-missing");
    assert.equal(err.context.layer, "o");
    assert.match(err.message, /absent/);
  },
});

Deno.test({
  name: "loadPlan() + buildLayers() build examples/myapp/stacker.yaml as written",
  ignore: !isRoot,
  fn: async () => {
    await using e = await setup();
    const example = new URL("../../examples/myapp/stacker.yaml", import.meta.url).pathname;
    const dirs = { ociDir: `${e.dir}/oci`, stackerDir: `${e.dir}/stacker`, rootsDir: `${e.dir}/roots` };
    const plan = await loadPlan({
      files: [example],
      substitute: [`BASE=${e.base}`],
      requireHash: false,
      dirs,
      log: silentLogger,
    });
    assert.deepEqual(plan.map((p) => p.def.name), ["myapp"]);
    assert.equal(plan[0].def.legacyImport, true);
    assert.match(plan[0].stackerYaml, new RegExp(`url: ${e.base}`), "the text after substitution");
    const services = await countingServices({ ...dirs });
    await buildLayers(plan, { ...dirs, services, env: EPOCH });
    const { manifest, config } = await e.image("myapp");
    assert.deepEqual(config.config?.Cmd, ["/usr/bin/myapp"]);
    assert.equal(config.config?.Labels?.["org.opencontainers.image.title"], "myapp");
    assert.equal(manifest.annotations?.["io.stackeroci.stacker.stacker_yaml"], plan[0].stackerYaml);
    const git = await gitVersion(example.slice(0, example.lastIndexOf("/")));
    // Other work in the checkout can flip "-dirty" between the build and this check.
    const strip = (v?: string) => v?.replace(/-dirty$/, "");
    assert.equal(strip(manifest.annotations?.["io.stackeroci.stacker.git_version"]), strip(git));
    const names = await e.entries(manifest.layers[1].digest);
    assert.ok(names.includes("etc/myapp/config.json") && names.includes("usr/bin/myapp"), names.join("\n"));
  },
});

Deno.test({
  name: "staleLayers() names what a build would rebuild, with the build's reasons, and builds nothing",
  ignore: !isRoot,
  fn: async () => {
    await using e = await setup();
    await writeExampleSources(e);
    const defs: LayerDefinition[] = [
      ...exampleDefs(e),
      { name: "other", from: { type: "oci", url: e.base }, run: "touch /other" },
    ];
    await e.run(defs, EPOCH);
    const stale = async (ds: LayerDefinition[], env: Record<string, string>, layers?: string[]) => {
      const services = await countingServices({
        ociDir: `${e.dir}/oci`,
        rootsDir: `${e.dir}/roots`,
        stackerDir: `${e.dir}/stacker`,
      });
      const plan = ds.map((def) => ({ def, file: `${e.src}/stacker.yaml`, stackerYaml: "" }));
      const r = await staleLayers(plan, {
        ociDir: `${e.dir}/oci`,
        stackerDir: `${e.dir}/stacker`,
        rootsDir: `${e.dir}/roots`,
        env,
        layers,
        services,
      });
      assert.deepEqual(services.counters, { unpacks: 0, runs: 0, generated: 0 });
      return Object.fromEntries(r);
    };
    assert.deepEqual(await stale(defs, EPOCH), {});
    assert.deepEqual(await stale(defs, { SOURCE_DATE_EPOCH: "1700000001" }, ["other"]), {
      other: "cache miss because SOURCE_DATE_EPOCH changed",
    });

    await Deno.writeTextFile(`${e.src}/config.json`, '{"greeting": "changed"}\n');
    assert.deepEqual(await stale(defs, EPOCH), {
      myapp: `cache miss because import content changed: ${e.src}/config.json`,
      child: "layer myapp it depends on needs rebuilding",
    });
    assert.deepEqual(await stale(defs, EPOCH, ["other"]), {}, "only what was asked and its dependencies");
    // the build agrees: exactly those two rebuild
    const built = await e.run(defs, EPOCH);
    assert.deepEqual(built.result.layers.map((l) => [l.name, l.cached]), [
      ["myapp", false],
      ["child", false],
      ["other", true],
    ]);
    assert.deepEqual(await stale(defs, EPOCH), {});
    const renamed = defs.map((d) => d.name === "child" ? { ...d, name: "child2" } : d);
    assert.deepEqual(await stale(renamed, EPOCH, ["child2"]), {
      child2: "cache miss because layer was not built before",
    });
  },
});

Deno.test("buildLayers() with lockTimeoutMs 0 fails fast when another process holds the roots dir lock (`couldn't acquire lock on …`)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "build-test-lock-" });
  await Deno.mkdir(`${dir}/roots`);
  // as stacker's env.bats does: `flock` on roots/.lock from a shell, then a build
  const holder = new Deno.Command("flock", {
    args: [`${dir}/roots/.lock`, "sh", "-c", "echo locked; exec sleep 60"],
    stdout: "piped",
  }).spawn();
  try {
    const reader = holder.stdout.getReader();
    assert.equal(new TextDecoder().decode((await reader.read()).value).trim(), "locked");
    reader.releaseLock();
    const err = await buildLayers([], {
      ociDir: `${dir}/oci`,
      stackerDir: `${dir}/stacker`,
      rootsDir: `${dir}/roots`,
      log: silentLogger,
      lockTimeoutMs: 0,
    }).then(() => undefined, (e) => e);
    assert.ok(err instanceof BuildError, String(err));
    assert.equal(err.code, "build.locked");
    assert.match(
      err.message,
      new RegExp(`^couldn't acquire lock on ${dir}/roots/\\.lock: lock owned by pid \\d+`),
    );
    // the stacker dir lock taken first was given back
    const again = await (await import("../../lib/builder/lock.ts")).lockDir(`${dir}/stacker`);
    again.release();
  } finally {
    holder.kill("SIGKILL");
    await holder.stdout.cancel().catch(() => {});
    await holder.status;
    await Deno.remove(dir, { recursive: true });
  }
});
