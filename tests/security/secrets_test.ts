/**
 * Secrets (`--substitute-secret`, registry passwords) reach the run that needs them and nothing
 * else: no log line (not even with --debug), no argv of the re-executed child, not the cache file,
 * not the stacker_yaml annotation, not a blob of the image. A changed secret still rebuilds.
 */
import assert from "node:assert/strict";
import { busyboxLayout } from "../../scripts/fixtures/mod.ts";
import { chownTree, projectDir, sh, stackerAs, WHO } from "./_project.ts";

async function sha256Hex(text: string): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Every file under `dir`, gzip layers also decompressed, as text. */
async function everyByte(dir: string): Promise<string> {
  const files = (await sh("find", [dir, "-type", "f"])).split("\n").filter((l) => l !== "");
  let all = "";
  for (const f of files) {
    const bytes = await Deno.readFile(f);
    all += new TextDecoder().decode(bytes);
    if (bytes[0] === 0x1f && bytes[1] === 0x8b) all += await sh("sh", ["-c", 'gzip -dc "$1"', "x", f]);
  }
  return all;
}

const YAML = (base: string, extra = "") =>
  `t:
  from:
    type: oci
    url: ${base}
  build_env:
    FROM_ENV: \${{ENVSEC}}
  run: |
    printf %s "\${{TOKEN}}" | sha256sum | cut -d" " -f1 > /token.sha
    printf %s "$FROM_ENV" | sha256sum | cut -d" " -f1 > /env.sha
${extra}`;

for (const who of WHO) {
  Deno.test(`--substitute-secret values reach the run and no log, cache file, annotation or blob (${who})`, async () => {
    const base = await busyboxLayout();
    await using p = await projectDir(who, "secrets");
    const token = `tok-${crypto.randomUUID()}`;
    const envSecret = `env-${crypto.randomUUID()}`;
    await Deno.writeTextFile(`${p.path}/stacker.yaml`, YAML(`${base.dir}:${base.tag}`));
    await chownTree(p.path, who);
    const build = (tok: string) =>
      stackerAs(who, p.path, [
        "--debug",
        "build",
        "--substitute-secret",
        `TOKEN=${tok}`,
        "--substitute-secret",
        "ENVSEC",
      ], {
        ENVSEC: envSecret,
      });
    const r = await build(token);
    assert.equal(r.code, 0, r.stderr);
    for (const s of [token, envSecret]) {
      assert.ok(!r.stderr.includes(s) && !r.stdout.includes(s), `a secret in the output: ${r.stderr}`);
      assert.ok(!(await everyByte(`${p.path}/oci`)).includes(s), "a secret in the image layout");
      assert.ok(
        !(await Deno.readTextFile(`${p.path}/.stacker/build.cache`)).includes(s),
        "a secret in the cache file",
      );
    }
    await sh("umoci", ["unpack", "--image", `${p.path}/oci:t`, `${p.path}/unpacked`]);
    assert.equal(
      (await Deno.readTextFile(`${p.path}/unpacked/rootfs/token.sha`)).trim(),
      await sha256Hex(token),
    );
    assert.equal(
      (await Deno.readTextFile(`${p.path}/unpacked/rootfs/env.sha`)).trim(),
      await sha256Hex(envSecret),
    );
    const inspect = await stackerAs(who, p.path, ["inspect", "--json"]);
    assert.match(inspect.stdout, /\$\{\{TOKEN\}\}/, "the annotation keeps the placeholder");

    const same = await build(token);
    assert.match(same.stderr, /found cached layer t/);
    const changed = await build(`${token}-2`);
    assert.equal(changed.code, 0, changed.stderr);
    assert.doesNotMatch(changed.stderr, /found cached layer t/, "a changed secret rebuilds");

    // A secret would land in the image config: refused, and the message does not show it.
    await Deno.writeTextFile(
      `${p.path}/stacker.yaml`,
      YAML(`${base.dir}:${base.tag}`, "  environment:\n    LEAK: ${{TOKEN}}\n"),
    );
    await chownTree(p.path, who);
    const leak = await build(token);
    assert.notEqual(leak.code, 0);
    assert.match(leak.stderr, /would hold the secret \$\{\{TOKEN\}\}/);
    assert.ok(!leak.stderr.includes(token));
  });
}

Deno.test({
  name: "--password reaches neither --debug logs nor the re-executed child's argv (builder)",
  ignore: WHO.length === 0,
  fn: async () => {
    await using p = await projectDir("builder", "password");
    const password = `pw-${crypto.randomUUID()}`;
    await Deno.writeTextFile(`${p.path}/stacker.yaml`, "t:\n  from:\n    type: scratch\n");
    await chownTree(p.path, "builder");
    const r = await stackerAs("builder", p.path, [
      "--debug",
      "publish",
      "--url",
      "docker://127.0.0.1:9/nowhere",
      "--username",
      "u",
      "--password",
      password,
    ]);
    assert.match(r.stderr, /Re-executing in a user namespace/, "the re-exec is logged");
    assert.ok(!r.stderr.includes(password), r.stderr);
    const argvLine = r.stderr.split("\n").find((l) => l.includes("Re-executing"))!;
    assert.doesNotMatch(argvLine, /--password/, "the child's argv carries no password");
  },
});
