/**
 * runInContainer() end to end through the real helper and liblxc, as root (privileged container) and
 * as the unprivileged test user (re-executed in its user namespace), with a busybox rootfs.
 */
import assert from "node:assert/strict";
import { RuntimeError } from "../../lib/util/errors.ts";
import { runInContainer, uniqueContainerName, writableRoot } from "../../lib/runtime/mod.ts";
import { cgroupDirsWith, MODES, processesWith, stand } from "./_env.ts";

for (const mode of MODES) {
  Deno.test(`runInContainer() runs commands with their status, output, env and mounts (${mode})`, async (t) => {
    await using s = await stand(mode);
    const imports = `${s.base}/imports`;
    const bindRw = `${s.base}/bind-rw`;
    const bindRo = `${s.base}/bind-ro`;
    const hostFile = `${s.base}/hostfile`;
    for (const d of [imports, bindRw, bindRo]) await Deno.mkdir(d);
    await Deno.writeTextFile(`${imports}/data.txt`, "imported\n");
    await Deno.writeTextFile(`${bindRo}/ro.txt`, "ro\n");
    await Deno.writeTextFile(hostFile, "file bind\n");
    await s.own(s.base);
    await using server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      () => new Response("pong"),
    );
    const port = server.addr.port;

    const sh = (script: string, extra = {}) => s.spec(["/bin/sh", "-c", script], extra);
    const cases = {
      exit0: sh("true"),
      exit1: sh("false"),
      exit42: sh("exit 42"),
      signal: sh("kill -KILL $$"),
      streams: sh("echo to-out; echo to-err >&2"),
      env: s.spec(["/usr/bin/env"], { env: { PATH: "/bin", FOO: "bar baz", EMPTY: "" } }),
      stackerRo: sh(
        "cat /stacker/imports/data.txt; touch /stacker/x && echo wrote-stacker; touch /stacker/imports/y && echo wrote-imports; true",
        {
          importsDir: imports,
        },
      ),
      legacy: sh("cat /stacker/data.txt", { legacyImportsDir: imports }),
      loopback: sh(`wget -q -O - http://127.0.0.1:${port}/`),
      binds: sh(
        "echo written > /mnt/rw/new.txt; cat /mnt/ro/ro.txt; echo no > /mnt/ro/x || echo ro-refused; cat /etc/hostfile",
        {
          binds: [
            { source: bindRw, dest: "/mnt/rw" },
            { source: bindRo, dest: "/mnt/ro", readonly: true },
            { source: hostFile, dest: "/etc/hostfile" },
          ],
        },
      ),
      pipe: sh("yes | head -n 1"),
      resolv: sh("cat /etc/resolv.conf; echo x >> /etc/resolv.conf || echo resolv-ro"),
      fds: sh("ls /proc/$$/fd; true"),
      identity: sh("id -u; hostname; cat /proc/self/status | grep SigIgn; cwd=$(pwd); echo cwd=$cwd", {
        cwd: "/tmp",
      }),
      missingBind: sh("true", { binds: [{ source: `${s.base}/nope`, dest: "/mnt/nope" }] }),
    };
    const names = Object.keys(cases) as (keyof typeof cases)[];
    const results = await s.run(names.map((k) => cases[k]));
    const r = Object.fromEntries(names.map((k, i) => [k, results[i]])) as Record<
      keyof typeof cases,
      typeof results[0]
    >;

    await t.step("exit codes 0, 1 and 42 come back", () => {
      assert.deepEqual([r.exit0.exitCode, r.exit1.exitCode, r.exit42.exitCode], [0, 1, 42]);
      assert.equal(r.exit42.signal, undefined);
    });
    await t.step("death by signal is reported as the signal", () => {
      assert.equal(r.signal.signal, 9);
      assert.equal(r.signal.exitCode, 137);
    });
    await t.step("stdout and stderr stay apart", () => {
      assert.equal(r.streams.stdout, "to-out\n");
      assert.equal(r.streams.stderr, "to-err\n");
    });
    await t.step("the command sees exactly the given environment (plus LXC's container=lxc)", () => {
      const lines = r.env.stdout!.trim().split("\n").sort();
      assert.deepEqual(lines, ["EMPTY=", "FOO=bar baz", "PATH=/bin", "container=lxc"]);
    });
    await t.step("/stacker and /stacker/imports are read-only, imports are readable", () => {
      assert.equal(r.stackerRo.exitCode, 0, r.stackerRo.stderr);
      assert.equal(r.stackerRo.stdout, "imported\n");
      assert.match(r.stackerRo.stderr!, /Read-only file system/);
      assert.doesNotMatch(r.stackerRo.stdout!, /wrote/);
      assert.equal(r.legacy.stdout, "imported\n");
    });
    await t.step("a server on the host's loopback is reachable", () => {
      assert.equal(r.loopback.stdout, "pong", r.loopback.stderr);
    });
    await t.step("binds: read-write, read-only and a file", async () => {
      assert.equal(r.binds.stdout, "ro\nro-refused\nfile bind\n", r.binds.stderr);
      assert.equal(await Deno.readTextFile(`${bindRw}/new.txt`), "written\n");
    });
    await t.step("the host's resolv.conf is visible read-only", async () => {
      assert.equal(r.resolv.stdout, (await Deno.readTextFile("/etc/resolv.conf")) + "resolv-ro\n");
    });
    await t.step("yes | head -n 1 finishes (SIGPIPE is default)", () => {
      assert.equal(r.pipe.exitCode, 0);
      assert.equal(r.pipe.stdout, "y\n");
    });
    await t.step("only fds 0, 1 and 2 reach the command", () => {
      assert.equal(r.fds.stdout, "0\n1\n2\n");
    });
    await t.step("root in the container, hostname stacker, no ignored SIGPIPE, cwd", () => {
      const [uid, host, sigign, cwd] = r.identity.stdout!.trim().split("\n");
      assert.equal(uid, "0");
      assert.equal(host, "stacker");
      assert.equal(BigInt("0x" + sigign.split(/\s+/)[1]) & (1n << 12n), 0n);
      assert.equal(cwd, "cwd=/tmp");
    });
    await t.step("a missing bind source is an error before anything starts", () => {
      assert.equal(r.missingBind.code, "runtime.bind-missing");
      assert.match(r.missingBind.error!, /bind mount source ".*nope" does not exist/);
    });
    await t.step("the rootfs is left as it was: no /stacker, no resolv.conf", async () => {
      const names = [];
      for await (const e of Deno.readDir(s.rootfs)) names.push(e.name);
      assert.ok(!names.includes("stacker"), names.join(" "));
      await assert.rejects(Deno.lstat(`${s.rootfs}/etc/resolv.conf`));
    });
    await t.step("no process and no cgroup directory is left behind", async () => {
      assert.deepEqual(await processesWith(s.tag), []);
      assert.deepEqual(await cgroupDirsWith(s.tag), []);
      assert.deepEqual(
        (await Array.fromAsync(Deno.readDir(`${s.base}/lxc`))).filter((e) => !e.name.startsWith(".xdg")),
        [],
      );
    });
  });

  Deno.test(`runInContainer() runs several containers at once (${mode})`, async () => {
    await using s = await stand(mode);
    const specs = [];
    for (const i of [1, 2, 3, 4]) {
      const lxcRootfs = { path: `dir:${await s.copyRootfs(`rootfs-${i}`)}` };
      specs.push(s.spec(["/bin/sh", "-c", `sleep 1; echo ${i}`], { lxcRootfs }));
    }
    const t0 = performance.now();
    const results = await s.run(specs, true);
    const took = performance.now() - t0;
    assert.deepEqual(results.map((r) => r.stdout), ["1\n", "2\n", "3\n", "4\n"]);
    // Serially this would take 4 s plus 4 start-ups.
    assert.ok(took < 3500, `took ${took} ms`);
    assert.deepEqual(await cgroupDirsWith(s.tag), []);
  });

  Deno.test(`kill -9 of the builder stops its container within seconds (${mode})`, async () => {
    await using s = await stand(mode);
    const marker = `${3000 + Math.floor(Math.random() * 900)}.${Math.floor(Math.random() * 1e6)}`;
    const child = await s.spawn([s.spec(["/bin/sleep", marker])]);
    const deadline = Date.now() + 20_000;
    while ((await processesWith(`sleep ${marker}`)).length === 0) {
      assert.ok(Date.now() < deadline, "the container never started");
      await new Promise((r) => setTimeout(r, 100));
    }
    child.kill("SIGKILL");
    await child.status;
    const killedAt = Date.now();
    while ((await processesWith(`sleep ${marker}`)).length > 0) {
      assert.ok(Date.now() - killedAt < 8000, "the container outlived its builder by 8 s");
      await new Promise((r) => setTimeout(r, 100));
    }
    // The helper and LXC's monitor go too.
    while ((await processesWith(s.tag)).length > 0) {
      assert.ok(Date.now() - killedAt < 10_000, "helper or monitor left behind");
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual(await cgroupDirsWith(s.tag), []);
  });
}

Deno.test("runInContainer() refuses an env value with a newline before starting anything", async () => {
  const err = await assert.rejects(
    runInContainer({
      name: uniqueContainerName("bad"),
      lxcRootfs: { path: "/nonexistent" },
      argv: ["/bin/true"],
      env: { X: "a\nlxc.mount.entry = /etc etc none bind 0 0" },
      binds: [],
      logFile: "/tmp/never.log",
      lxcPath: "/tmp/never-lxc",
    }),
    RuntimeError,
  );
  void err;
  await assert.rejects(Deno.lstat("/tmp/never-lxc"));
});

Deno.test("writableRoot() finds the directory new entries land in", () => {
  assert.equal(writableRoot("dir:/a/b"), "/a/b");
  assert.equal(writableRoot("/a/b"), "/a/b");
  assert.equal(writableRoot("overlay:/l1:/l2:/up"), "/up");
  assert.equal(writableRoot("btrfs:/x"), undefined);
});

Deno.test("runInContainer() keeps fds leaked into the builder out of the container", async () => {
  await using s = await stand("root");
  // fd 7 without close-on-exec in the builder, as a careless parent would leave it.
  const wrap = ["sh", "-c", 'exec 7</etc/hostname; exec "$@"', "sh"];
  const [r] = await s.run([s.spec(["/bin/sh", "-c", "ls /proc/$$/fd; true"])], false, wrap);
  assert.equal(r.stdout, "0\n1\n2\n", r.stderr ?? r.error);
});

Deno.test("runInContainer() stops the container when its signal aborts", async () => {
  await using s = await stand("root");
  const marker = `${4000 + Math.floor(Math.random() * 900)}.${Math.floor(Math.random() * 1e6)}`;
  const ac = new AbortController();
  const run = runInContainer(s.spec(["/bin/sleep", marker]), {
    signal: ac.signal,
    helper: [
      Deno.execPath(),
      "run",
      "-A",
      "--cached-only",
      new URL("./_helper_main.ts", import.meta.url).pathname,
    ],
  });
  const deadline = Date.now() + 20_000;
  while ((await processesWith(`sleep ${marker}`)).length === 0) {
    assert.ok(Date.now() < deadline, "the container never started");
    await new Promise((r) => setTimeout(r, 50));
  }
  const t0 = Date.now();
  ac.abort(new Error("stop it"));
  await assert.rejects(run, /stop it/);
  assert.ok(Date.now() - t0 < 5000, `took ${Date.now() - t0} ms`);
  assert.deepEqual(await processesWith(`sleep ${marker}`), []);
  assert.deepEqual(await processesWith(s.tag), []);
});

for (const mode of MODES) {
  Deno.test(`runInContainer() binds the host's resolv.conf over an overlay rootfs whose etc is only in a lower dir (${mode})`, async () => {
    await using s = await stand(mode);
    // the overlay storage's shape: busybox rootfs as the lower dir, an empty upper dir and its work dir
    const upper = `${s.base}/ov/upper`;
    await Deno.mkdir(upper, { recursive: true });
    await Deno.mkdir(`${s.base}/ov/work`);
    await s.own(`${s.base}/ov`);
    await assert.rejects(Deno.lstat(`${s.rootfs}/etc/resolv.conf`), "the lower has no resolv.conf");
    const lxcRootfs = { path: `overlay:${s.rootfs}:${upper}`, options: "userxattr" };
    const [plain, writer] = await s.run([
      s.spec(["/bin/sh", "-c", "cat /etc/resolv.conf"], { lxcRootfs }),
      s.spec(["/bin/sh", "-c", "cat /etc/resolv.conf >/dev/null && echo new > /etc/added"], { lxcRootfs }),
    ]);
    assert.equal(plain.exitCode, 0, plain.stderr);
    assert.equal(plain.stdout, await Deno.readTextFile("/etc/resolv.conf"));
    assert.equal(writer.exitCode, 0, writer.stderr);
    // the upper dir holds the run's change and nothing the mount needed
    const etc = await Array.fromAsync(Deno.readDir(`${upper}/etc`), (e) => e.name);
    assert.deepEqual(etc, ["added"]);
    const [lowerEtc, upperEtc] = [await Deno.lstat(`${s.rootfs}/etc`), await Deno.lstat(`${upper}/etc`)];
    assert.equal(upperEtc.mode, lowerEtc.mode);
    assert.equal(upperEtc.uid, lowerEtc.uid);
    await Deno.remove(`${upper}/etc`, { recursive: true });
    const [again] = await s.run([s.spec(["/bin/sh", "-c", "cat /etc/resolv.conf"], { lxcRootfs })]);
    assert.equal(again.exitCode, 0, again.stderr);
    assert.deepEqual(
      await Array.fromAsync(Deno.readDir(upper)),
      [],
      "an empty run leaves the upper dir empty",
    );
  });
}
