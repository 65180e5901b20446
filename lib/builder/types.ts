/**
 * What the build needs to know about one layer definition. The parser (`stackerfile/`) produces a
 * richer `LayerSpec`; the build reads it through this structural view so that the pure parts here
 * (image config, cache keys, imports) do not depend on the parser's internals.
 */

/** `from:` of a layer, after parsing. */
export interface BaseSpec {
  readonly type: "docker" | "oci" | "tar" | "built" | "scratch";
  readonly url?: string;
  readonly tag?: string;
  readonly insecure?: boolean;
}

/** One `imports:` item; `path` is absolute (or a URL), with a significant trailing `/` kept. */
export interface ImportSpec {
  readonly path: string;
  readonly hash?: string;
  /** Absolute path in the rootfs; imports with a dest become their own layer. */
  readonly dest?: string;
  readonly mode?: number;
  readonly uid?: number;
  readonly gid?: number;
}

export interface OverlayDirSpec {
  /** Absolute host directory. */
  readonly source: string;
  /** Absolute path in the rootfs (default "/"). */
  readonly dest: string;
}

export interface BindSpec {
  readonly source: string;
  readonly dest: string;
}

/** A string is split shell-style; a list is taken as it is. */
export type CommandValue = string | readonly string[];

export interface LayerDefinition {
  readonly name: string;
  readonly from: BaseSpec;
  readonly imports?: readonly ImportSpec[];
  /** True when the deprecated singular `import:` was used: imports land in /stacker/. */
  readonly legacyImport?: boolean;
  readonly overlayDirs?: readonly OverlayDirSpec[];
  /** The run script: list items joined with newlines by the parser or here. */
  readonly run?: string | readonly string[];
  readonly cmd?: CommandValue;
  readonly entrypoint?: CommandValue;
  readonly fullCommand?: CommandValue;
  readonly buildEnv?: Readonly<Record<string, string>>;
  readonly buildEnvPassthrough?: readonly string[];
  /** Ordered as in the file. */
  readonly environment?: Readonly<Record<string, string>>;
  readonly volumes?: readonly string[];
  readonly labels?: Readonly<Record<string, string>>;
  readonly generateLabels?: string | readonly string[];
  readonly workingDir?: string;
  readonly buildOnly?: boolean;
  readonly binds?: readonly BindSpec[];
  readonly runtimeUser?: string;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly os?: string;
  readonly arch?: string;
}
