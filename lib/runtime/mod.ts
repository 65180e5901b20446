/** Running commands in a rootfs: liblxc through FFI in a helper process, and unprivileged operation. */
export type { BindMount, RunResult, RunSpec } from "./types.ts";
export { selfCommand } from "./self_command.ts";
export { containerConfig, validateRunSpec } from "./container_config.ts";
export { HELPER_FAILED, runHelper } from "./helper.ts";
export type { HelperOutcome, HelperRequest } from "./helper.ts";
export { lxcLogErrors, runInContainer, uniqueContainerName, writableRoot } from "./run_in_container.ts";
export type { ContainerRunResult, RunInContainerOptions, StdioMode } from "./run_in_container.ts";
export {
  checkStackerDirOwner,
  idMapArgs,
  INTERNAL_USERNS_FLAG,
  needsUserns,
  OUTER_PID_ENV,
  REAL_UID_ENV,
  reexecInUserns,
  SUBORDINATE_COUNT,
  subordinateRange,
  userName,
  usernsProblems,
} from "./userns.ts";
export type { NeedsUsernsOptions, ReexecOptions, SubordinateRange } from "./userns.ts";
export { buildEnvironment, DEFAULT_PASSTHROUGH, DEFAULT_PATH } from "./build_env.ts";
export type { BuildEnvLayer } from "./build_env.ts";
export { layerRunSpec, lxcLogFile, runInteractive, runScript, runScriptText } from "./run_script.ts";
export type { LayerContainerOptions, RunScriptOptions } from "./run_script.ts";
export { generateLabels } from "./labels.ts";
export type { GenerateLabelsOptions } from "./labels.ts";
export { addSubordinateRange, nextSubordinateStart, RANGE_SIZE, unprivSetup } from "./unpriv_setup.ts";
export type { UnprivSetupOptions } from "./unpriv_setup.ts";
export { isPrivilegedHelper, runtimeRequirements } from "./requirements.ts";
export type { Requirement, RequirementsOptions } from "./requirements.ts";
