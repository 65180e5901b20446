/** runScript(): the shebang rule, live output, the failure message and --on-run-failure (as root). */
import assert from "node:assert/strict";
import { runScript, runScriptText } from "../../lib/runtime/mod.ts";
import { RuntimeError } from "../../lib/util/errors.ts";
import { makeBusyboxRootfs } from "../../scripts/fixtures/mod.ts";

const HELPER = [
  Deno.execPath(),
  "run",
  "-A",
  "--cached-only",
  new URL("./_helper_main.ts", import.meta.url).pathname,
];

Deno.test("runScriptText() adds #!/bin/sh -xe unless the script has its own shebang", async (t) => {
  const cases: [string | string[], string][] = [
    ["echo hi", "#!/bin/sh -xe\necho hi\n"],
    [["echo a", "echo b"], "#!/bin/sh -xe\necho a\necho b\n"],
    ["#!/bin/bash -ex\necho hi\n", "#!/bin/bash -ex\necho hi\n"],
    ["", "#!/bin/sh -xe\n"],
  ];
  for (const [run, want] of cases) {
    await t.step(JSON.stringify(run), () => assert.equal(runScriptText(run), want));
  }
});

async function setup() {
  const base = await Deno.makeTempDir({ dir: "/tmp", prefix: "stacker-rs-" });
  await Deno.chmod(base, 0o755);
  await makeBusyboxRootfs(`${base}/rootfs`);
  return {
    base,
    opts: {
      layer: "my-layer",
      file: "/src/stacker.yaml",
      lxcRootfs: { path: `dir:${base}/rootfs` },
      stackerDir: `${base}/.stacker`,
      importsDir: `${base}/.stacker/imports/my-layer`,
      env: { PATH: "/bin:/usr/bin", STACKER_LAYER_NAME: "my-layer" },
      helper: HELPER,
      stdout: "piped" as const,
      stderr: "piped" as const,
    },
    async [Symbol.asyncDispose]() {
      await Deno.remove(base, { recursive: true });
    },
  };
}

Deno.test("runScript() runs the script with -xe in the rootfs, with imports next to it", async () => {
  await using s = await setup();
  await Deno.mkdir(s.opts.importsDir, { recursive: true });
  await Deno.writeTextFile(`${s.opts.importsDir}/payload`, "from imports\n");
  await runScript({
    ...s.opts,
    run: ["cp /stacker/imports/payload /payload", 'echo "$STACKER_LAYER_NAME" > /layer-name'],
  });
  assert.equal(await Deno.readTextFile(`${s.base}/rootfs/payload`), "from imports\n");
  assert.equal(await Deno.readTextFile(`${s.base}/rootfs/layer-name`), "my-layer\n");
  const script = await Deno.stat(`${s.opts.importsDir}/.stacker-run.sh`);
  assert.equal(script.mode! & 0o777, 0o755);
});

Deno.test("runScript() fails naming the layer, the file and the exit code; -e stops at the first error", async () => {
  await using s = await setup();
  await assert.rejects(
    runScript({ ...s.opts, run: "echo one > /one\nfalse\necho two > /two" }),
    RuntimeError,
  );
  try {
    await runScript({ ...s.opts, run: "exit 3" });
    assert.fail("expected a failure");
  } catch (e) {
    assert.ok(e instanceof RuntimeError);
    assert.equal(e.code, "runtime.run-failed");
    assert.match(
      e.message,
      /^run commands failed for image "my-layer" in "\/src\/stacker.yaml": exit code 3/,
    );
  }
  assert.equal(await Deno.readTextFile(`${s.base}/rootfs/one`), "one\n");
  await assert.rejects(Deno.lstat(`${s.base}/rootfs/two`));
});

Deno.test("runScript() reports death by signal and, with debug, the LXC log path", async () => {
  await using s = await setup();
  try {
    await runScript({ ...s.opts, run: "kill -TERM $$", debug: true });
    assert.fail("expected a failure");
  } catch (e) {
    assert.ok(e instanceof RuntimeError);
    assert.match(e.message, /killed by signal 15/);
    assert.match(e.message, /LXC log: .*lxc-my-layer\.log/);
  }
});

Deno.test("runScript() with onRunFailure runs the command in the same rootfs state, then still fails", async () => {
  await using s = await setup();
  await assert.rejects(
    runScript({
      ...s.opts,
      run: "echo state-before-failure > /tmp/state\nexit 7",
      onRunFailure: "cp /tmp/state /tmp/rescued; cat /stacker/imports/.stacker-run.sh > /tmp/script",
    }),
    /exit code 7/,
  );
  assert.equal(await Deno.readTextFile(`${s.base}/rootfs/tmp/rescued`), "state-before-failure\n");
  assert.match(await Deno.readTextFile(`${s.base}/rootfs/tmp/script`), /^#!\/bin\/sh -xe\n/);
});

Deno.test("runScript() with a legacy import mounts the import dir at /stacker", async () => {
  await using s = await setup();
  await Deno.mkdir(s.opts.importsDir, { recursive: true });
  await Deno.writeTextFile(`${s.opts.importsDir}/old`, "legacy\n");
  await runScript({ ...s.opts, legacyImport: true, run: "cp /stacker/old /old" });
  assert.equal(await Deno.readTextFile(`${s.base}/rootfs/old`), "legacy\n");
});
