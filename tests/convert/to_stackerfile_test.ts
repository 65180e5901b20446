import assert from "node:assert/strict";
import { parseDockerfile } from "../../lib/convert/dockerfile.ts";
import { type Conversion, toStackerfile } from "../../lib/convert/to_stackerfile.ts";
import { loadStackerFiles } from "../../lib/stackerfile/mod.ts";
import { YAML } from "../../lib/util/deps.ts";
import { StackerError } from "../../lib/util/errors.ts";
import { DOCKERFILES } from "./_dockerfiles.ts";

// deno-lint-ignore no-explicit-any
type Raw = Record<string, any>;

/** Converts `text` with a build context at /ctx where only `dirs` are directories. */
function convert(text: string, dirs: string[] = []): Conversion & { raw: Raw } {
  const c = toStackerfile(parseDockerfile(text), {
    contextDir: "/ctx",
    outputDir: "/ctx",
    arch: "amd64",
    isDirectory: (p) => dirs.includes(p),
  });
  return { ...c, raw: YAML.parse(c.stackerYaml) };
}

function errorOf(text: string): StackerError {
  try {
    convert(text);
  } catch (err) {
    assert.ok(err instanceof StackerError, `expected a StackerError, got ${err}`);
    return err;
  }
  assert.fail(`expected a StackerError for ${JSON.stringify(text)}`);
}

Deno.test("FROM: an unnamed final stage is ${{IMAGE}} (IMAGE=app) on a docker base with the host arch", () => {
  const c = convert("FROM debian:12\n");
  assert.deepEqual(c.raw, {
    "${{IMAGE}}": { from: { type: "docker", url: "docker://debian:12" }, build_env: { arch: "amd64" } },
  });
  assert.deepEqual(c.substitutions, { IMAGE: "app" });
  assert.equal(c.substitutionsYaml, "IMAGE: app\n");
  assert.deepEqual(convert("FROM scratch").raw["${{IMAGE}}"].from, { type: "scratch" });
});

Deno.test("FROM: stages keep their names, earlier ones are build_only, a stage base is type built", () => {
  const c = convert("FROM busybox AS Tools\nFROM busybox\nFROM tools AS final\n");
  assert.deepEqual(Object.keys(c.raw), ["tools", "stage1", "final"]);
  assert.equal(c.raw.tools.build_only, true);
  assert.equal(c.raw.stage1.build_only, true);
  assert.equal(c.raw.final.build_only, undefined);
  assert.deepEqual(c.raw.final.from, { type: "built", tag: "tools" });
  assert.deepEqual(c.substitutions, {}, "no IMAGE when the last stage is named");
  assert.equal(c.substitutionsYaml, "{}\n");
  assert.match(errorOf("FROM --platform=linux/arm64 busybox").message, /line 1 \(FROM\): FROM --platform/);
  assert.match(errorOf("FROM busybox AS config").message, /reserved/);
  assert.match(errorOf("FROM a AS x\nFROM b AS x").message, /line 2 .*used twice/);
});

Deno.test("RUN: sh -e -c lines with mkdir -p, su -p after USER, refused flags", () => {
  const c = convert(
    'FROM b\nRUN mkdir /a && echo "it\'s"\nRUN ["touch", "/a b"]\nUSER 1000:1000\nRUN id -u\nUSER root\nRUN id -u\n',
  );
  assert.deepEqual(c.raw["${{IMAGE}}"].run, [
    `sh -e -c 'mkdir -p /a && echo "it'"'"'s"'`,
    `sh -e -c 'touch '"'"'/a b'"'"''`,
    "su -p 1000 -c 'id -u'",
    "sh -e -c 'id -u'",
  ]);
  assert.ok(c.notes.some((n) => n.level === "warn" && /line 4: USER 1000 is numeric/.test(n.message)));
  assert.deepEqual(convert("FROM b\nUSER app\nRUN id\n").notes, []);
  const e = errorOf("FROM b\nRUN --mount=type=cache,target=/c make");
  assert.equal(e.code, "convert.unsupported-flag");
  assert.match(e.message, /line 2 \(RUN\): RUN --mount/);
});

Deno.test("ENV: export lines before the next RUN, never runtime environment; a built stage replays them", () => {
  const c = convert(
    'FROM b AS one\nENV A=1 B="x y"\nENV PATH=/opt/bin:$PATH C=$A\nWORKDIR /w\nRUN env\nENV LATE=1\nFROM one\nRUN pwd\n',
  );
  assert.deepEqual(c.raw.one.run, [
    "export A=1",
    "export B='x y'",
    'export PATH="/opt/bin:${PATH}"',
    "export C=1",
    "mkdir -p /w",
    "cd /w",
    "sh -e -c 'env'",
  ]);
  assert.equal(c.raw.one.environment, undefined);
  assert.deepEqual(c.raw["${{IMAGE}}"].run, [
    "export A=1",
    "export B='x y'",
    'export PATH="/opt/bin:${PATH}"',
    "export C=1",
    "export LATE=1",
    "cd /w",
    "sh -e -c 'pwd'",
  ]);
});

Deno.test("ARG: ${{NAME}} substitutions with defaults in the substitutions, empty without one", () => {
  const c = convert(
    "ARG V=1.0\nARG BASE=debian:${V}\nFROM $BASE\nARG V\nARG NODEF\nARG TARGETARCH\nENV VER=v$V\n" +
      'RUN echo $V ${V} ${NODEF} $TARGETARCH\nLABEL version=$V\nCMD ["echo", "$V"]\n',
  );
  const l = c.raw["${{IMAGE}}"];
  assert.equal(l.from.url, "docker://${{BASE}}");
  assert.deepEqual(l.run, [
    'export VER="v${{V}}"',
    "sh -e -c 'echo ${{V}} ${{V}} ${{NODEF:}} ${{TARGETARCH}}'",
  ]);
  assert.deepEqual(l.labels, { version: "${{V}}" });
  assert.deepEqual(l.cmd, ["echo", "${{V}}"]);
  assert.deepEqual(c.substitutions, { V: "1.0", BASE: "debian:1.0", IMAGE: "app", TARGETARCH: "amd64" });
  const e = errorOf("ARG V=1\nFROM b\nARG V=2\n");
  assert.equal(e.code, "convert.conflicting-arg");
  assert.match(e.message, /line 3 \(ARG\)/);
});

Deno.test("COPY: imports with dest, relative to WORKDIR; --from becomes stacker://", () => {
  const c = convert(
    "FROM b AS build\nRUN make\nFROM b\nWORKDIR /app\nCOPY --from=build /out/bin /usr/local/bin/\nCOPY src ./src\nCOPY --chown=1:1 --chmod=755 run.sh .\n",
    ["/ctx/src"],
  );
  assert.deepEqual(c.raw["${{IMAGE}}"].imports, [
    { path: "stacker://build/out/bin", dest: "/usr/local/bin/" },
    { path: "./src/", dest: "/app/src" },
    { path: "./run.sh", dest: "/app/", mode: 0o755, uid: 1, gid: 1 },
  ]);
  assert.match(c.stackerYaml, /mode: 0o755/);
  assert.ok(c.notes.some((n) => n.level === "warn" && /if \/out\/bin is a directory/.test(n.message)));
  const after = convert("FROM b\nRUN make\nCOPY a /a\nCOPY b /b\n");
  assert.equal(after.notes.filter((n) => /COPY after RUN/.test(n.message)).length, 1);
});

Deno.test("WORKDIR: mkdir -p and cd in the run script, relative to the previous one", () => {
  const c = convert("FROM b\nENV BASE=/srv\nWORKDIR $BASE\nWORKDIR 'my app'\nRUN ls\n");
  assert.deepEqual(c.raw["${{IMAGE}}"].run, [
    "export BASE=/srv",
    "mkdir -p /srv",
    "cd /srv",
    "mkdir -p '/srv/my app'",
    "cd '/srv/my app'",
    "sh -e -c 'ls'",
  ]);
});

Deno.test("VOLUME: a bind from ${{STACKER_VOLn}} per path, defaulting to the same host path", () => {
  const c = convert('FROM b\nVOLUME ["/data"]\nVOLUME /a /b\n');
  assert.deepEqual(c.raw["${{IMAGE}}"].binds, [
    { source: "${{STACKER_VOL1}}", dest: "/data" },
    { source: "${{STACKER_VOL2}}", dest: "/a" },
    { source: "${{STACKER_VOL3}}", dest: "/b" },
  ]);
  assert.deepEqual(c.substitutions, {
    IMAGE: "app",
    STACKER_VOL1: "/data",
    STACKER_VOL2: "/a",
    STACKER_VOL3: "/b",
  });
  assert.match(errorOf("FROM b\nVOLUME data").message, /line 2 .*not absolute/);
});

Deno.test("CMD/ENTRYPOINT: the exec form as given, the shell form through /bin/sh -c; last one wins", () => {
  const c = convert('FROM b\nCMD ["first"]\nCMD echo "$HOME"\nENTRYPOINT ["/bin/app", "--x"]\n');
  assert.deepEqual(c.raw["${{IMAGE}}"].cmd, ["/bin/sh", "-c", 'echo "$HOME"']);
  assert.deepEqual(c.raw["${{IMAGE}}"].entrypoint, ["/bin/app", "--x"]);
});

Deno.test("LABEL → labels, MAINTAINER → the authors annotation, EXPOSE ignored with a note", () => {
  const c = convert(
    'FROM b\nLABEL a=1 "b c"="d e"\nLABEL a=2\nMAINTAINER Jane <j@x.org>\nMAINTAINER Joe\nEXPOSE 80/tcp\n',
  );
  const l = c.raw["${{IMAGE}}"];
  assert.deepEqual(l.labels, { a: "2", "b c": "d e" });
  assert.deepEqual(l.annotations, { "org.opencontainers.image.authors": "Jane <j@x.org>,Joe" });
  assert.deepEqual(c.notes, [{
    level: "info",
    message: "line 6: EXPOSE 80/tcp ignored (runtime configuration)",
  }]);
});

Deno.test("instructions stacker cannot express are refused with their line", () => {
  for (
    const [kw, args] of [["ADD", "a /b"], ["HEALTHCHECK", "CMD true"], ["SHELL", '["/bin/bash", "-c"]'], [
      "ONBUILD",
      "RUN x",
    ], ["STOPSIGNAL", "SIGKILL"]]
  ) {
    const e = errorOf(`FROM b\n# c\n${kw} ${args}\n`);
    assert.equal(e.code, "convert.unsupported", kw);
    assert.match(e.message, new RegExp(`line 3 \\(${kw}\\): ${kw} is not supported: `));
  }
  assert.match(errorOf("RUN x\nFROM b").message, /line 1 \(RUN\): RUN before the first FROM/);
  assert.equal(errorOf("# nothing\n").code, "convert.no-from");
});

Deno.test("every fixture Dockerfile converts into a stacker file our parser loads with its substitutions", async (t) => {
  for (const fx of DOCKERFILES) {
    await t.step(fx.name, async () => {
      const dir = await Deno.makeTempDir({ prefix: "convert-load-" });
      try {
        for (const f of fx.files ?? []) {
          if (f.endsWith("/")) await Deno.mkdir(`${dir}/${f}`, { recursive: true });
          else await Deno.writeTextFile(`${dir}/${f}`, "x");
        }
        const c = toStackerfile(parseDockerfile(fx.text), { contextDir: dir, outputDir: dir });
        await Deno.writeTextFile(`${dir}/stacker.yaml`, c.stackerYaml);
        await Deno.writeTextFile(`${dir}/stacker-subs.yaml`, c.substitutionsYaml);
        const plan = await loadStackerFiles([`${dir}/stacker.yaml`], {
          substituteFile: `${dir}/stacker-subs.yaml`,
          cwd: dir,
        });
        const froms = fx.text.split("\n").filter((l) => /^FROM /i.test(l)).length;
        assert.equal(plan.layers.length, froms);
        // Built bases come first in the build order; the final image is last.
        assert.equal(plan.layers[plan.layers.length - 1].buildOnly, false);
        for (const l of plan.layers.slice(0, -1)) assert.equal(l.buildOnly, true, l.name);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    });
  }
});
