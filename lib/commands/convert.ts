/**
 * `stacker convert`: reads a Dockerfile (`-i`), writes the stacker file (`-o`) and its
 * substitutions (`-s`, always written, so `stacker build --substitute-file` works as printed).
 * The result is loaded with our own stacker file parser before anything is written: a conversion
 * that stacker would refuse is an error here, not at build time.
 */
import { parseDockerfile, toStackerfile } from "../convert/mod.ts";
import { parseStackerFile, resolveSubstitutions } from "../stackerfile/mod.ts";
import { StackerError } from "../util/errors.ts";
import { dirname, resolve } from "../util/path.ts";
import { CONVERT_META } from "./_meta.ts";
import type { CommandDef } from "./types.ts";

async function readInput(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (err) {
    throw new StackerError(`Cannot convert "${path}": ${(err as Error).message}`, {
      code: "convert.read",
      context: { file: path },
      cause: err,
    });
  }
}

async function writeOutput(path: string, text: string): Promise<void> {
  try {
    await Deno.writeTextFile(path, text);
  } catch (err) {
    throw new StackerError(`Cannot write "${path}": ${(err as Error).message}`, {
      code: "convert.write",
      context: { file: path },
      cause: err,
    });
  }
}

export const convertCommand: CommandDef = {
  ...CONVERT_META,
  async run(ctx) {
    const f = ctx.flags;
    const input = (f["docker-file"] as string | undefined) ?? "Dockerfile";
    const output = (f["output-file"] as string | undefined) ?? "stacker.yaml";
    const subsFile = (f["substitute-file"] as string | undefined) ?? "stacker-subs.yaml";
    const outputAbs = resolve(output);

    const df = parseDockerfile(await readInput(input), input);
    const conv = toStackerfile(df, { contextDir: dirname(resolve(input)), outputDir: dirname(outputAbs) });
    const header = `# Converted from ${input} by "stacker convert". Build it with:\n` +
      `#   stacker build -f ${output} --substitute-file ${subsFile}\n`;
    const yaml = header + conv.stackerYaml;
    try {
      parseStackerFile(yaml, outputAbs, {
        substitutions: resolveSubstitutions({
          substituteFile: { path: subsFile, text: conv.substitutionsYaml },
        }),
        log: ctx.log,
      });
    } catch (err) {
      throw new StackerError(
        `Cannot convert "${input}": the stacker file it gives does not load: ${(err as Error).message}`,
        { code: "convert.invalid-result", context: { file: input }, cause: err },
      );
    }
    await writeOutput(output, yaml);
    await writeOutput(subsFile, conv.substitutionsYaml);
    for (const n of conv.notes) {
      if (n.level === "warn") ctx.log.warn(n.message);
      else ctx.log.info(n.message);
    }
    ctx.log.info(`converted ${input} into ${output} and ${subsFile}`);
    return 0;
  },
};
