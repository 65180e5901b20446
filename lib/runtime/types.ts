/** The values the runtime hands around: one container run (`RunSpec`) and its outcome. */

/** A host path mounted into the container. */
export interface BindMount {
  /** Absolute host path; it must exist (checked before anything starts). */
  readonly source: string;
  /** Absolute path inside the container. */
  readonly dest: string;
  /** Mount read-only (default read-write, as stacker binds are). */
  readonly readonly?: boolean;
}

/** Everything one container run needs; serialised as JSON for the helper process. */
export interface RunSpec {
  /** Unique container name (letters, digits, "-", "_", "."); `uniqueContainerName()` makes one. */
  readonly name: string;
  /** `lxc.rootfs.path` ("dir:/x", "/x" or "overlay:/lower:…:/upper") and `lxc.rootfs.options`. */
  readonly lxcRootfs: { readonly path: string; readonly options?: string };
  /** The command; argv[0] is resolved inside the container (absolute is safest). */
  readonly argv: readonly string[];
  /** The command's whole environment (nothing else reaches it). Values: no NUL, no newline. */
  readonly env: Readonly<Record<string, string>>;
  /** Working directory inside the container (default "/"). */
  readonly cwd?: string;
  /** User binds (read-write unless `readonly`). */
  readonly binds: readonly BindMount[];
  /** Host dir mounted read-only at /stacker/imports. */
  readonly importsDir?: string;
  /** Host dir mounted read-only at /stacker (the deprecated singular `import:`). */
  readonly legacyImportsDir?: string;
  /** More mounts (e.g. /stacker/oci-labels for generate_labels), applied after the binds. */
  readonly extraMounts?: readonly BindMount[];
  /** Container hostname (default "stacker"). */
  readonly hostname?: string;
  /** LXC's log file (created or appended; must be writable). */
  readonly logFile: string;
  /** LXC log level (default "INFO"). */
  readonly logLevel?: "ERROR" | "WARN" | "INFO" | "DEBUG" | "TRACE";
  /** The command reads the terminal: SIGINT is left to it and the run is not aborted by `signal`. */
  readonly interactive?: boolean;
  /** LXC's container path (under the stacker dir); created when missing. */
  readonly lxcPath: string;
  /** Absolute path of a statically linked busybox for the idle init (default: findHelper("busybox")). */
  readonly busybox?: string;
}

/** How a container command ended. */
export interface RunResult {
  /** Exit code, or 128 + signal number when a signal killed it. */
  readonly exitCode: number;
  /** The signal number that killed the command, if one did. */
  readonly signal?: number;
}
