/**
 * One layer definition (and `config:`) of a parsed YAML document → `LayerSpec`: the layer-wide checks
 * (its name, a map with `from`, unknown and non-string keys), then every directive through its row
 * of `DIRECTIVES` (shape first, for all of them; then the fields), then the rules between
 * directives. Problems are collected in the context, never thrown here.
 */
import { YAML } from "../util/deps.ts";
import { checkKeys, checkKnown, type Ctx, posOf, problem, problemAt, zodProblems } from "./_context.ts";
import { type DirectiveFields, DIRECTIVES, LAYER_KEYS } from "./_directives.ts";
import { isUrl, resolveIn } from "./_paths.ts";
import { configSchema, FROM_KEYS } from "./_schema.ts";
import { isMergeKey, locate } from "./_yaml_nodes.ts";
import type { LayerSpec, SourcePos } from "./types.ts";

/** Fields a layer has when its directives do not say otherwise. */
const DEFAULTS = { legacyImport: false, buildOnly: false } as const;

/** The layer's value as plain data when it is a map with `from`; else undefined, with the problem. */
function layerValueOf(ctx: Ctx, name: string, keyNode: YAML.Node): Record<string, unknown> | undefined {
  if (name.includes(":")) {
    const message = `layer name "${name}" contains ":", which is forbidden due to overlay constraints`;
    problem(ctx, keyNode, name, "stackerfile.bad-layer-name", message);
  }
  const valueNode = locate(ctx.doc, ctx.doc.contents, [name]).node;
  const raw = ctx.js[name];
  const noBase = () =>
    problem(ctx, keyNode, name, "stackerfile.no-base", `${name}: invalid layer: no base (from directive)`);
  if (raw === null || raw === undefined || (YAML.isMap(valueNode) && valueNode.items.length === 0)) {
    noBase();
    return undefined;
  }
  checkKeys(ctx, valueNode, name);
  checkKnown(ctx, [name], LAYER_KEYS, "unknown directive", "stackerfile.unknown-directive");
  const fromKnown = "unknown image source directive";
  checkKnown(ctx, [name, "from"], FROM_KEYS, fromKnown, "stackerfile.unknown-from-directive");
  if (typeof raw !== "object" || Array.isArray(raw)) {
    problem(ctx, valueNode, name, "stackerfile.schema", "expected a map of directives");
    return undefined;
  }
  if (!("from" in raw)) {
    noBase();
    return undefined;
  }
  return raw as Record<string, unknown>;
}

/** Where the layer key and each of its directives sit. */
function positionsOf(ctx: Ctx, name: string, keyNode: YAML.Node): Record<string, SourcePos> {
  const positions: Record<string, SourcePos> = { "": { file: ctx.file, ...posOf(ctx, keyNode) } };
  const valueNode = locate(ctx.doc, ctx.doc.contents, [name]).node;
  if (YAML.isMap(valueNode)) {
    for (const p of valueNode.items) {
      if (YAML.isScalar(p.key) && !isMergeKey(p.key)) {
        positions[String(p.key.value)] = { file: ctx.file, ...posOf(ctx, p.key) };
      }
    }
  }
  return positions;
}

/**
 * The fields of every directive given: all shapes are checked first (a layer with a wrong shape
 * gets no further checks), then the warnings of the rows are logged and each row makes its fields.
 * Rules between directives: `imports` and the deprecated `import` exclude each other (the items of
 * `import` are then not looked at).
 */
function directiveFieldsOf(
  ctx: Ctx,
  name: string,
  raw: Record<string, unknown>,
): DirectiveFields | undefined {
  const given = DIRECTIVES.filter((d) => raw[d.key] !== undefined);
  const parsed = new Map<string, unknown>();
  for (const d of given) {
    const r = d.schema.safeParse(raw[d.key]);
    if (r.success) parsed.set(d.key, r.data);
    else zodProblems(ctx, [name, d.key], r.error, raw[d.key]);
  }
  if (parsed.size < given.length) return undefined;
  const skip = new Set<string>();
  if (parsed.has("imports") && parsed.has("import")) {
    const message = `${name}: use "imports" or the deprecated "import", not both`;
    problemAt(ctx, [name, "import"], "stackerfile.import-and-imports", message, true);
    skip.add("import");
  }
  for (const d of given) {
    if (d.warning) ctx.log.warnOnce(d.warning.id, d.warning.message, { file: ctx.file, layer: name });
  }
  let fields: DirectiveFields = {};
  for (const d of given) {
    if (d.fields && !skip.has(d.key)) {
      fields = { ...fields, ...d.fields(parsed.get(d.key), { ctx, layer: name, path: [name, d.key] }) };
    }
  }
  return fields;
}

/** The layer `name` (at `index` in its file), or undefined when it has problems (in `ctx`). */
export function layerOf(ctx: Ctx, name: string, index: number, keyNode: YAML.Node): LayerSpec | undefined {
  const before = ctx.problems.length;
  const raw = layerValueOf(ctx, name, keyNode);
  if (raw === undefined) return undefined;
  const fields = directiveFieldsOf(ctx, name, raw);
  if (fields === undefined || ctx.problems.length > before) return undefined;
  const { from, run } = fields;
  const spec: LayerSpec = {
    name,
    file: ctx.file,
    index,
    from: from!,
    ...DEFAULTS,
    ...fields,
    positions: positionsOf(ctx, name, keyNode),
    // A closure, not a method: callers may pass it around detached from the spec.
    runScript: (): string | undefined => runScriptOf(run),
  };
  // Drop undefined fields so a spec prints and compares cleanly.
  return Object.fromEntries(Object.entries(spec).filter(([, v]) => v !== undefined)) as unknown as LayerSpec;
}

/** The script stacker writes for `run` lines: `#!/bin/sh -xe` first unless the script has its own `#!`. */
export function runScriptOf(run: readonly string[] | undefined): string | undefined {
  if (run === undefined) return undefined;
  const body = run.join("\n");
  const script = body.startsWith("#!") ? body : `#!/bin/sh -xe\n${body}`;
  return script.endsWith("\n") ? script : script + "\n";
}

/** The prerequisites of `config:`, absolute (URLs kept). */
export function configOf(ctx: Ctx): string[] {
  checkKeys(ctx, locate(ctx.doc, ctx.doc.contents, ["config"]).node, "config");
  checkKnown(
    ctx,
    ["config"],
    ["prerequisites"],
    "config cannot contain a layer definition or the key",
    "stackerfile.bad-config",
  );
  const raw = ctx.js.config;
  const parsed = configSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    zodProblems(ctx, ["config"], parsed.error, raw);
    return [];
  }
  return (parsed.data.prerequisites ?? []).map((p) => (isUrl(p) ? p : resolveIn(ctx.dir, p)));
}
