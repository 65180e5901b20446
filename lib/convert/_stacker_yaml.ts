/**
 * The text a conversion writes: the stacker file, with its keys in one fixed order and empty
 * sections left out, and the substitutions as the YAML map `--substitute-file` reads. Lines are
 * never folded, so a long run line stays one line.
 */
import { YAML } from "../util/deps.ts";
import type { ImportItem } from "./_copy.ts";

/** One layer of the stacker file as converted. */
export interface LayerDoc {
  readonly name: string;
  readonly from: Readonly<Record<string, string>>;
  readonly buildOnly: boolean;
  readonly imports: readonly ImportItem[];
  readonly binds: readonly { readonly source: string; readonly dest: string }[];
  readonly run: readonly string[];
  readonly cmd?: readonly string[];
  readonly entrypoint?: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}

/**
 * The stacker file for `layers`, each with `build_env: {arch}`: keys in the order from, build_only,
 * build_env, imports, binds, run, entrypoint, cmd, labels, annotations; an import mode in octal.
 */
export function stackerYaml(layers: readonly LayerDoc[], arch: string): string {
  const doc: Record<string, unknown> = {};
  for (const l of layers) {
    const out: Record<string, unknown> = { from: l.from };
    if (l.buildOnly) out.build_only = true;
    out.build_env = { arch };
    if (l.imports.length > 0) {
      out.imports = l.imports.map((imp) => {
        if (imp.mode === undefined) return imp;
        // Octal, as people write modes (`0o755`; the stacker file parser reads it back as a number).
        const mode = new YAML.Scalar(imp.mode);
        mode.format = "OCT";
        return { ...imp, mode };
      });
    }
    if (l.binds.length > 0) out.binds = l.binds;
    if (l.run.length > 0) out.run = l.run;
    if (l.entrypoint !== undefined) out.entrypoint = l.entrypoint;
    if (l.cmd !== undefined) out.cmd = l.cmd;
    if (Object.keys(l.labels).length > 0) out.labels = l.labels;
    if (Object.keys(l.annotations).length > 0) out.annotations = l.annotations;
    doc[l.name] = out;
  }
  return YAML.stringify(doc, { lineWidth: 0 });
}

/** `subs` as a YAML map in insertion order; `{}` when empty (an empty file would load as null). */
export function substitutionsYaml(subs: Readonly<Record<string, string>>): string {
  return Object.keys(subs).length === 0 ? "{}\n" : YAML.stringify(subs, { lineWidth: 0 });
}
