/**
 * Loading a set of stacker files with their prerequisites (recursively, by path or URL) and putting
 * files and layers in build order (spec §3.2).
 */
import { resolve as resolvePath } from "../util/path.ts";
import { StackerfileError } from "../util/errors.ts";
import { type Logger, silentLogger } from "../util/log.ts";
import { isUrl, parseStackerFile } from "./parse_stacker_file.ts";
import { resolveSubstitutions } from "./substitute.ts";
import type { BuildPlan, LayerSpec, LoadOptions, StackerFile, Substitution } from "./types.ts";

async function readSource(where: string, opts: LoadOptions, requiredBy?: string): Promise<string> {
  const context = { file: where, requiredBy };
  if (isUrl(where)) {
    let res: Response;
    try {
      res = await (opts.fetch ?? fetch)(where);
    } catch (err) {
      throw new StackerfileError(`Cannot fetch stacker file "${where}": ${(err as Error).message}`, {
        code: "stackerfile.fetch",
        context,
        cause: err,
      });
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new StackerfileError(
        `Cannot fetch stacker file "${where}": HTTP ${res.status} ${res.statusText}`,
        {
          code: "stackerfile.fetch",
          context: { ...context, status: res.status },
        },
      );
    }
    return await res.text();
  }
  try {
    return await Deno.readTextFile(where);
  } catch (err) {
    const state = err instanceof Deno.errors.NotFound ? "no such file" : (err as Error).message;
    throw new StackerfileError(
      `Cannot read stacker file "${where}": ${state}${
        requiredBy ? ` (a prerequisite of "${requiredBy}")` : ""
      }`,
      {
        code: err instanceof Deno.errors.NotFound ? "stackerfile.not-found" : "stackerfile.read",
        context,
        cause: err,
      },
    );
  }
}

/** The `stacker://<layer>/…` layer of a URL, or undefined. */
function stackerUrlLayer(url: string | undefined): string | undefined {
  const m = url?.match(/^stacker:\/\/([^/]+)\//);
  return m?.[1];
}

/** What `layer` needs built first: its `built` base and the layers of its `stacker://` sources. */
export function layerDependencies(layer: LayerSpec): { layer: string; what: string }[] {
  const deps: { layer: string; what: string }[] = [];
  if (layer.from.type === "built" && layer.from.tag) {
    deps.push({ layer: layer.from.tag, what: `base layer ${layer.from.tag}` });
  }
  if (layer.from.type === "tar") {
    const l = stackerUrlLayer(layer.from.url);
    if (l) deps.push({ layer: l, what: layer.from.url! });
  }
  for (const imp of layer.imports ?? []) {
    const l = imp.kind === "stacker" ? stackerUrlLayer(imp.path) : undefined;
    if (l) deps.push({ layer: l, what: imp.path });
  }
  return deps;
}

/** Orders the files by prerequisites (every prerequisite first; independent files by path). */
function orderFiles(files: Map<string, StackerFile>): StackerFile[] {
  const out: StackerFile[] = [];
  const state = new Map<string, "visiting" | "done">();
  const visit = (path: string, stack: string[]) => {
    const s = state.get(path);
    if (s === "done") return;
    if (s === "visiting") {
      const cycle = [...stack.slice(stack.indexOf(path)), path];
      throw new StackerfileError(
        `Cannot order stacker files: prerequisite cycle ${cycle.map((p) => `"${p}"`).join(" -> ")}`,
        {
          code: "stackerfile.prerequisite-cycle",
          context: { file: path, count: cycle.length - 1 },
        },
      );
    }
    state.set(path, "visiting");
    const f = files.get(path)!;
    for (const p of [...f.prerequisites].sort()) visit(p, [...stack, path]);
    state.set(path, "done");
    out.push(f);
  };
  for (const p of [...files.keys()].sort()) visit(p, []);
  return out;
}

/** Transitive prerequisites of each file (paths), itself excluded. */
function ancestors(ordered: StackerFile[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const f of ordered) {
    const set = new Set<string>();
    for (const p of f.prerequisites) {
      set.add(p);
      for (const q of out.get(p) ?? []) set.add(q);
    }
    out.set(f.path, set);
  }
  return out;
}

/**
 * The layers of one file in build order: repeated passes in file order, each emitting the layers
 * whose dependencies are already emitted (`done` holds the layers of its prerequisites). Throws one
 * StackerfileError naming every layer left and what it misses (a missing name or a cycle).
 */
function orderLayers(file: StackerFile, done: ReadonlySet<string>, log: Logger): LayerSpec[] {
  const emitted = new Set(done);
  const out: LayerSpec[] = [];
  let left = [...file.layers];
  while (left.length > 0) {
    const next: LayerSpec[] = [];
    for (const l of left) {
      if (layerDependencies(l).every((d) => emitted.has(d.layer))) {
        out.push(l);
        emitted.add(l.name);
      } else {
        next.push(l);
      }
    }
    if (next.length === left.length) break;
    left = next;
  }
  if (out.length < file.layers.length) {
    const lines = left.map((l) => {
      const missing = layerDependencies(l).filter((d) => !emitted.has(d.layer)).map((d) => d.what);
      log.info(`couldn't find dependencies for ${l.name}: ${missing.join(", ")}`);
      const pos = l.positions[""];
      return `${pos.file}:${pos.line}:${pos.column}: couldn't find dependencies for ${l.name}: ${
        missing.join(", ")
      }`;
    });
    const first = left[0].positions[""];
    throw new StackerfileError(
      `Cannot order layers: couldn't resolve some dependencies (missing, or a cycle)\n${lines.join("\n")}`,
      {
        code: "stackerfile.unresolved-dependencies",
        context: {
          file: file.path,
          line: first.line,
          column: first.column,
          key: left[0].name,
          count: left.length,
        },
      },
    );
  }
  return out;
}

/** Resolves `--substitute`, `--substitute-file` (read here) and the built-in dirs of `opts`. */
export async function substitutionsOf(opts: LoadOptions): Promise<Substitution[]> {
  const file = opts.substituteFile;
  let text: string | undefined;
  if (file !== undefined) {
    try {
      text = await Deno.readTextFile(file);
    } catch (err) {
      throw new StackerfileError(`Cannot read substitute file "${file}": ${(err as Error).message}`, {
        code: "stackerfile.bad-substitute-file",
        context: { file },
        cause: err,
      });
    }
  }
  return resolveSubstitutions({
    substitute: opts.substitute,
    substituteFile: text === undefined ? undefined : { path: file!, text },
    dirs: { ...opts.dirs, workDir: opts.dirs?.workDir ?? opts.cwd ?? Deno.cwd() },
  });
}

/**
 * Loads `paths` (paths relative to `opts.cwd`, or http(s) URLs) and every prerequisite they name,
 * recursively, then orders files (prerequisites first, independent files by path) and the layers
 * of each file (`built` bases and `stacker://` sources first, file order as the tie-breaker).
 * Throws StackerfileError: a file's parse problems all at once; a duplicate layer name naming
 * both files; a prerequisite cycle; every unresolved layer reference of a file at once.
 */
export async function loadStackerFiles(paths: readonly string[], opts: LoadOptions = {}): Promise<BuildPlan> {
  const cwd = opts.cwd ?? Deno.cwd();
  const log = opts.log ?? silentLogger;
  const substitutions = await substitutionsOf(opts);
  const files = new Map<string, StackerFile>();
  const owner = new Map<string, string>();
  const load = async (where: string, requiredBy?: string): Promise<void> => {
    if (files.has(where)) return;
    const text = await readSource(where, opts, requiredBy);
    if (files.has(where)) return;
    const sf = parseStackerFile(text, where, { substitutions, requireHash: opts.requireHash, cwd, log });
    files.set(where, sf);
    for (const l of sf.layers) {
      const other = owner.get(l.name);
      if (other !== undefined) {
        const pos = l.positions[""];
        throw new StackerfileError(
          `Cannot load stacker files: duplicate layer name: both ${other} and ${where} have ${l.name}`,
          {
            code: "stackerfile.duplicate-layer",
            context: { file: where, line: pos.line, column: pos.column, key: l.name, other },
          },
        );
      }
      owner.set(l.name, where);
    }
    for (const p of sf.prerequisites) await load(p, where);
  };
  for (const p of paths) await load(isUrl(p) ? p : resolvePath(cwd, p));
  const ordered = orderFiles(files);
  const anc = ancestors(ordered);
  const layers: LayerSpec[] = [];
  for (const f of ordered) {
    const done = new Set<string>();
    for (const a of anc.get(f.path) ?? []) for (const l of files.get(a)!.layers) done.add(l.name);
    layers.push(...orderLayers(f, done, log));
  }
  return { files: ordered, layers };
}

/**
 * The `--order-only` output: one line per file in build order, `N build <path>: requires: [<paths>]`
 * (the phrase stacker logs), N counting from 0.
 */
export function buildOrderLines(plan: BuildPlan): string[] {
  return plan.files.map((f, i) => `${i} build ${f.path}: requires: [${f.prerequisites.join(" ")}]`);
}

/** Loads and orders `paths` as `loadStackerFiles` does and returns `buildOrderLines` (also logged at debug). */
export async function orderOnly(paths: readonly string[], opts: LoadOptions = {}): Promise<string[]> {
  const lines = buildOrderLines(await loadStackerFiles(paths, opts));
  for (const l of lines) (opts.log ?? silentLogger).debug(l);
  return lines;
}
