/**
 * Typed Dockerfile instructions → stacker.yaml text and its substitutions (spec §2.2 `convert`).
 * Each FROM starts a layer (`${{IMAGE}}` for an unnamed final stage, IMAGE=app); RUN lines become
 * `sh -e -c '…'` (`su -p USER -c '…'` after USER) preceded by `export` lines for ENV; WORKDIR is
 * `mkdir -p; cd` in the run script; ARGs become `${{NAME}}` with their defaults in the substitutions;
 * COPY becomes `imports` with `dest`; VOLUME a bind from `${{STACKER_VOLn}}`; CMD/ENTRYPOINT,
 * LABEL and MAINTAINER the image metadata. Anything stacker cannot express is refused with its line.
 * Where we go beyond stacker's converter: a FROM naming an earlier stage becomes `type: built` (the
 * child inherits its ENV, WORKDIR and USER), stages other than the last are `build_only` (Docker
 * ships only the last), and an ARG without default is `${{NAME:}}` (empty, as in Docker).
 */
import { YAML } from "../util/deps.ts";
import { normalize } from "../util/path.ts";
import { convertError, type DockerfileWhere } from "./_errors.ts";
import { copyImports, type ImportItem } from "./_copy.ts";
import { type ArgRef, commandLine, rewriteArgRefs, runLine, withMkdirP } from "./_shell_text.ts";
import { plainText, shellWord, type VarLookup, type VarValue, type Word, wordValue } from "./_words.ts";
import type { CommandForm, Dockerfile, Instruction } from "./dockerfile.ts";

export interface ConvertOptions {
  /** Absolute directory COPY sources are relative to (Docker's build context). */
  readonly contextDir: string;
  /** Absolute directory of the stacker file to be written: local import paths are relative to it. */
  readonly outputDir: string;
  /** OCI architecture for `build_env: {arch}` and the TARGETARCH-style ARGs (default: this host's). */
  readonly arch?: string;
  /** Whether an absolute host path is a directory (default: stat it). */
  readonly isDirectory?: (absPath: string) => boolean;
}

/** Something the user should know about the result (not an error). */
export interface ConvertNote {
  readonly level: "info" | "warn";
  readonly message: string;
}

export interface Conversion {
  /** The stacker file text (YAML). */
  readonly stackerYaml: string;
  /** IMAGE, ARG defaults and STACKER_VOLn, in the order they were met. */
  readonly substitutions: Readonly<Record<string, string>>;
  /** `substitutions` as the YAML map `--substitute-file` reads. */
  readonly substitutionsYaml: string;
  readonly notes: readonly ConvertNote[];
}

interface EnvVar {
  /** The value when it is known now (no reference to the base image's environment). */
  readonly value?: string;
}

/** A stage's state that a stage built on it inherits. */
interface StageState {
  readonly env: Map<string, EnvVar>;
  /** Every `export` line so far, in order: a child stage replays them. */
  readonly exports: string[];
  workdir: string;
  user?: string;
}

interface Layer {
  readonly name: string;
  readonly from: Record<string, string>;
  readonly buildOnly: boolean;
  readonly imports: ImportItem[];
  readonly binds: { source: string; dest: string }[];
  readonly run: string[];
  /** Lines waiting for the next RUN (ENV exports, a WORKDIR inherited from the parent stage). */
  readonly pending: string[];
  cmd?: readonly string[];
  entrypoint?: readonly string[];
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
  readonly state: StageState;
  /** A RUN was converted (a later COPY gets a warning once). */
  ran: boolean;
  copyAfterRun: boolean;
}

/** ARGs BuildKit fills in itself; a Dockerfile declares them without a default. */
function platformArgs(arch: string): Record<string, string> {
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

function hostArch(): string {
  const a: string = Deno.build.arch;
  return a === "x86_64" ? "amd64" : a === "aarch64" ? "arm64" : a;
}

function statIsDirectory(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}

const UNSUPPORTED_HINTS: Record<string, string> = {
  ADD: "use COPY for local files, or RUN with wget/curl for URLs and archives",
  HEALTHCHECK: "stacker images carry no health check",
  SHELL: "stacker runs RUN lines with /bin/sh",
  ONBUILD: "stacker has no build triggers",
  STOPSIGNAL: "stacker images carry no stop signal",
};

/** Converts one parsed Dockerfile; all state lives in this object for one call. */
class Converter {
  readonly #df: Dockerfile;
  readonly #opts: Required<ConvertOptions>;
  readonly #args = new Map<string, ArgRef & { readonly value: string; readonly empty: boolean }>();
  readonly #subs: Record<string, string> = {};
  readonly #notes: ConvertNote[] = [];
  readonly #layers: Layer[] = [];
  /** Docker stage name (lower case) or index → layer. */
  readonly #stages = new Map<string, Layer>();
  #vols = 0;

  constructor(df: Dockerfile, opts: ConvertOptions) {
    this.#df = df;
    this.#opts = { arch: hostArch(), isDirectory: statIsDirectory, ...opts };
  }

  #where(ins: Instruction): DockerfileWhere {
    return { file: this.#df.file, line: ins.line, keyword: ins.keyword };
  }

  #setSub(key: string, value: string, where: DockerfileWhere): void {
    if (key in this.#subs && this.#subs[key] !== value) {
      throw convertError(
        where,
        "conflicting-arg",
        `ARG ${key} has the default "${value}" here and "${this.#subs[key]}" before: ` +
          "stacker substitutions are global to the file, so one name cannot have two defaults",
      );
    }
    this.#subs[key] = value;
  }

  /** Variables as Docker sees them in `layer` (ENV first, then ARGs); ARGs only before any FROM. */
  #lookup(layer: Layer | undefined): VarLookup {
    return (name: string): VarValue => {
      const env = layer?.state.env.get(name);
      if (env !== undefined) {
        return env.value === undefined ? { kind: "unknown" } : { kind: "value", value: env.value };
      }
      const arg = this.#args.get(name);
      if (arg !== undefined) {
        return { kind: "placeholder", key: name, ...(arg.empty ? { fallback: "" } : {}) };
      }
      return { kind: "unknown" };
    };
  }

  /** The names of variables for evaluating an ARG default: ARGs by their own default value. */
  #defaultLookup(layer: Layer | undefined): VarLookup {
    const outer = this.#lookup(layer);
    return (name) => {
      const v = outer(name);
      return v.kind === "placeholder" ? { kind: "value", value: this.#args.get(name)!.value } : v;
    };
  }

  convert(): Conversion {
    const ins = this.#df.instructions;
    const froms = ins.filter((i) => i.kind === "from");
    if (froms.length === 0) {
      throw convertError(
        { file: this.#df.file, line: ins[0]?.line ?? 1 },
        "no-from",
        "the Dockerfile has no FROM",
      );
    }
    const last = froms[froms.length - 1];
    let layer: Layer | undefined;
    for (const i of ins) {
      const where = this.#where(i);
      if (i.kind === "from") {
        layer = this.#from(i, i === last, froms.indexOf(i));
        continue;
      }
      if (i.kind === "arg") {
        this.#arg(i.args, layer, where);
        continue;
      }
      if (layer === undefined) throw convertError(where, "syntax", `${i.keyword} before the first FROM`);
      this.#instruction(i, layer, where);
    }
    return {
      stackerYaml: this.#yaml(),
      substitutions: { ...this.#subs },
      substitutionsYaml: Object.keys(this.#subs).length === 0
        ? "{}\n"
        : YAML.stringify(this.#subs, { lineWidth: 0 }),
      notes: this.#notes,
    };
  }

  #from(i: Instruction & { kind: "from" }, isLast: boolean, index: number): Layer {
    const where = this.#where(i);
    if (i.flags.length > 0) {
      throw convertError(
        where,
        "unsupported-flag",
        `FROM --${
          i.flags[0].name
        } is not supported (stacker pulls the host's platform; set arch:/os: in the stacker file)`,
      );
    }
    let name: string;
    if (i.stage !== undefined) name = i.stage;
    else if (isLast) {
      name = "${{IMAGE}}";
      this.#setSub("IMAGE", "app", where);
    } else name = `stage${index}`;
    if (name === "config" || this.#stages.has(name)) {
      throw convertError(
        where,
        "bad-stage",
        `stage name "${name}" is ${name === "config" ? "reserved in stacker files" : "used twice"}`,
      );
    }
    // In a FROM line only ARGs declared before it count (no stage environment yet).
    const image = wordValue(i.image, this.#lookup(undefined), where);
    const parent = this.#stages.get(image.toLowerCase());
    const from: Record<string, string> = parent !== undefined
      ? { type: "built", tag: parent.name }
      : image.toLowerCase() === "scratch"
      ? { type: "scratch" }
      : { type: "docker", url: `docker://${image}` };
    const state: StageState = parent !== undefined
      ? {
        env: new Map(parent.state.env),
        exports: [...parent.state.exports],
        workdir: parent.state.workdir,
        user: parent.state.user,
      }
      : { env: new Map(), exports: [], workdir: "/" };
    const layer: Layer = {
      name,
      from,
      buildOnly: !isLast,
      imports: [],
      binds: [],
      run: [],
      // A built stage's run script starts afresh: replay its parent's exports and directory.
      pending: [...state.exports, ...(state.workdir !== "/" ? [`cd ${shellWordOf(state.workdir)}`] : [])],
      labels: {},
      annotations: {},
      state,
      ran: false,
      copyAfterRun: false,
    };
    this.#layers.push(layer);
    this.#stages.set(name, layer);
    this.#stages.set(String(index), layer);
    return layer;
  }

  #arg(
    args: readonly { name: string; value?: Word }[],
    layer: Layer | undefined,
    where: DockerfileWhere,
  ): void {
    const platform = platformArgs(this.#opts.arch);
    for (const a of args) {
      const known = this.#args.get(a.name);
      let value: string | undefined;
      if (a.value !== undefined) value = wordValue(a.value, this.#defaultLookup(layer), where);
      else if (a.name in platform) value = platform[a.name];
      if (value !== undefined) {
        this.#setSub(a.name, value, where);
        this.#args.set(a.name, { placeholder: `\${{${a.name}}}`, value, empty: false });
      } else if (known === undefined) {
        // No default: empty unless the build gives one, as an unset ARG is in Docker.
        this.#args.set(a.name, { placeholder: `\${{${a.name}:}}`, value: "", empty: true });
      }
    }
  }

  /** ARG references of shell text (RUN, CMD, ENTRYPOINT) as substitutions. */
  #shellText(text: string, where: DockerfileWhere): string {
    return rewriteArgRefs(text, this.#args, where);
  }

  #instruction(i: Instruction, layer: Layer, where: DockerfileWhere): void {
    const lookup = this.#lookup(layer);
    const st = layer.state;
    switch (i.kind) {
      case "run": {
        if (i.flags.length > 0) {
          throw convertError(where, "unsupported-flag", `RUN --${i.flags[0].name} is not supported`);
        }
        const text = i.command.form === "shell" ? i.command.text : commandLine(i.command.argv);
        layer.run.push(
          ...layer.pending.splice(0),
          runLine(withMkdirP(this.#shellText(text, where)), st.user),
        );
        layer.ran = true;
        return;
      }
      case "cmd":
      case "entrypoint": {
        const argv = this.#argv(i.command, where);
        if (i.kind === "cmd") layer.cmd = argv;
        else layer.entrypoint = argv;
        return;
      }
      case "env":
        this.#env(i.pairs, layer, where);
        return;
      case "label":
        for (const p of i.pairs) {
          layer.labels[wordValue(p.key, lookup, where)] = wordValue(p.value, lookup, where);
        }
        return;
      case "maintainer": {
        const key = "org.opencontainers.image.authors";
        const prev = layer.annotations[key];
        layer.annotations[key] = prev === undefined ? i.text : `${prev},${i.text}`;
        return;
      }
      case "expose":
        this.#notes.push({
          level: "info",
          message: `line ${i.line}: EXPOSE ${i.text} ignored (runtime configuration)`,
        });
        return;
      case "workdir": {
        const path = wordValue(i.path, lookup, where);
        st.workdir = path.startsWith("/") ? normalize(path) : normalize(`${st.workdir}/${path}`);
        const q = shellWordOf(st.workdir);
        layer.run.push(...layer.pending.splice(0), `mkdir -p ${q}`, `cd ${q}`);
        return;
      }
      case "user": {
        const user = wordValue(i.user, lookup, where).split(":")[0];
        st.user = user === "root" || user === "0" ? undefined : user;
        if (st.user !== undefined && /^\d+$/.test(st.user)) {
          this.#notes.push({
            level: "warn",
            message:
              `line ${i.line}: USER ${user} is numeric, but the RUN lines after it use "su -p ${user}", ` +
              "which needs a user name from the image's /etc/passwd: write the name instead",
          });
        }
        return;
      }
      case "volume":
        for (const w of i.paths) {
          const path = wordValue(w, lookup, where);
          if (!path.startsWith("/")) {
            throw convertError(where, "syntax", `VOLUME path "${path}" is not absolute`);
          }
          const key = `STACKER_VOL${++this.#vols}`;
          this.#setSub(key, path, where);
          layer.binds.push({ source: `\${{${key}}}`, dest: path });
          this.#notes.push({
            level: "warn",
            message:
              `line ${i.line}: VOLUME ${path} is a bind of \${{${key}}} (default ${path} on the host), ` +
              "which must exist when building",
          });
        }
        return;
      case "copy": {
        if (layer.ran && !layer.copyAfterRun) {
          layer.copyAfterRun = true;
          this.#notes.push({
            level: "warn",
            message:
              `line ${i.line}: COPY after RUN in stage ${layer.name}: stacker imports are in place before ` +
              "the run script starts, so the earlier RUN lines already see these files",
          });
        }
        layer.imports.push(...copyImports(i.sources, i.dest, i.flags, {
          where,
          lookup,
          workdir: st.workdir,
          stageLayer: (ref) => this.#stages.get(ref)?.name,
          contextDir: this.#opts.contextDir,
          outputDir: this.#opts.outputDir,
          isDirectory: this.#opts.isDirectory,
          warn: (message) => this.#notes.push({ level: "warn", message }),
        }));
        return;
      }
      case "unsupported":
        throw convertError(
          where,
          "unsupported",
          `${i.keyword} is not supported: ${UNSUPPORTED_HINTS[i.keyword]}`,
        );
      case "from":
      case "arg":
        return; // handled by convert()
    }
  }

  /** CMD/ENTRYPOINT: the exec form as given, the shell form wrapped in `/bin/sh -c` as Docker does. */
  #argv(c: CommandForm, where: DockerfileWhere): string[] {
    // Docker leaves ARGs out of CMD (they do not exist at run time), but stacker refuses a file
    // that spells a substitution key `$NAME`, so they are substituted as everywhere else.
    return c.form === "exec"
      ? c.argv.map((a) => this.#shellText(a, where))
      : ["/bin/sh", "-c", this.#shellText(c.text, where)];
  }

  #env(pairs: readonly { key: Word; value: Word }[], layer: Layer, where: DockerfileWhere): void {
    // Every pair of one ENV sees the environment from before it (Docker's rule).
    const lookup = this.#lookup(layer);
    const updates: [string, EnvVar, string][] = pairs.map((p) => {
      const key = plainText(p.key);
      if (key === undefined || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
        throw convertError(where, "syntax", `ENV name must be a plain variable name`);
      }
      let value: string | undefined;
      try {
        value = wordValue(p.value, lookup, where);
      } catch {
        value = undefined; // refers to the base image's environment: only the shell can expand it
      }
      return [key, { value }, `export ${key}=${shellWord(p.value, lookup, where)}`];
    });
    for (const [key, v, line] of updates) {
      layer.state.env.set(key, v);
      layer.state.exports.push(line);
      layer.pending.push(line);
    }
  }

  #yaml(): string {
    const doc: Record<string, unknown> = {};
    for (const l of this.#layers) {
      const out: Record<string, unknown> = { from: l.from };
      if (l.buildOnly) out.build_only = true;
      out.build_env = { arch: this.#opts.arch };
      if (l.imports.length > 0) {
        out.imports = l.imports.map((imp) => {
          if (imp.mode === undefined) return imp;
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
}

function shellWordOf(path: string): string {
  return shellWord([{ kind: "text", text: path }], () => ({ kind: "unknown" }), { file: "", line: 0 });
}

/**
 * Converts a parsed Dockerfile into a stacker file and its substitutions. Pure apart from
 * `isDirectory` (stat by default). Throws StackerError (`convert.*`) naming the Dockerfile line of
 * an instruction stacker cannot express.
 */
export function toStackerfile(df: Dockerfile, opts: ConvertOptions): Conversion {
  return new Converter(df, opts).convert();
}
