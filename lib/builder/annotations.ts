/**
 * Manifest annotations of a built image (spec §1.8): the base's, then the layer's own, then
 * stacker's (`<ns>.stacker.stacker_yaml`, `…stacker_version`, `…git_version`), which a stacker
 * file cannot override.
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

async function git(dir: string, args: string[]): Promise<{ ok: boolean; out: string }> {
  try {
    const r = await new Deno.Command("git", {
      args: ["-C", dir, ...args],
      stdout: "piped",
      stderr: "null",
      stdin: "null",
      // A repository owned by another user (tests run as root over a builder's tree) must still answer.
      env: { GIT_CONFIG_COUNT: "1", GIT_CONFIG_KEY_0: "safe.directory", GIT_CONFIG_VALUE_0: "*" },
    }).output();
    return { ok: r.success, out: new TextDecoder().decode(r.stdout).trim() };
  } catch {
    return { ok: false, out: "" };
  }
}

/**
 * `git describe --tags` of the work tree holding `dir`, falling back to the commit hash, with
 * `-dirty` when tracked files changed; undefined when `dir` is not in a git work tree, the repository
 * has no commit, or git is missing.
 */
export async function gitVersion(dir: string): Promise<string | undefined> {
  const inside = await git(dir, ["rev-parse", "--is-inside-work-tree"]);
  if (!inside.ok || inside.out !== "true") return undefined;
  let version = (await git(dir, ["describe", "--tags"])).out;
  if (!version) {
    const head = await git(dir, ["rev-parse", "HEAD"]);
    if (!head.ok || !head.out) return undefined;
    version = head.out;
  }
  const status = await git(dir, ["status", "--porcelain", "--untracked-files=no"]);
  return status.ok && status.out !== "" ? `${version}-dirty` : version;
}
