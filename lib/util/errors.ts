/**
 * The one error family of stacker-ts. Every error a user can see is a `StackerError` (or a subclass
 * a caller catches): a stable `code`, a message the user can act on, `context` naming what was
 * being worked on (file:line, layer, digest, tar entry) and an optional `cause`.
 */

/** What an error was about: printed by `--debug`, matched by tests and scripts. */
export type ErrorContext = Readonly<Record<string, string | number | boolean | undefined>>;

export interface StackerErrorOptions {
  /** Stable, dotted identifier such as `layer.bad-hardlink`; scripts and tests match on it. */
  code: string;
  context?: ErrorContext;
  cause?: unknown;
  /** Process exit code the CLI uses for this error (default 1). */
  exitCode?: number;
}

export class StackerError extends Error {
  readonly code: string;
  readonly context: ErrorContext;
  readonly exitCode: number;
  constructor(message: string, options: StackerErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = options.code;
    this.context = options.context ?? {};
    this.exitCode = options.exitCode ?? 1;
  }
}

/** A stacker.yaml (or substitution / ordering) problem; context carries file, line and column. */
export class StackerfileError extends StackerError {}
/** An OCI layout or content problem: bad digest, unreadable index, missing blob. */
export class OciError extends StackerError {}
/** A registry answered with an error or could not be reached; `retryable` says if a retry could help. */
export class RegistryError extends StackerError {
  readonly status?: number;
  readonly retryable: boolean;
  constructor(message: string, options: StackerErrorOptions & { status?: number; retryable?: boolean }) {
    super(message, options);
    this.status = options.status;
    this.retryable = options.retryable ?? false;
  }
}
/** A tar layer could not be unpacked or generated (hostile or malformed entry, digest mismatch). */
export class LayerError extends StackerError {}
/** A storage backend operation failed (mount, snapshot, subvolume, lock). */
export class StorageError extends StackerError {}
/** The container runtime failed, or the command in it did. */
export class RuntimeError extends StackerError {}
/** A build step failed; wraps the stage error with the layer name. */
export class BuildError extends StackerError {}
/** A system call failed; `errno` is best effort (see STYLE.md on errno from FFI). */
export class OsError extends StackerError {
  readonly errno?: number;
  constructor(message: string, options: StackerErrorOptions & { errno?: number }) {
    super(message, options);
    this.errno = options.errno;
  }
}
/** A command or feature that exists in the CLI contract but is not built yet: exit code 2. */
export class NotImplementedError extends StackerError {
  constructor(what: string) {
    super(`Cannot run ${what}: not implemented yet in stacker-ts`, {
      code: "cli.not-implemented",
      exitCode: 2,
    });
  }
}

/** The chain of messages from `err` down through its causes, outermost first. */
export function causeChain(err: unknown): string[] {
  const out: string[] = [];
  let cur: unknown = err;
  for (let depth = 0; cur !== undefined && cur !== null && depth < 16; depth++) {
    if (cur instanceof Error) {
      const ctx = cur instanceof StackerError && Object.keys(cur.context).length > 0
        ? " " + JSON.stringify(cur.context)
        : "";
      out.push(`${cur.name}: ${cur.message}${ctx}`);
      cur = cur.cause;
    } else {
      out.push(String(cur));
      break;
    }
  }
  return out;
}

/** The one line the CLI prints for an error. */
export function errorLine(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
