/**
 * stacker-ts as a library: the typed API `cli.ts` uses, for programs that embed the builder.
 */
export { runCli } from "./lib/commands/run_cli.ts";
export type { CliIo } from "./lib/commands/run_cli.ts";
export {
  BuildError,
  LayerError,
  NotImplementedError,
  OciError,
  OsError,
  RegistryError,
  RuntimeError,
  StackerError,
  StackerfileError,
  StorageError,
} from "./lib/util/errors.ts";
export { Logger } from "./lib/util/log.ts";
export type * from "./lib/oci/types.ts";
export { STACKER_VERSION } from "./lib/util/version.ts";
export {
  build,
  buildLayers,
  formatInspect,
  grab,
  inspect,
  inspectImages,
  inspectJson,
} from "./lib/builder/mod.ts";
export { publish } from "./lib/transport/mod.ts";
export type { PublishOptions } from "./lib/transport/mod.ts";
export type {
  BuildOptions,
  BuildResult,
  BuildServices,
  InspectedImage,
  LayerDefinition,
  LayerResult,
  PlannedLayer,
} from "./lib/builder/mod.ts";
