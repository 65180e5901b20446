import assert from "node:assert/strict";
import { unprivSetupCommand } from "../../lib/commands/unpriv_setup.ts";
import { StackerError } from "../../lib/util/errors.ts";
import { runtimeCtx } from "./_runtime_ctx.ts";

Deno.test("unpriv-setup needs a uid and refuses an existing stacker dir before touching /etc", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(unprivSetupCommand.run(runtimeCtx({ dir, env: {} })), StackerError);
    await Deno.mkdir(`${dir}/.stacker`);
    const before = await Deno.readTextFile("/etc/subuid");
    await assert.rejects(
      unprivSetupCommand.run(runtimeCtx({ dir, flags: { uid: 4999, username: "nobody-here" } })),
      /already exists/,
    );
    assert.equal(await Deno.readTextFile("/etc/subuid"), before);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("unpriv-setup --storage-type btrfs mounts a loopback btrfs the user then builds on", async () => {
  const { busyboxLayout, runAsTestUser, sourceRootForTestUser, testUserIds } = await import(
    "../../scripts/fixtures/mod.ts"
  );
  const ids = await testUserIds();
  const dir = await Deno.makeTempDir({ dir: "/var/tmp", prefix: "stacker-ts-unpriv-btrfs-" });
  const cli = `${sourceRootForTestUser()}/cli.ts`;
  const dirs = ["--stacker-dir", `${dir}/.stacker`, "--roots-dir", `${dir}/roots`, "--oci-dir", `${dir}/oci`];
  try {
    await Deno.chmod(dir, 0o755);
    await Deno.chown(dir, ids.uid, ids.gid); // the user's project dir; unpriv-setup makes the rest
    const setup = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        cli,
        ...dirs,
        "--storage-type",
        "btrfs",
        "unpriv-setup",
        "--uid",
        `${ids.uid}`,
        "--gid",
        `${ids.gid}`,
        "--username",
        "builder",
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(setup.code, 0, new TextDecoder().decode(setup.stderr));
    const mounts = await Deno.readTextFile("/proc/self/mounts");
    assert.match(mounts, new RegExp(`${dir}/roots btrfs .*user_subvol_rm_allowed`));
    assert.equal((await Deno.stat(`${dir}/roots`)).uid, ids.uid);
    const base = await busyboxLayout();
    await Deno.writeTextFile(
      `${dir}/stacker.yaml`,
      `img:\n  from:\n    type: oci\n    url: ${base.dir}:${base.tag}\n  run: echo on-btrfs > /where\n`,
    );
    const build = await runAsTestUser([
      Deno.execPath(),
      "run",
      "-A",
      cli,
      ...dirs,
      "build",
      "-f",
      `${dir}/stacker.yaml`,
    ], {
      cwd: dir,
    });
    assert.equal(build.code, 0, build.stderr);
    assert.equal((await Deno.readTextFile(`${dir}/.stacker/storage.type`)).trim(), "btrfs");
    const clean = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", cli, ...dirs, "clean"],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(clean.code, 0, new TextDecoder().decode(clean.stderr));
    assert.doesNotMatch(await Deno.readTextFile("/proc/self/mounts"), new RegExp(`${dir}/roots`));
  } finally {
    // Whatever happened, leave no mount or loop device behind.
    await new Deno.Command("umount", { args: ["-l", `${dir}/roots`], stderr: "null" }).output();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
