/**
 * ENV and ARG state of one conversion, and what a `$VAR` means against it. Stacker has no build
 * arguments and no image environment at convert time, so the two map differently: an ARG becomes a
 * `${{NAME}}` substitution (its default goes into the substitutions, which are global to the file),
 * an ENV value is filled in where it is known and otherwise left to the run script's shell.
 */
import { convertError, type DockerfileWhere } from "./_errors.ts";
import { type ArgRef, rewriteArgRefs } from "./_shell_text.ts";
import { plainText, shellWord, type VarLookup, type VarValue, type Word, wordValue } from "./_words.ts";

/** One ENV variable of a stage. */
export interface EnvVar {
  /** The value when it is known now (no reference to the base image's environment). */
  readonly value?: string;
}

/** A stage's ENV variables by name. */
export type StageEnv = ReadonlyMap<string, EnvVar>;

/** One name of an ENV instruction: its new state and the `export` line that sets it in the run script. */
export interface EnvExport {
  readonly name: string;
  readonly variable: EnvVar;
  readonly line: string;
}

/** ARGs BuildKit fills in itself for the target `arch`; a Dockerfile declares them without a default. */
export function platformArgs(arch: string): Record<string, string> {
  const p = `linux/${arch}`;
  return {
    TARGETPLATFORM: p,
    TARGETOS: "linux",
    TARGETARCH: arch,
    TARGETVARIANT: "",
    BUILDPLATFORM: p,
    BUILDOS: "linux",
    BUILDARCH: arch,
    BUILDVARIANT: "",
  };
}

/**
 * The substitutions of the converted file (IMAGE, ARG defaults, STACKER_VOLn), in the order they
 * were first set. Setting a key again with the same value is a no-op.
 */
export class Substitutions {
  readonly #values: Record<string, string> = {};

  /**
   * Sets `key` to `value`. Throws StackerError `convert.conflicting-arg` at `where` when `key`
   * already has another value: stacker substitutions are global, so one name has one default.
   */
  set(key: string, value: string, where: DockerfileWhere): void {
    if (key in this.#values && this.#values[key] !== value) {
      throw convertError(
        where,
        "conflicting-arg",
        `ARG ${key} has the default "${value}" here and "${this.#values[key]}" before: ` +
          "stacker substitutions are global to the file, so one name cannot have two defaults",
      );
    }
    this.#values[key] = value;
  }

  /** A copy of the substitutions so far. */
  toRecord(): Record<string, string> {
    return { ...this.#values };
  }
}

interface ArgState extends ArgRef {
  /** The default, as a value (`${{…}}` references of other ARGs already replaced by theirs). */
  readonly value: string;
  /** Declared without a default: the substitution falls back to empty text. */
  readonly empty: boolean;
}

/** The ARGs declared so far in one Dockerfile, and variable lookup over them and a stage's ENV. */
export class ArgScope {
  readonly #args = new Map<string, ArgState>();
  readonly #subs: Substitutions;
  readonly #platform: Record<string, string>;

  /** Defaults go into `subs`; the platform ARGs (TARGETARCH…) default to those of `arch`. */
  constructor(subs: Substitutions, arch: string) {
    this.#subs = subs;
    this.#platform = platformArgs(arch);
  }

  /**
   * Declares the ARGs of one instruction, each default evaluated against `env` (the stage's, or
   * undefined before the first FROM) and the ARGs before it. Throws StackerError `convert.*` for a
   * default that cannot be evaluated or that conflicts with an earlier one.
   */
  declare(
    args: readonly { name: string; value?: Word }[],
    env: StageEnv | undefined,
    where: DockerfileWhere,
  ): void {
    for (const a of args) {
      const known = this.#args.get(a.name);
      let value: string | undefined;
      if (a.value !== undefined) value = wordValue(a.value, this.#defaultLookup(env), where);
      else if (a.name in this.#platform) value = this.#platform[a.name];
      if (value !== undefined) {
        this.#subs.set(a.name, value, where);
        this.#args.set(a.name, { placeholder: `\${{${a.name}}}`, value, empty: false });
      } else if (known === undefined) {
        // No default: empty unless the build gives one, as an unset ARG is in Docker.
        this.#args.set(a.name, { placeholder: `\${{${a.name}:}}`, value: "", empty: true });
      }
    }
  }

  /**
   * Variables as Docker sees them in a stage with `env` (ENV first, then ARGs as substitutions);
   * with `env` undefined, ARGs only (a FROM line). Reads the scope when called, not when made.
   */
  lookup(env: StageEnv | undefined): VarLookup {
    return (name: string): VarValue => {
      const v = env?.get(name);
      if (v !== undefined) {
        return v.value === undefined ? { kind: "unknown" } : { kind: "value", value: v.value };
      }
      const arg = this.#args.get(name);
      if (arg !== undefined) {
        return { kind: "placeholder", key: name, ...(arg.empty ? { fallback: "" } : {}) };
      }
      return { kind: "unknown" };
    };
  }

  /** Shell text (RUN, CMD, ENTRYPOINT) with its ARG references as substitutions. */
  shellText(text: string, where: DockerfileWhere): string {
    return rewriteArgRefs(text, this.#args, where);
  }

  /** For evaluating an ARG default: other ARGs by their own default value, not a placeholder. */
  #defaultLookup(env: StageEnv | undefined): VarLookup {
    const outer = this.lookup(env);
    return (name) => {
      const v = outer(name);
      return v.kind === "placeholder" ? { kind: "value", value: this.#args.get(name)!.value } : v;
    };
  }
}

/**
 * The names of one ENV instruction and their `export` lines, every pair evaluated against the
 * environment from before the instruction (Docker's rule). A value that refers to the base image's
 * environment is unknown now and left to the shell. Throws StackerError `convert.syntax` for a name
 * that is not a plain variable name.
 */
export function envExports(
  pairs: readonly { key: Word; value: Word }[],
  lookup: VarLookup,
  where: DockerfileWhere,
): EnvExport[] {
  return pairs.map((p) => {
    const name = plainText(p.key);
    if (name === undefined || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      throw convertError(where, "syntax", `ENV name must be a plain variable name`);
    }
    let value: string | undefined;
    try {
      value = wordValue(p.value, lookup, where);
    } catch {
      value = undefined; // refers to the base image's environment: only the shell can expand it
    }
    return { name, variable: { value }, line: `export ${name}=${shellWord(p.value, lookup, where)}` };
  });
}
