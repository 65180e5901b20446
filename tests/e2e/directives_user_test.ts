/**
 * Every directive through the CLI as the unprivileged test user (inside its user namespace), on
 * overlay and copy: build_only chains, stacker:// and dest imports, legacy import, overlay_dirs,
 * binds, build_env, environment, cmd/entrypoint, volumes, labels, generate_labels, working_dir,
 * runtime_user, annotations, scratch. Files in the image come out owned by root.
 */
import assert from "node:assert/strict";
import {
  busyboxLayout,
  runAsTestUser,
  sourceRootForTestUser,
  testUserIds,
} from "../../scripts/fixtures/mod.ts";

const stackerYaml = (base: string) => `
tools:
  from:
    type: oci
    url: ${base}
  build_only: true
  build_env:
    GREETING: hello
  run: |
    mkdir -p /out
    echo "$GREETING from $STACKER_LAYER_NAME" > /out/tool
    chown 1000:1000 /out/tool
app:
  from:
    type: built
    tag: tools
  imports:
    - path: stacker://tools/out/tool
      dest: /usr/share/tool
    - path: data/
      dest: /srv/data/
    - notes.txt
  overlay_dirs:
    - source: overlay
      dest: /opt
  binds:
    - bound -> /mnt/bound
  environment:
    APP_MODE: production
  entrypoint: /bin/sh -c
  cmd:
    - echo hi
  volumes:
    - /var/lib/app
  labels:
    org.example.from: yaml
  generate_labels: |
    echo -n generated > /stacker/oci-labels/org.example.gen
  working_dir: /srv
  runtime_user: "1000"
  annotations:
    org.example.note: annotated
  run: |
    test -f /usr/share/tool
    test -f /srv/data/a.txt
    test -f /opt/from-overlay
    cat /stacker/imports/notes.txt > /notes-copy
    test "$(cat /mnt/bound/inside)" = "host file"
    echo written-by-run > /mnt/bound/out
    id -u > /whoami
legacy:
  from:
    type: scratch
  import:
    - notes.txt
`;

Deno.test({
  name: "every directive builds through the CLI as the unprivileged user (overlay and copy)",
  ignore: Deno.uid() !== 0,
  fn: async (t) => {
    const base = await busyboxLayout();
    const ids = await testUserIds();
    const cli = `${sourceRootForTestUser()}/cli.ts`;
    for (const storage of ["overlay", "copy"]) {
      await t.step(storage, async () => {
        const dir = await Deno.makeTempDir({ dir: "/var/tmp", prefix: "stacker-ts-directives-" });
        try {
          await Deno.mkdir(`${dir}/data`);
          await Deno.mkdir(`${dir}/overlay`);
          await Deno.mkdir(`${dir}/bound`);
          await Deno.writeTextFile(`${dir}/data/a.txt`, "a");
          await Deno.writeTextFile(`${dir}/overlay/from-overlay`, "o");
          await Deno.writeTextFile(`${dir}/bound/inside`, "host file");
          await Deno.writeTextFile(`${dir}/notes.txt`, "notes");
          await Deno.writeTextFile(`${dir}/stacker.yaml`, stackerYaml(`${base.dir}:${base.tag}`));
          await new Deno.Command("chown", { args: ["-R", `${ids.uid}:${ids.gid}`, dir] }).output();
          const r = await runAsTestUser(
            [Deno.execPath(), "run", "-A", cli, "--storage-type", storage, "build"],
            { cwd: dir },
          );
          assert.equal(r.code, 0, r.stderr);
          assert.equal(
            await Deno.readTextFile(`${dir}/bound/out`),
            "written-by-run\n",
            "binds are read-write",
          );
          const insp = await runAsTestUser([Deno.execPath(), "run", "-A", cli, "inspect", "--json"], {
            cwd: dir,
          });
          assert.equal(insp.code, 0, insp.stderr);
          const images = JSON.parse(insp.stdout) as {
            tag: string;
            annotations?: Record<string, string>;
            config: {
              config: {
                Env: string[];
                Entrypoint: string[];
                Cmd: string[];
                Volumes: Record<string, unknown>;
                Labels: Record<string, string>;
                WorkingDir: string;
                User: string;
              };
            };
          }[];
          assert.deepEqual(images.map((i) => i.tag).sort(), ["app", "legacy"], "build_only is not tagged");
          const app = images.find((i) => i.tag === "app")!;
          const c = app.config.config;
          assert.ok(c.Env.includes("APP_MODE=production"));
          assert.deepEqual(c.Entrypoint, ["/bin/sh", "-c"]);
          assert.deepEqual(c.Cmd, ["echo hi"]);
          assert.ok("/var/lib/app" in c.Volumes);
          assert.equal(c.Labels["org.example.from"], "yaml");
          assert.equal(c.Labels["org.example.gen"], "generated");
          assert.equal(c.WorkingDir, "/srv");
          assert.equal(c.User, "1000");
          assert.equal(app.annotations?.["org.example.note"], "annotated");
          // The files: unpack with umoci (as root) and check content and ownership.
          const out = `${dir}/unpacked`;
          const u = await new Deno.Command("umoci", {
            args: ["unpack", "--image", `${dir}/oci:app`, out],
            stderr: "piped",
          }).output();
          assert.equal(u.code, 0, new TextDecoder().decode(u.stderr));
          const rootfs = `${out}/rootfs`;
          assert.equal(await Deno.readTextFile(`${rootfs}/usr/share/tool`), "hello from tools\n");
          assert.equal(
            (await Deno.lstat(`${rootfs}/out/tool`)).uid,
            1000,
            "ownership inside the image is kept",
          );
          assert.equal((await Deno.lstat(`${rootfs}/notes-copy`)).uid, 0, "files the run made are root's");
          assert.equal(await Deno.readTextFile(`${rootfs}/whoami`), "0\n");
          assert.equal(await Deno.readTextFile(`${rootfs}/opt/from-overlay`), "o");
          assert.equal(await Deno.readTextFile(`${rootfs}/srv/data/a.txt`), "a");
          await assert.rejects(() => Deno.lstat(`${rootfs}/mnt/bound/inside`), Deno.errors.NotFound);
          // a second build is all cache hits, except the layer with binds (rebuilt every time)
          const again = await runAsTestUser([Deno.execPath(), "run", "-A", cli, "build"], { cwd: dir });
          assert.equal(again.code, 0, again.stderr);
          assert.match(again.stderr, /found cached layer legacy/);
          assert.match(again.stderr, /rebuilding cached layer due to use of binds/);
        } finally {
          await new Deno.Command("rm", { args: ["-rf", dir] }).output();
        }
      });
    }
  },
});
