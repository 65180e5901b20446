/**
 * One stacker file: substitution, YAML with positions (anchors, aliases, merge keys), document-level
 * checks, then every layer through the schema of spec §1. Every problem of a file is reported at once.
 */
import { dirname } from "../util/path.ts";
import { YAML } from "../util/deps.ts";
import { silentLogger } from "../util/log.ts";
import { type FileProblem, throwProblems } from "./_problems.ts";
import { type Ctx, problem } from "./_context.ts";
import { configOf, layerOf } from "./_layer.ts";
import { isUrl } from "./_paths.ts";
import { isMergeKey } from "./_yaml_nodes.ts";
import { substitute } from "./substitute.ts";
import type { LayerSpec, ParseOptions, StackerFile } from "./types.ts";

export { importKindOf, isUrl, resolveIn } from "./_paths.ts";
export { runScriptOf } from "./_layer.ts";

/**
 * Parses one stacker file: substitutes placeholders in `text`, reads the YAML (anchors, aliases and
 * merge keys allowed; duplicate keys, several documents, tabs and non-string keys rejected), checks
 * every directive and returns the layers in file order. `path` is the file's absolute path or URL;
 * relative paths inside resolve against its directory (against `opts.cwd` for a URL).
 * Throws one StackerfileError listing every problem, each with file, line and column.
 */
export function parseStackerFile(text: string, path: string, opts: ParseOptions = {}): StackerFile {
  const substituted = substitute(text, opts.substitutions ?? [], path);
  const lc = new YAML.LineCounter();
  const problems: FileProblem[] = [];
  const doc = yamlDocumentOf(substituted, path, lc, problems);
  const ctx: Ctx = {
    file: path,
    dir: isUrl(path) ? (opts.cwd ?? Deno.cwd()) : dirname(path),
    text: substituted,
    doc,
    lc,
    problems,
    log: opts.log ?? silentLogger,
    requireHash: opts.requireHash ?? false,
    js: (YAML.isMap(doc.contents) ? doc.toJS({ maxAliasCount: 10_000 }) : {}) as Record<string, unknown>,
  };
  const root = doc.contents;
  if (!YAML.isMap(root)) {
    problem(
      ctx,
      root ?? undefined,
      "",
      "stackerfile.not-a-map",
      "expected a map of layer names to layer definitions",
    );
    throwProblems(path, problems);
  }
  const { layers, prerequisites } = layersOf(ctx, root as YAML.YAMLMap);
  throwProblems(path, problems);
  return { path, dir: ctx.dir, text: substituted, layers, prerequisites };
}

/**
 * The one YAML document of `text`. Throws (through `problems`) when there is none, several, a YAML
 * error, a duplicate key, or a collection used as a key.
 */
function yamlDocumentOf(
  text: string,
  path: string,
  lc: YAML.LineCounter,
  problems: FileProblem[],
): YAML.Document {
  const docs = YAML.parseAllDocuments(text, {
    lineCounter: lc,
    uniqueKeys: true,
    // No keepSourceTokens: node ranges and the LineCounter give every position we report.
    prettyErrors: false,
    merge: true,
  });
  const at = (off: number) => {
    const p = lc.linePos(off);
    return { line: p.line, column: p.col };
  };
  const list = Array.isArray(docs) ? docs : [];
  if (list.length === 0 || list[0].contents === null) {
    problems.push({
      line: 1,
      column: 1,
      code: "stackerfile.empty",
      message: "the file has no layers (it is empty)",
    });
  }
  if (list.length > 1) {
    problems.push({
      ...at(list[1].range[0]),
      code: "stackerfile.several-documents",
      message: `the file holds ${list.length} YAML documents: a stacker file is one map of layers`,
    });
  }
  for (const d of list) {
    for (const e of d.errors) {
      let msg = e.message.split("\n")[0];
      if (e.code === "DUPLICATE_KEY") {
        msg = `duplicate key "${text.slice(e.pos[0]).match(/^[^:\n]*/)![0].trim()}"`;
      }
      problems.push({
        ...at(e.pos[0]),
        code: e.code === "DUPLICATE_KEY" ? "stackerfile.duplicate-key" : "stackerfile.yaml",
        message: /tab/i.test(msg) && !/tabs are not allowed/i.test(msg)
          ? `${msg} (tabs are not allowed for indentation)`
          : msg,
      });
    }
  }
  throwProblems(path, problems);
  const doc = list[0];
  // Collection keys (`? [a]`) would be stringified by toJS (with a process warning): refuse them first.
  YAML.visit(doc, {
    Pair(_, pair) {
      if (YAML.isCollection(pair.key)) {
        problems.push({
          ...at(pair.key.range?.[0] ?? 0),
          code: "stackerfile.non-string-key",
          message: `key "${pair.key.toString()}" is not a string`,
        });
      }
    },
  });
  throwProblems(path, problems);
  return doc;
}

/** The layers of the top-level map in file order, and `config.prerequisites`; problems go to `ctx`. */
function layersOf(ctx: Ctx, root: YAML.YAMLMap): { layers: LayerSpec[]; prerequisites: string[] } {
  const layers: LayerSpec[] = [];
  let prerequisites: string[] = [];
  let index = 0;
  for (const pair of root.items) {
    const k = pair.key;
    if (!YAML.isScalar(k) || (typeof k.value !== "string" && !isMergeKey(k))) {
      const shown = YAML.isScalar(k) ? String(k.value) : YAML.isNode(k) ? k.toString() : String(k);
      problem(
        ctx,
        YAML.isNode(k) ? k : undefined,
        "",
        "stackerfile.non-string-key",
        `layer name "${shown}" is not a string`,
      );
      continue;
    }
    if (isMergeKey(k)) {
      problem(ctx, k, "<<", "stackerfile.merge-at-top", "a merge key (<<) cannot define layers");
      continue;
    }
    const name = k.value as string;
    if (name === "config") {
      prerequisites = configOf(ctx);
      continue;
    }
    const spec = layerOf(ctx, name, index++, k);
    if (spec) layers.push(spec);
  }
  return { layers, prerequisites };
}
