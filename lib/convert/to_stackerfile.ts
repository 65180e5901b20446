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
import { copyImports } from "./_copy.ts";
import { convertError, type DockerfileWhere } from "./_errors.ts";
import { resolveWorkdir, runUser } from "./_run_script.ts";
import { commandLine } from "./_shell_text.ts";
import { stackerYaml, substitutionsYaml } from "./_stacker_yaml.ts";
import { type Stage, StageTable } from "./_stages.ts";
import { ArgScope, envExports, Substitutions } from "./_variables.ts";
import { wordValue } from "./_words.ts";
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

/**
 * Converts one parsed Dockerfile: walks its instructions and hands each to the module that maps
 * it; all state lives in this object for one call.
 */
class Converter {
  readonly #df: Dockerfile;
  readonly #opts: Required<ConvertOptions>;
  readonly #subs = new Substitutions();
  readonly #args: ArgScope;
  readonly #stages = new StageTable();
  readonly #notes: ConvertNote[] = [];
  #vols = 0;

  constructor(df: Dockerfile, opts: ConvertOptions) {
    this.#df = df;
    this.#opts = { arch: hostArch(), isDirectory: statIsDirectory, ...opts };
    this.#args = new ArgScope(this.#subs, this.#opts.arch);
  }

  #where(ins: Instruction): DockerfileWhere {
    return { file: this.#df.file, line: ins.line, keyword: ins.keyword };
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
    let stage: Stage | undefined;
    for (const i of ins) {
      const where = this.#where(i);
      if (i.kind === "from") {
        stage = this.#stages.open(i, {
          isLast: i === last,
          index: froms.indexOf(i),
          where,
          subs: this.#subs,
          // In a FROM line only ARGs declared before it count (no stage environment yet).
          lookup: this.#args.lookup(undefined),
        });
        continue;
      }
      if (i.kind === "arg") {
        this.#args.declare(i.args, stage?.state.env, where);
        continue;
      }
      if (stage === undefined) throw convertError(where, "syntax", `${i.keyword} before the first FROM`);
      this.#instruction(i, stage, where);
    }
    const subs = this.#subs.toRecord();
    return {
      stackerYaml: stackerYaml(
        this.#stages.all.map((s) => ({ ...s, run: s.script.lines })),
        this.#opts.arch,
      ),
      substitutions: subs,
      substitutionsYaml: substitutionsYaml(subs),
      notes: this.#notes,
    };
  }

  #instruction(i: Instruction, stage: Stage, where: DockerfileWhere): void {
    const st = stage.state;
    const lookup = this.#args.lookup(st.env);
    switch (i.kind) {
      case "run": {
        if (i.flags.length > 0) {
          throw convertError(where, "unsupported-flag", `RUN --${i.flags[0].name} is not supported`);
        }
        const text = i.command.form === "shell" ? i.command.text : commandLine(i.command.argv);
        stage.script.run(this.#args.shellText(text, where), st.user);
        return;
      }
      case "cmd":
      case "entrypoint": {
        const argv = this.#argv(i.command, where);
        if (i.kind === "cmd") stage.cmd = argv;
        else stage.entrypoint = argv;
        return;
      }
      case "env":
        for (const e of envExports(i.pairs, lookup, where)) {
          st.env.set(e.name, e.variable);
          st.exports.push(e.line);
          stage.script.defer(e.line);
        }
        return;
      case "label":
        for (const p of i.pairs) {
          stage.labels[wordValue(p.key, lookup, where)] = wordValue(p.value, lookup, where);
        }
        return;
      case "maintainer": {
        const key = "org.opencontainers.image.authors";
        const prev = stage.annotations[key];
        stage.annotations[key] = prev === undefined ? i.text : `${prev},${i.text}`;
        return;
      }
      case "expose":
        this.#notes.push({
          level: "info",
          message: `line ${i.line}: EXPOSE ${i.text} ignored (runtime configuration)`,
        });
        return;
      case "workdir":
        st.workdir = resolveWorkdir(st.workdir, wordValue(i.path, lookup, where));
        stage.script.changeDir(st.workdir);
        return;
      case "user": {
        const user = wordValue(i.user, lookup, where);
        st.user = runUser(user);
        if (st.user !== undefined && /^\d+$/.test(st.user)) {
          this.#notes.push({
            level: "warn",
            message:
              `line ${i.line}: USER ${st.user} is numeric, but the RUN lines after it use "su -p ${st.user}", ` +
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
          this.#subs.set(key, path, where);
          stage.binds.push({ source: `\${{${key}}}`, dest: path });
          this.#notes.push({
            level: "warn",
            message:
              `line ${i.line}: VOLUME ${path} is a bind of \${{${key}}} (default ${path} on the host), ` +
              "which must exist when building",
          });
        }
        return;
      case "copy": {
        if (stage.script.ran && !stage.copyAfterRun) {
          stage.copyAfterRun = true;
          this.#notes.push({
            level: "warn",
            message:
              `line ${i.line}: COPY after RUN in stage ${stage.name}: stacker imports are in place before ` +
              "the run script starts, so the earlier RUN lines already see these files",
          });
        }
        stage.imports.push(...copyImports(i.sources, i.dest, i.flags, {
          where,
          lookup,
          workdir: st.workdir,
          stageLayer: (ref) => this.#stages.layerName(ref),
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
      ? c.argv.map((a) => this.#args.shellText(a, where))
      : ["/bin/sh", "-c", this.#args.shellText(c.text, where)];
  }
}

/**
 * Converts a parsed Dockerfile into a stacker file and its substitutions. Pure apart from
 * `isDirectory` (stat by default). Throws StackerError (`convert.*`) naming the Dockerfile line of
 * an instruction stacker cannot express.
 */
export function toStackerfile(df: Dockerfile, opts: ConvertOptions): Conversion {
  return new Converter(df, opts).convert();
}
