/** The run helper's own contract: outcome file, exit code, and what it leaves behind when LXC fails. */
import assert from "node:assert/strict";
import { HELPER_FAILED, runInContainer, uniqueContainerName } from "../../lib/runtime/mod.ts";
import { processStartTime } from "../../lib/runtime/helper.ts";
import { RuntimeError } from "../../lib/util/errors.ts";
import { cgroupDirsWith } from "./_env.ts";

const HELPER_MAIN = new URL("./_helper_main.ts", import.meta.url).pathname;

Deno.test("processStartTime() identifies a live process and nothing for a dead one", async () => {
  assert.match(processStartTime(Deno.pid)!, /^\d+$/);
  const child = new Deno.Command("true").spawn();
  const pid = child.pid;
  await child.status;
  assert.equal(processStartTime(pid), undefined);
});

Deno.test("the helper reports a container that cannot start, with the LXC log's errors, and cleans up", async () => {
  const base = await Deno.makeTempDir({ dir: "/tmp", prefix: "stacker-hl-" });
  try {
    const spec = {
      name: uniqueContainerName("nostart"),
      lxcRootfs: { path: `dir:${base}/no-such-rootfs` },
      argv: ["/bin/true"],
      env: { PATH: "/bin" },
      binds: [],
      logFile: `${base}/lxc.log`,
      lxcPath: `${base}/lxc`,
    };
    // Through runInContainer: one RuntimeError naming the log.
    const err = await runInContainer(spec, {
      helper: [Deno.execPath(), "run", "-A", "--cached-only", HELPER_MAIN],
      stdout: "piped",
      stderr: "piped",
    }).then(() => undefined, (e) => e);
    assert.ok(err instanceof RuntimeError, String(err));
    assert.equal(err.code, "runtime.container");
    assert.match(err.message, /Cannot start LXC container/);
    assert.match(err.message, /LXC errors \(.*lxc\.log\):\n.* ERROR /);
    // The helper alone: exit code HELPER_FAILED and an outcome file.
    await Deno.writeTextFile(
      `${base}/req.json`,
      JSON.stringify({
        spec: { ...spec, busybox: "/bin/busybox" },
        resultFile: `${base}/result.json`,
      }),
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--cached-only", HELPER_MAIN, `${base}/req.json`],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, HELPER_FAILED);
    const outcome = JSON.parse(await Deno.readTextFile(`${base}/result.json`));
    assert.equal(outcome.ok, false);
    assert.equal(outcome.code, "runtime.lxc-start");
    // A failed start leaves no lxc.monitor.* directory behind (LXC moved the helper into it).
    assert.deepEqual(await cgroupDirsWith(spec.name), []);
    assert.deepEqual(
      (await Array.fromAsync(Deno.readDir(`${base}/lxc`))).map((e) => e.name).filter((n) =>
        !n.startsWith(".xdg")
      ),
      [],
    );
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});
