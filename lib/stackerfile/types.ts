/**
 * The typed result of the parse stage. Every value is normalised (paths absolute where the spec says
 * so, strings split, defaults left undefined for the build to fill) and read-only.
 */
import type { Logger } from "../util/log.ts";

/** Where a key or value sits in its stacker file; line and column are 1-based. */
export interface SourcePos {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

/** `from:` after validation. `url` of `tar`/`oci` stays relative to the CWD, as stacker does. */
export interface BaseSpec {
  readonly type: "docker" | "oci" | "tar" | "built" | "scratch";
  readonly url?: string;
  readonly tag?: string;
  readonly insecure?: boolean;
}

/** Where an import comes from: a host path, an http(s) URL, or `stacker://<layer>/<path>`. */
export type ImportKind = "local" | "http" | "stacker";

/** One `imports:` item. `path` is absolute for local imports, with a trailing `/` kept. */
export interface ImportSpec {
  readonly path: string;
  /** Set by the parser; a definition made by hand may leave it out (see `importKindOf`). */
  readonly kind?: ImportKind;
  /** sha256 hex; the parser checks the format and gives lower case without a `sha256:` prefix. */
  readonly hash?: string;
  /** Absolute path in the rootfs; imports with a dest become their own layer. */
  readonly dest?: string;
  /** Permission bits; YAML `0755`, `0o755` and `493` all give 493. */
  readonly mode?: number;
  readonly uid?: number;
  readonly gid?: number;
}

export interface OverlayDirSpec {
  /** Absolute host directory. */
  readonly source: string;
  /** Path in the rootfs, default "/". */
  readonly dest: string;
}

export interface BindSpec {
  /** Absolute host path. */
  readonly source: string;
  /** Absolute path in the container. */
  readonly dest: string;
}

/** A command (`cmd`, `entrypoint`, `full_command`): a string is split shell-style, a list is taken as it is. */
export type CommandValue = string | readonly string[];

/**
 * The directives of one layer: what the build consumes. The parser gives a `LayerSpec` (this, with
 * every value normalised, plus where it sits); a program that embeds the build may write one by hand,
 * which is why a few fields also take the short forms a stacker file allows.
 */
export interface LayerDefinition {
  /** The layer name (= output tag). */
  readonly name: string;
  readonly from: BaseSpec;
  readonly imports?: readonly ImportSpec[];
  /** True when the deprecated singular `import:` was used: imports land in /stacker/. */
  readonly legacyImport?: boolean;
  readonly overlayDirs?: readonly OverlayDirSpec[];
  /** The script lines, joined with newlines (a string is the whole script). */
  readonly run?: string | readonly string[];
  readonly cmd?: CommandValue;
  readonly entrypoint?: CommandValue;
  readonly fullCommand?: CommandValue;
  /** In file order. */
  readonly environment?: Readonly<Record<string, string>>;
  readonly buildEnv?: Readonly<Record<string, string>>;
  /** Regexes (anchored by the build) of host variables that reach `run`. */
  readonly buildEnvPassthrough?: readonly string[];
  readonly volumes?: readonly string[];
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  /** Script lines, same shape as `run`. */
  readonly generateLabels?: string | readonly string[];
  readonly workingDir?: string;
  readonly runtimeUser?: string;
  readonly buildOnly?: boolean;
  readonly binds?: readonly BindSpec[];
  /** Undefined when not given: the build fills the host's. */
  readonly os?: string;
  readonly arch?: string;
}

/** One layer definition of a stacker file as the parser gives it: every directive normalised. */
export interface LayerSpec extends LayerDefinition {
  /** Absolute path or URL of the stacker file that defines it. */
  readonly file: string;
  /** Position in its file (0-based), the tie-breaker of the build order. */
  readonly index: number;
  readonly imports?: readonly (ImportSpec & { readonly kind: ImportKind })[];
  readonly legacyImport: boolean;
  /** The script lines (a string `run:` is one line holding the whole script). */
  readonly run?: readonly string[];
  /** The run script with the shebang rule applied, or undefined without `run`. */
  runScript(): string | undefined;
  readonly cmd?: readonly string[];
  readonly entrypoint?: readonly string[];
  readonly fullCommand?: readonly string[];
  readonly generateLabels?: readonly string[];
  readonly buildOnly: boolean;
  /** Position of the layer key (`""`) and of each directive given, by YAML key (`from`, `imports`…). */
  readonly positions: Readonly<Record<string, SourcePos>>;
}

/** One parsed stacker file. */
export interface StackerFile {
  /** Absolute path, or the http(s) URL it was fetched from. */
  readonly path: string;
  /** Directory relative paths inside resolve against (the CWD for a URL). */
  readonly dir: string;
  /** The text after substitution (what the stacker_yaml annotation stores). */
  readonly text: string;
  /** In file order. */
  readonly layers: readonly LayerSpec[];
  /** Absolute paths or URLs of `config.prerequisites`, in file order. */
  readonly prerequisites: readonly string[];
}

/** Everything a build needs, ordered. */
export interface BuildPlan {
  /** Files in build order: every prerequisite before the files that need it. */
  readonly files: readonly StackerFile[];
  /** All layers in build order. */
  readonly layers: readonly LayerSpec[];
}

/** One `KEY=VALUE` substitution, in precedence order. */
export interface Substitution {
  readonly key: string;
  readonly value: string;
  /** Only user-given keys (not the STACKER_* built-ins) trip the `$KEY` guard rail. */
  readonly builtin?: boolean;
}

/** Options of `parseStackerFile`. */
export interface ParseOptions {
  /** Resolved substitutions (see `resolveSubstitutions`), default none. */
  readonly substitutions?: readonly Substitution[];
  /** Every http(s) import must carry a hash (`--require-hash`). */
  readonly requireHash?: boolean;
  /** Base for relative paths when the file is a URL (default `Deno.cwd()`). */
  readonly cwd?: string;
  readonly log?: Logger;
}

/** Options of `loadStackerFiles`. */
export interface LoadOptions {
  /** `--substitute KEY=VALUE`, in order (commas kept). */
  readonly substitute?: readonly string[];
  /** `--substitute-file`: a flat YAML map of KEY: value. */
  readonly substituteFile?: string;
  /** Absolute dirs for the STACKER_*_DIR built-ins. */
  readonly dirs?: {
    readonly rootsDir?: string;
    readonly stackerDir?: string;
    readonly ociDir?: string;
    readonly workDir?: string;
  };
  readonly requireHash?: boolean;
  readonly log?: Logger;
  /** Used for stacker files given by http(s) URL (default: global fetch). */
  readonly fetch?: typeof fetch;
  /** Base for relative paths given on the command line and inside URL-loaded files (default CWD). */
  readonly cwd?: string;
}
