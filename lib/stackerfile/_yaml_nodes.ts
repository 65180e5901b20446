/** Finding YAML nodes (through aliases and merge keys) to give values their source positions. */
import { YAML } from "../util/deps.ts";

type Node = YAML.Node | YAML.Pair | null | undefined;

/** The value node at `path` under `root`, and the key node of its last step (if a map key). */
export interface Located {
  readonly node: YAML.Node | undefined;
  readonly key: YAML.Node | undefined;
  /** How many path segments were found; less than the path length when it points at nothing. */
  readonly depth: number;
}

/** A merge key `<<` (the yaml package gives it a symbol value when merging is on). */
export function isMergeKey(k: unknown): boolean {
  return YAML.isScalar(k) && (k.value === "<<" || typeof k.value === "symbol");
}

function resolve(doc: YAML.Document, n: unknown): unknown {
  return YAML.isAlias(n) ? n.resolve(doc) : n;
}

function findPair(doc: YAML.Document, map: YAML.YAMLMap, seg: string, seen = 0): YAML.Pair | undefined {
  for (const p of map.items) {
    if (YAML.isScalar(p.key) && !isMergeKey(p.key) && String(p.key.value) === seg) return p;
  }
  // Merge keys (`<<: *base`) are looked through, last; their own pairs lose to explicit ones above.
  for (const p of map.items) {
    if (!isMergeKey(p.key) || seen > 8) continue;
    const v = resolve(doc, p.value);
    const sources = YAML.isSeq(v) ? v.items.map((i) => resolve(doc, i)) : [v];
    for (const s of sources) {
      if (YAML.isMap(s)) {
        const found = findPair(doc, s, seg, seen + 1);
        if (found) return found;
      }
    }
  }
  return undefined;
}

/** Walks `path` from `root`; stops at the deepest node that exists. */
export function locate(doc: YAML.Document, root: Node, path: readonly PropertyKey[]): Located {
  let node = resolve(doc, root) as YAML.Node | undefined;
  let key: YAML.Node | undefined;
  let depth = 0;
  for (const seg of path) {
    const cur = resolve(doc, node);
    if (YAML.isMap(cur)) {
      const pair = findPair(doc, cur, String(seg));
      if (!pair) break;
      key = pair.key as YAML.Node;
      node = (resolve(doc, pair.value) ?? undefined) as YAML.Node | undefined;
      // A key with no value (`foo:`) has no node: point at its key.
      if (node === undefined || node === null) {
        depth++;
        node = key;
        break;
      }
    } else if (YAML.isSeq(cur) && typeof seg === "number" && seg < cur.items.length) {
      key = undefined;
      node = resolve(doc, cur.items[seg]) as YAML.Node;
    } else {
      break;
    }
    depth++;
  }
  return { node, key, depth };
}

/** The exact source text of a plain scalar (so `1.0` stays "1.0" and `0755` can be octal). */
export function sourceText(text: string, node: YAML.Node | undefined): string | undefined {
  if (!YAML.isScalar(node) || !node.range) return undefined;
  if (node.type !== "PLAIN") return undefined;
  return text.slice(node.range[0], node.range[1]).trim();
}
