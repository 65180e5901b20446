/**
 * `stacker convert`: Dockerfile → stacker.yaml and its substitutions (spec §2.2). Pure text work
 * apart from one stat per local COPY source; writing the files is the command's job.
 */
export { parseDockerfile } from "./dockerfile.ts";
export type { CommandForm, Dockerfile, DockerFlag, Instruction, KeyValue } from "./dockerfile.ts";
export { toStackerfile } from "./to_stackerfile.ts";
export type { Conversion, ConvertNote, ConvertOptions } from "./to_stackerfile.ts";
