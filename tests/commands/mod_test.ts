import assert from "node:assert/strict";
import { COMMANDS, findCommand } from "../../lib/commands/mod.ts";
import type { CommandMeta } from "../../lib/commands/types.ts";

const lib = new URL("../../lib/", import.meta.url).href;

interface InfoDep {
  readonly code?: { readonly specifier: string };
  readonly isDynamic?: boolean;
}
interface InfoModule {
  readonly specifier: string;
  readonly dependencies?: readonly InfoDep[];
}

/**
 * The modules evaluated as soon as `root` is imported: `deno info` follows static and dynamic
 * imports, so this walks only static value imports (no `import type`, no `import()`). Returns each
 * module with the module that imported it, to name the path in a failure.
 */
async function staticClosure(root: string): Promise<Map<string, string | undefined>> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", root],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    modules: InfoModule[];
    redirects: Record<string, string>;
  };
  const bySpec = new Map(info.modules.map((m) => [m.specifier, m]));
  const parents = new Map<string, string | undefined>([[root, undefined]]);
  const queue = [root];
  while (queue.length > 0) {
    const spec = queue.shift()!;
    for (const dep of bySpec.get(spec)?.dependencies ?? []) {
      if (!dep.code || dep.isDynamic) continue;
      const target = info.redirects[dep.code.specifier] ?? dep.code.specifier;
      if (parents.has(target)) continue;
      parents.set(target, spec);
      queue.push(target);
    }
  }
  return parents;
}

/** The import chain from the root to `spec`, shortened to paths under lib/. */
function chain(parents: Map<string, string | undefined>, spec: string): string {
  const path: string[] = [];
  for (let s: string | undefined = spec; s !== undefined; s = parents.get(s)) {
    path.unshift(s.replace(lib, ""));
  }
  return path.join(" -> ");
}

/** Modules of `closure` matching `heavy`, each with its import chain. */
function offenders(closure: Map<string, string | undefined>, heavy: RegExp): string[] {
  return [...closure.keys()].filter((s) => heavy.test(s.replace(lib, ""))).map((s) => chain(closure, s));
}

/** Anything beyond argument parsing: the stages, FFI, the npm packages, Deno's Node layer. */
const HEAVY = /^(build|storage|layer|transport|stackerfile|oci|runtime|ffi)\/|^npm:|^node:/;

const metaOf = (c: CommandMeta) => ({
  name: c.name,
  aliases: c.aliases,
  summary: c.summary,
  usage: c.usage,
  hidden: c.hidden,
  noUserns: c.noUserns,
  flags: c.flags,
});

Deno.test("every command of the CLI contract is in the table", () => {
  const names = new Set(COMMANDS.flatMap((c) => [c.name, ...(c.aliases ?? [])]));
  for (
    const n of [
      "build",
      "recursive-build",
      "publish",
      "inspect",
      "grab",
      "chroot",
      "exec",
      "clean",
      "check",
      "unpriv-setup",
      "convert",
      "version",
      "gc",
    ]
  ) assert.ok(names.has(n), n);
});

Deno.test("no two commands share a name or alias", () => {
  const names = COMMANDS.flatMap((c) => [c.name, ...(c.aliases ?? [])]);
  assert.deepEqual(names.filter((n, i) => names.indexOf(n) !== i), []);
});

Deno.test("each command loads an implementation with exactly the table's metadata", async () => {
  // Flags are parsed and defaulted from the table, so an implementation declaring other flags
  // would receive values it does not expect (or miss ones it does).
  for (const entry of COMMANDS) {
    const impl = await entry.load();
    assert.deepEqual(metaOf(impl), metaOf(entry), entry.name);
    assert.equal(typeof impl.run, "function", entry.name);
  }
});

Deno.test("findCommand() resolves names and aliases to table entries", () => {
  assert.equal(findCommand("exec"), findCommand("chroot"));
  assert.equal(findCommand("build")?.name, "build");
  assert.equal(findCommand("frobnicate"), undefined);
});

Deno.test("the CLI driver statically imports no command implementation, stage, npm or node: module", async () => {
  // What run_cli.ts imports statically is paid by `stacker --version` and every `--help`; command
  // modules must be reached only through the table's `load` (a dynamic import).
  const closure = await staticClosure(`${lib}commands/run_cli.ts`);
  assert.ok(closure.has(`${lib}commands/mod.ts`), "the walk reaches the command table");
  assert.deepEqual(offenders(closure, HEAVY), []);
  const commandModules = [...closure.keys()].filter((s) =>
    /^commands\/[a-z][a-z_]*\.ts$/.test(s.replace(lib, "")) &&
    !/\/(mod|run_cli|types)\.ts$/.test(s)
  );
  assert.deepEqual(commandModules.map((s) => chain(closure, s)), []);
});

Deno.test("inspect loads neither the builder, storage, the stacker file parser nor npm packages", async () => {
  const closure = await staticClosure(`${lib}commands/inspect.ts`);
  assert.deepEqual(
    offenders(closure, /^(build\/(?!inspect\.ts)|storage\/|layer\/|stackerfile\/|npm:)/),
    [],
  );
});

Deno.test("the run helper (started once per run step) loads no npm or node: module", async () => {
  // Any node: import starts Deno's Node layer (~25 ms) in every run step's helper process.
  const closure = await staticClosure(`${lib}commands/internal_run.ts`);
  assert.ok(closure.has(`${lib}runtime/helper.ts`), "the walk reaches the helper");
  assert.deepEqual(offenders(closure, /^npm:|^node:|^(build|storage|layer|transport|stackerfile)\//), []);
});
