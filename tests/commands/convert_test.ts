import assert from "node:assert/strict";
import { runCli } from "../../lib/commands/run_cli.ts";
import { CONVERT_META } from "../../lib/commands/_meta.ts";
import { loadStackerFiles } from "../../lib/stackerfile/mod.ts";
import { busyboxLayout, startRegistry } from "../../scripts/fixtures/mod.ts";

const CLI = new URL("../../cli.ts", import.meta.url).pathname;

/** `stacker ARGS` in this process, as cli.ts runs it. */
async function cli(argv: string[]) {
  let stdout = "", stderr = "";
  const code = await runCli(argv, {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    env: { HOME: "/nonexistent", PATH: "/usr/bin:/bin" },
    cwd: "/tmp",
  });
  return { code, stdout, stderr };
}

/** `stacker ARGS` as its own process in `cwd` (builds run containers: not in the test process). */
async function cliProcess(args: string[], cwd: string) {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args],
    cwd,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: r.code,
    stdout: new TextDecoder().decode(r.stdout),
    stderr: new TextDecoder().decode(r.stderr),
  };
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

Deno.test("convert takes -i, -o and -s and never enters a user namespace (it builds no rootfs)", () => {
  assert.deepEqual(CONVERT_META.flags.map((f) => [f.name, f.alias, f.default]), [
    ["docker-file", "i", "Dockerfile"],
    ["output-file", "o", "stacker.yaml"],
    ["substitute-file", "s", "stacker-subs.yaml"],
  ]);
  assert.equal(CONVERT_META.noUserns, true);
});

Deno.test("stacker convert writes a stacker file that loads with the substitutions file it writes", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cli-convert-" });
  try {
    await Deno.mkdir(`${dir}/ctx/conf`, { recursive: true });
    await Deno.writeTextFile(`${dir}/ctx/conf/app.conf`, "x");
    await Deno.writeTextFile(
      `${dir}/ctx/Dockerfile`,
      "ARG V=2\nFROM busybox\nCOPY conf /etc/app/\nRUN echo $V > /v\nVOLUME /data\nEXPOSE 80\n",
    );
    await Deno.mkdir(`${dir}/out`);
    const r = await cli([
      "convert",
      "-i",
      `${dir}/ctx/Dockerfile`,
      "-o",
      `${dir}/out/s.yaml`,
      "-s",
      `${dir}/out/subs.yaml`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /VOLUME \/data is a bind of \$\{\{STACKER_VOL1\}\}/);
    assert.match(r.stderr, /converted .*Dockerfile into .*s\.yaml and .*subs\.yaml/);
    const text = await Deno.readTextFile(`${dir}/out/s.yaml`);
    assert.match(
      text,
      /^# Converted from .*Dockerfile by "stacker convert"\. Build it with:\n# {3}stacker build -f /,
    );
    assert.equal(
      await Deno.readTextFile(`${dir}/out/subs.yaml`),
      'V: "2"\nIMAGE: app\nSTACKER_VOL1: /data\n',
    );
    const plan = await loadStackerFiles([`${dir}/out/s.yaml`], { substituteFile: `${dir}/out/subs.yaml` });
    assert.equal(plan.layers.length, 1);
    const l = plan.layers[0];
    assert.equal(l.name, "app");
    assert.deepEqual(l.imports, [{ path: `${dir}/ctx/conf/`, kind: "local", dest: "/etc/app/" }]);
    assert.deepEqual(l.run, ["sh -e -c 'echo 2 > /v'"]);
    assert.deepEqual(l.binds, [{ source: "/data", dest: "/data" }]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("stacker convert fails with one line naming the Dockerfile line, and writes nothing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cli-convert-" });
  try {
    const run = (text: string) =>
      Deno.writeTextFile(`${dir}/Dockerfile`, text).then(() =>
        cli(["convert", "-i", `${dir}/Dockerfile`, "-o", `${dir}/stacker.yaml`, "-s", `${dir}/subs.yaml`])
      );
    const add = await run("FROM busybox\n\nADD https://example.com/x /x\n");
    assert.equal(add.code, 1);
    assert.equal(add.stderr.trim().split("\n").length, 1);
    assert.match(add.stderr, /^error: Cannot convert ".*Dockerfile" line 3 \(ADD\): ADD is not supported/);

    // A result stacker would refuse (a shell-style use of the IMAGE substitution key) is caught here.
    const clash = await run("FROM busybox\nRUN echo $IMAGE\n");
    assert.equal(clash.code, 1);
    assert.match(clash.stderr, /the stacker file it gives does not load: .*"\$IMAGE"/);

    const missing = await cli(["convert", "-i", `${dir}/nope`, "-o", `${dir}/stacker.yaml`]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^error: Cannot convert ".*nope": /);

    assert.equal(await exists(`${dir}/stacker.yaml`), false);
    assert.equal(await exists(`${dir}/subs.yaml`), false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "a converted Dockerfile on a registry base builds: RUN output, WORKDIR, COPY and CMD in the image",
  ignore: Deno.uid() !== 0,
  fn: async () => {
    const bb = await busyboxLayout();
    await using reg = await startRegistry();
    await reg.pushLayout(bb.dir, bb.tag, "library/busybox:1");
    const dir = await Deno.makeTempDir({ dir: "/var/tmp", prefix: "cli-convert-e2e-" });
    try {
      await Deno.mkdir(`${dir}/ctx`);
      await Deno.writeTextFile(`${dir}/ctx/hello.txt`, "copied\n");
      await Deno.writeTextFile(
        `${dir}/ctx/Dockerfile`,
        [
          "ARG GREETING=hello",
          `FROM ${reg.host}/library/busybox:1`,
          "ARG GREETING",
          "ENV WHO=converted",
          "WORKDIR /app",
          "COPY hello.txt ./",
          'RUN echo "$GREETING from $WHO in $(pwd)" > created && mkdir /app/made',
          'CMD ["cat", "/app/created"]',
          "",
        ].join("\n"),
      );
      const conv = await cliProcess(["convert", "-i", "ctx/Dockerfile"], dir);
      assert.equal(conv.code, 0, conv.stderr);
      const build = await cliProcess(["build", "--substitute-file", "stacker-subs.yaml"], dir);
      assert.equal(build.code, 0, build.stderr);

      const insp = await cliProcess(["inspect", "--json"], dir);
      assert.equal(insp.code, 0, insp.stderr);
      const images = JSON.parse(insp.stdout) as { tag: string; config: { config: { Cmd: string[] } } }[];
      assert.deepEqual(images.map((i) => i.tag), ["app"]);
      assert.deepEqual(images[0].config.config.Cmd, ["cat", "/app/created"]);

      await Deno.mkdir(`${dir}/grabbed`);
      for (const path of ["/app/created", "/app/hello.txt"]) {
        const g = await cliProcess(["grab", `app:${path}`, `${dir}/grabbed`], dir);
        assert.equal(g.code, 0, g.stderr);
      }
      assert.equal(await Deno.readTextFile(`${dir}/grabbed/created`), "hello from converted in /app\n");
      assert.equal(await Deno.readTextFile(`${dir}/grabbed/hello.txt`), "copied\n");
      const made = await cliProcess(["grab", "app:/app/made", `${dir}/grabbed`], dir);
      assert.equal(made.code, 0, made.stderr);
      assert.ok((await Deno.stat(`${dir}/grabbed/made`)).isDirectory);
    } finally {
      await cliProcess(["clean"], dir);
      await Deno.remove(dir, { recursive: true });
    }
  },
});
