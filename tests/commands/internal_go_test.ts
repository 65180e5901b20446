import assert from "node:assert/strict";
import { EXIT_NO_APPARMOR, internalGoCommand } from "../../lib/commands/internal_go.ts";
import { busyboxLayout } from "../../scripts/fixtures/mod.ts";
import { StackerError } from "../../lib/util/errors.ts";
import { runtimeCtx } from "./_runtime_ctx.ts";

const run = (dir: string, ...args: string[]) => internalGoCommand.run(runtimeCtx({ dir, args }));

Deno.test("internal-go is a hidden command of the CLI that never re-executes into a user namespace", async () => {
  const { findCommand } = await import("../../lib/commands/mod.ts");
  const c = findCommand("internal-go");
  assert.ok(c);
  assert.equal(c.hidden, true);
  assert.equal(c.noUserns, true);
});

Deno.test("internal-go cp copies a file with its mode, a symlink as a symlink and a directory tree", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/f`, "data");
    await Deno.chmod(`${dir}/f`, 0o751);
    await Deno.symlink("f", `${dir}/l`);
    await Deno.mkdir(`${dir}/d/sub`, { recursive: true });
    await Deno.writeTextFile(`${dir}/d/sub/x`, "x");
    assert.equal(await run(dir, "cp", `${dir}/f`, `${dir}/f2`), 0);
    assert.equal(await Deno.readTextFile(`${dir}/f2`), "data");
    assert.equal((await Deno.stat(`${dir}/f2`)).mode! & 0o7777, 0o751);
    assert.equal(await run(dir, "cp", `${dir}/l`, `${dir}/l2`), 0);
    assert.equal(await Deno.readLink(`${dir}/l2`), "f");
    assert.equal(await run(dir, "cp", `${dir}/d`, `${dir}/d2`), 0);
    assert.equal(await Deno.readTextFile(`${dir}/d2/sub/x`), "x");
    await assert.rejects(() => run(dir, "cp", `${dir}/missing`, `${dir}/m`), /internal-go cp on ".*missing"/);
    await assert.rejects(() => run(dir, "cp", `${dir}/f`), /expected SRC DST/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("internal-go chmod takes an octal mode and refuses directories", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/f`, "data");
    assert.equal(await run(dir, "chmod", "0640", `${dir}/f`), 0);
    assert.equal((await Deno.stat(`${dir}/f`)).mode! & 0o7777, 0o640);
    assert.equal(await run(dir, "chmod", "4755", `${dir}/f`), 0);
    assert.equal((await Deno.stat(`${dir}/f`)).mode! & 0o7777, 0o4755);
    await assert.rejects(() => run(dir, "chmod", "0755", dir), /not a file/);
    await assert.rejects(() => run(dir, "chmod", "rwx", `${dir}/f`), /not octal/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "internal-go chown sets UID or UID:GID, on a symlink itself",
  ignore: Deno.uid() !== 0,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      await Deno.writeTextFile(`${dir}/f`, "data");
      await Deno.symlink("f", `${dir}/l`);
      assert.equal(await run(dir, "chown", "1001:1002", `${dir}/f`), 0);
      let st = await Deno.stat(`${dir}/f`);
      assert.deepEqual([st.uid, st.gid], [1001, 1002]);
      assert.equal(await run(dir, "chown", "1003", `${dir}/f`), 0);
      st = await Deno.stat(`${dir}/f`);
      assert.deepEqual([st.uid, st.gid], [1003, 1002]);
      assert.equal(await run(dir, "chown", "1005:1006", `${dir}/l`), 0);
      const link = await Deno.lstat(`${dir}/l`);
      assert.deepEqual([link.uid, link.gid], [1005, 1006]);
      assert.equal((await Deno.stat(`${dir}/f`)).uid, 1003, "the target is unchanged");
      await assert.rejects(() => run(dir, "chown", "1:1", dir), /is a directory/);
      await assert.rejects(() => run(dir, "chown", "root", `${dir}/f`), /not UID or UID:GID/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("internal-go check-aa-profile exits 52 when the kernel has no AppArmor", async () => {
  let apparmor = false;
  try {
    apparmor = (await Deno.readTextFile("/sys/module/apparmor/parameters/enabled")).trim() === "Y";
  } catch { /* no AppArmor module */ }
  const dir = await Deno.makeTempDir();
  try {
    if (apparmor) {
      // With AppArmor, an unknown profile cannot be changed to.
      await assert.rejects(() => run(dir, "check-aa-profile", "no-such-profile-stacker-ts"), StackerError);
    } else {
      assert.equal(await run(dir, "check-aa-profile", "lxc-container-default"), EXIT_NO_APPARMOR);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("internal-go testsuite-check-overlay exits 0 where check says overlay works, 50 where not", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { storageRequirements } = await import("../../lib/storage/mod.ts");
    await Deno.mkdir(`${dir}/roots`);
    const ok = (await storageRequirements(`${dir}/roots`)).backends.find((b) => b.type === "overlay")!.ok;
    assert.equal(await run(dir, "testsuite-check-overlay"), ok ? 0 : 50);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("internal-go copy copies an image between OCI layouts", async () => {
  const bb = await busyboxLayout();
  const dir = await Deno.makeTempDir();
  try {
    assert.equal(await run(dir, "copy", `oci:${bb.dir}:${bb.tag}`, `oci:${dir}/out:seeded`), 0);
    const index = JSON.parse(await Deno.readTextFile(`${dir}/out/index.json`));
    assert.deepEqual(
      index.manifests.map((m: { annotations?: Record<string, string> }) =>
        m.annotations?.["org.opencontainers.image.ref.name"]
      ),
      ["seeded"],
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("internal-go atomfs is not implemented (exit 2), an unknown subcommand is a usage error", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(
      () => run(dir, "atomfs", "mount", "t", "m"),
      (e) => e instanceof StackerError && e.exitCode === 2,
    );
    await assert.rejects(() => run(dir, "frob"), /expected one of cp, chmod/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("stacker internal-go runs through cli.ts with its exit status", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/f`, "data");
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("../../cli.ts", import.meta.url).pathname,
        "internal-go",
        "chmod",
        "600",
        "f",
      ],
      cwd: dir,
      stderr: "piped",
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    assert.equal((await Deno.stat(`${dir}/f`)).mode! & 0o7777, 0o600);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
