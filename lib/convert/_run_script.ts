/**
 * The `run:` script of one stage, which carries what Docker keeps as build state between RUN lines:
 * ENV becomes `export` lines, WORKDIR `mkdir -p` and `cd`, USER a `su -p` around each later RUN.
 * Stacker runs the whole script in one shell, so an ENV or a directory only has to be set once,
 * before the next command; a stage built on another starts a fresh shell and replays them.
 */
import { normalize } from "../util/path.ts";
import { runLine, withMkdirP } from "./_shell_text.ts";
import { shellQuote } from "./_words.ts";

/** Lines of a stage's run script, and the ones waiting for its next RUN or WORKDIR. */
export class RunScript {
  readonly #lines: string[] = [];
  readonly #pending: string[];
  #ran = false;

  /**
   * A script whose first command runs after the `exports` and in `workdir` a parent stage left
   * (none and "/" for a stage on an image).
   */
  constructor(exports: readonly string[] = [], workdir = "/") {
    this.#pending = [...exports, ...(workdir !== "/" ? [`cd ${shellQuote(workdir)}`] : [])];
  }

  /** The script so far (deferred lines not included until a command follows them). */
  get lines(): readonly string[] {
    return this.#lines;
  }

  /** Whether a RUN has been added. */
  get ran(): boolean {
    return this.#ran;
  }

  /** Queues `line` (an ENV export) to go just before the next RUN or WORKDIR. */
  defer(line: string): void {
    this.#pending.push(line);
  }

  /**
   * Adds a RUN of shell `command` (ARG references already substituted): `sh -e -c '…'`, or
   * `su -p USER -c '…'` when `user` is set, with `mkdir` made `mkdir -p`.
   */
  run(command: string, user: string | undefined): void {
    this.#lines.push(...this.#pending.splice(0), runLine(withMkdirP(command), user));
    this.#ran = true;
  }

  /** Adds `mkdir -p DIR` and `cd DIR` for the absolute `dir`. */
  changeDir(dir: string): void {
    const q = shellQuote(dir);
    this.#lines.push(...this.#pending.splice(0), `mkdir -p ${q}`, `cd ${q}`);
  }
}

/** The WORKDIR `path` leads to from `current` (absolute): relative paths resolve against it. */
export function resolveWorkdir(current: string, path: string): string {
  return path.startsWith("/") ? normalize(path) : normalize(`${current}/${path}`);
}

/**
 * The user later RUN lines run as after `USER value`: the name without its group, or undefined for
 * root (RUN lines then need no `su`).
 */
export function runUser(value: string): string | undefined {
  const user = value.split(":")[0];
  return user === "root" || user === "0" ? undefined : user;
}
