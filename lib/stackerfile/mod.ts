/**
 * The parse stage: stacker.yaml → typed, validated, ordered `BuildPlan` (spec §1, §2.2, §3.2).
 * Depends on util only.
 */
export type {
  BaseSpec,
  BindSpec,
  BuildPlan,
  CommandValue,
  ImportKind,
  ImportSpec,
  LayerDefinition,
  LayerSpec,
  LoadOptions,
  OverlayDirSpec,
  ParseOptions,
  SourcePos,
  StackerFile,
  Substitution,
} from "./types.ts";
export { importKindOf, isUrl, parseStackerFile, resolveIn, runScriptOf } from "./parse_stacker_file.ts";
export { LAYER_KEYS } from "./_directives.ts";
export { positionOf, resolveSubstitutions, substitute } from "./substitute.ts";
export type { ResolveSubstitutionsOptions } from "./substitute.ts";
export {
  buildOrderLines,
  layerDependencies,
  loadStackerFiles,
  orderOnly,
  substitutionsOf,
} from "./load_stacker_files.ts";
export { DEFAULT_STACKER_FILE_PATTERN, findStackerFiles } from "./find_stacker_files.ts";
