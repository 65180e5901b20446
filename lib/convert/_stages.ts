/**
 * Dockerfile stages as stacker layers: a FROM opens a layer named after its stage, on a docker
 * image, on scratch, or (beyond stacker's own converter) `type: built` on an earlier stage, whose
 * ENV, WORKDIR and USER it inherits. Stages other than the last are `build_only`, since Docker
 * ships only the last; an unnamed last stage is `${{IMAGE}}` (IMAGE=app).
 */
import type { ImportItem } from "./_copy.ts";
import { convertError, type DockerfileWhere } from "./_errors.ts";
import { RunScript } from "./_run_script.ts";
import type { EnvVar, Substitutions } from "./_variables.ts";
import { type VarLookup, wordValue } from "./_words.ts";
import type { Instruction } from "./dockerfile.ts";

/** A stage's state that a stage built on it inherits. */
export interface StageState {
  readonly env: Map<string, EnvVar>;
  /** Every `export` line so far, in order: a child stage replays them. */
  readonly exports: string[];
  /** Absolute. */
  workdir: string;
  /** The user RUN lines run as; undefined for root. */
  user?: string;
}

/** One stage being converted: the stacker layer it becomes. */
export interface Stage {
  /** The layer name. */
  readonly name: string;
  /** The `from:` map. */
  readonly from: Readonly<Record<string, string>>;
  readonly buildOnly: boolean;
  readonly imports: ImportItem[];
  readonly binds: { source: string; dest: string }[];
  readonly script: RunScript;
  cmd?: readonly string[];
  entrypoint?: readonly string[];
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
  readonly state: StageState;
  /** A COPY after a RUN was warned about (once per stage). */
  copyAfterRun: boolean;
}

/** What opening a stage needs besides its FROM instruction. */
export interface OpenStageOptions {
  /** Whether this is the last FROM of the file (the image Docker ships). */
  readonly isLast: boolean;
  /** 0-based index of the FROM among the file's FROMs (`COPY --from=N`, `stageN` names). */
  readonly index: number;
  readonly where: DockerfileWhere;
  /** Gets IMAGE=app for an unnamed last stage. */
  readonly subs: Substitutions;
  /** Variables of a FROM line: only the ARGs declared before it. */
  readonly lookup: VarLookup;
}

/** The stages of one Dockerfile in order, found by Docker name (lower case) or index. */
export class StageTable {
  readonly #byRef = new Map<string, Stage>();
  readonly #all: Stage[] = [];

  /** Every stage opened so far, in file order. */
  get all(): readonly Stage[] {
    return this.#all;
  }

  /** Layer name of an earlier stage by Docker name (lower case) or index, or undefined. */
  layerName(ref: string): string | undefined {
    return this.#byRef.get(ref)?.name;
  }

  /**
   * Opens the stage `from` starts and makes it findable. Throws StackerError
   * `convert.unsupported-flag` for FROM flags (`--platform`), `convert.bad-stage` for a name used
   * twice or the reserved `config`, and others for an image word that cannot be evaluated.
   */
  open(from: Instruction & { kind: "from" }, opts: OpenStageOptions): Stage {
    const { where, isLast, index } = opts;
    if (from.flags.length > 0) {
      throw convertError(
        where,
        "unsupported-flag",
        `FROM --${
          from.flags[0].name
        } is not supported (stacker pulls the host's platform; set arch:/os: in the stacker file)`,
      );
    }
    let name: string;
    if (from.stage !== undefined) name = from.stage;
    else if (isLast) {
      name = "${{IMAGE}}";
      opts.subs.set("IMAGE", "app", where);
    } else name = `stage${index}`;
    if (name === "config" || this.#byRef.has(name)) {
      throw convertError(
        where,
        "bad-stage",
        `stage name "${name}" is ${name === "config" ? "reserved in stacker files" : "used twice"}`,
      );
    }
    const image = wordValue(from.image, opts.lookup, where);
    const parent = this.#byRef.get(image.toLowerCase());
    const state: StageState = parent !== undefined
      ? {
        env: new Map(parent.state.env),
        exports: [...parent.state.exports],
        workdir: parent.state.workdir,
        user: parent.state.user,
      }
      : { env: new Map(), exports: [], workdir: "/" };
    const stage: Stage = {
      name,
      from: parent !== undefined
        ? { type: "built", tag: parent.name }
        : image.toLowerCase() === "scratch"
        ? { type: "scratch" }
        : { type: "docker", url: `docker://${image}` },
      buildOnly: !isLast,
      imports: [],
      binds: [],
      // A built stage's run script starts afresh: it replays its parent's exports and directory.
      script: new RunScript(state.exports, state.workdir),
      labels: {},
      annotations: {},
      state,
      copyAfterRun: false,
    };
    this.#all.push(stage);
    this.#byRef.set(name, stage);
    this.#byRef.set(String(index), stage);
    return stage;
  }
}
