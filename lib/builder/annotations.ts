/**
 * Manifest annotations of a built image (spec §1.8): the base's, then the layer's own, then
 * stacker's (`<ns>.stacker.stacker_yaml`, `…stacker_version`, `…git_version` from git_version.ts),
 * which a stacker file cannot override.
 */
import { REF_NAME_ANNOTATION } from "../oci/types.ts";

export const DEFAULT_ANNOTATIONS_NAMESPACE = "io.stackeroci";

export interface AnnotationOptions {
  /** Manifest annotations of the image the layer is built on. */
  readonly base?: Readonly<Record<string, string>>;
  /** `annotations:` of the layer. */
  readonly layer?: Readonly<Record<string, string>>;
  /** Default "io.stackeroci". */
  readonly namespace?: string;
  /** The post-substitution text of the stacker file. */
  readonly stackerYaml: string;
  readonly stackerVersion: string;
  /** From `gitVersion()`; omitted when the stacker file is not in a git work tree. */
  readonly gitVersion?: string;
}

/** The manifest annotations of a built image; the ref-name annotation never travels with a manifest. */
export function buildAnnotations(opts: AnnotationOptions): Record<string, string> {
  const ns = opts.namespace ?? DEFAULT_ANNOTATIONS_NAMESPACE;
  const out: Record<string, string> = { ...(opts.base ?? {}), ...(opts.layer ?? {}) };
  delete out[REF_NAME_ANNOTATION];
  out[`${ns}.stacker.stacker_yaml`] = opts.stackerYaml;
  out[`${ns}.stacker.stacker_version`] = opts.stackerVersion;
  if (opts.gitVersion !== undefined) out[`${ns}.stacker.git_version`] = opts.gitVersion;
  else delete out[`${ns}.stacker.git_version`];
  return out;
}
