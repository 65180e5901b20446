/**
 * The parse context of one stacker file and the problem reporting every check shares: positions of
 * YAML nodes, problems collected (never thrown here), unknown and non-string keys, scalars from their
 * source text, zod issues mapped back to YAML positions.
 */
import { YAML, type z } from "../util/deps.ts";
import type { Logger } from "../util/log.ts";
import { didYouMean, type FileProblem } from "./_problems.ts";
import { isMergeKey, locate, sourceText } from "./_yaml_nodes.ts";

export interface Ctx {
  readonly file: string;
  readonly dir: string;
  readonly text: string;
  readonly doc: YAML.Document;
  readonly lc: YAML.LineCounter;
  readonly problems: FileProblem[];
  readonly log: Logger;
  readonly requireHash: boolean;
  /** The document as plain data (aliases and merge keys resolved), computed once. */
  readonly js: Record<string, unknown>;
}

export function posOf(ctx: Ctx, node: YAML.Node | undefined): { line: number; column: number } {
  const off = node?.range?.[0] ?? 0;
  const p = ctx.lc.linePos(off);
  return { line: p.line, column: p.col };
}

export function problem(
  ctx: Ctx,
  node: YAML.Node | undefined,
  key: string,
  code: string,
  message: string,
): void {
  ctx.problems.push({ ...posOf(ctx, node), key, code, message });
}

/** Problem at `path` (from the root): at the value, or at the key when `atKey`. */
export function problemAt(
  ctx: Ctx,
  path: readonly PropertyKey[],
  code: string,
  message: string,
  atKey = false,
): void {
  const loc = locate(ctx.doc, ctx.doc.contents, path);
  const node = atKey ? loc.key ?? loc.node : loc.node;
  problem(ctx, node, path.map(String).join("."), code, message);
}

/** Rejects non-string keys anywhere below `node` (YAML allows `1:` and `? [a]`; stacker does not). */
export function checkKeys(ctx: Ctx, node: unknown, path: string, depth = 0): void {
  if (depth > 64) return;
  if (YAML.isMap(node)) {
    for (const p of node.items) {
      const k = p.key;
      if (isMergeKey(k)) {
        checkKeys(ctx, p.value, path, depth + 1);
        continue;
      }
      if (!YAML.isScalar(k) || typeof k.value !== "string") {
        const shown = YAML.isScalar(k) ? String(k.value) : YAML.isNode(k) ? k.toString() : String(k);
        problem(
          ctx,
          YAML.isNode(k) ? k : undefined,
          path,
          "stackerfile.non-string-key",
          `key "${shown}" is not a string`,
        );
      }
      checkKeys(ctx, p.value, path, depth + 1);
    }
  } else if (YAML.isSeq(node)) {
    for (const i of node.items) checkKeys(ctx, i, path, depth + 1);
  }
}

/** Unknown keys of the map at `path`, each with the closest valid one. */
export function checkKnown(
  ctx: Ctx,
  path: readonly string[],
  known: readonly string[],
  what: string,
  code: string,
): void {
  const loc = locate(ctx.doc, ctx.doc.contents, path);
  const node = loc.node;
  if (loc.depth < path.length || !YAML.isMap(node)) return;
  for (const p of node.items) {
    if (!YAML.isScalar(p.key) || typeof p.key.value !== "string" || isMergeKey(p.key)) continue;
    const k = p.key.value;
    if (known.includes(k)) continue;
    problem(ctx, p.key, [...path, k].join("."), code, `${what} "${k}"${didYouMean(k, known)}`);
  }
}

/** The string of a scalar value at `path`, from its source text when YAML made it a number/bool. */
export function strAt(ctx: Ctx, path: readonly PropertyKey[], v: string | number | boolean | null): string {
  if (v === null) return "";
  if (typeof v === "string") return v;
  const loc = locate(ctx.doc, ctx.doc.contents, path);
  return sourceText(ctx.text, loc.node) ?? String(v);
}

/**
 * Problems for the issues of `err`, `data` being the value at `prefix`: each at the YAML node it is
 * about (a missing key at the map that lacks it).
 */
export function zodProblems(ctx: Ctx, prefix: readonly PropertyKey[], err: z.ZodError, data: unknown): void {
  for (const issue of err.issues) {
    const path = [...prefix, ...issue.path];
    let value: unknown = data;
    for (const seg of issue.path) {
      value = (value as Record<PropertyKey, unknown> | undefined)?.[seg as string];
    }
    const last = path[path.length - 1];
    let message = issue.message;
    if (path.length === 2 && (last === "os" || last === "arch") && value === null) {
      message = `"${String(last)}" value cannot be empty`;
    } else if (value === undefined && issue.code === "invalid_type") {
      message = `missing "${String(last)}": ${message}`;
    }
    const loc = locate(ctx.doc, ctx.doc.contents, path);
    problem(ctx, loc.node, path.map(String).join("."), "stackerfile.schema", message);
  }
}
