/** Flag sets shared by several commands, as the original stacker names them. */
import type { FlagSpec } from "./types.ts";

export const GLOBAL_FLAGS: readonly FlagSpec[] = [
  { name: "work-dir", type: "string", help: "base for --stacker-dir, --oci-dir and --roots-dir" },
  { name: "stacker-dir", type: "string", help: "cache and metadata dir (default .stacker)" },
  { name: "oci-dir", type: "string", help: "output OCI layout (default oci)" },
  { name: "roots-dir", type: "string", help: "storage for root filesystems (default roots)" },
  { name: "config", type: "string", help: "config file (default ~/.config/stacker/conf.yaml)" },
  { name: "storage-type", type: "string", help: "overlay (default), btrfs or copy" },
  { name: "debug", type: "boolean", help: "debug logs, LXC ERROR lines and error cause chains" },
  { name: "quiet", alias: "q", type: "boolean", help: "only errors" },
  { name: "log-file", type: "string", help: "log to this file instead of stderr" },
  { name: "log-timestamp", type: "boolean", help: "prefix log lines with a timestamp" },
  { name: "progress", type: "boolean", help: "show progress bars (default: when stderr is a terminal)" },
  {
    name: "lock-timeout",
    type: "number",
    help:
      "seconds to wait for another stacker's lock on the stacker/roots dir or OCI layout (default 3600; 0: fail at once)",
  },
  { name: "internal-userns", type: "boolean", help: "marks the re-executed child", hidden: true },
  { name: "help", alias: "h", type: "boolean", help: "show help" },
  { name: "version", alias: "v", type: "boolean", help: "print the version" },
];

export const SUBSTITUTE_FLAGS: readonly FlagSpec[] = [
  { name: "substitute", type: "strings", help: "KEY=VALUE for ${{KEY}} in the stacker file (repeatable)" },
  { name: "substitute-file", type: "string", help: "YAML file of KEY: value substitutions" },
  {
    name: "substitute-secret",
    type: "strings",
    help:
      "KEY=VALUE, or KEY to take the value from $KEY: a substitution kept out of logs, the stacker_yaml annotation, the cache file and the image (repeatable)",
  },
];

export const BUILD_FLAGS: readonly FlagSpec[] = [
  ...SUBSTITUTE_FLAGS,
  { name: "no-cache", type: "boolean", help: "rebuild every layer (keeps downloaded bases and imports)" },
  {
    name: "on-run-failure",
    type: "string",
    help: "command to run interactively in the container when run fails",
  },
  { name: "shell-fail", type: "boolean", help: "same as --on-run-failure=/bin/sh" },
  {
    name: "layer-type",
    type: "strings",
    help: "output layer type: tar (default), squashfs or erofs (repeatable)",
  },
  { name: "no-verity", type: "boolean", help: "do not append dm-verity data to squashfs/erofs layers" },
  { name: "no-squashfs-verity", type: "boolean", help: "alias of --no-verity", hidden: true },
  { name: "require-hash", type: "boolean", help: "every http(s) import must carry a hash" },
  { name: "order-only", type: "boolean", help: "print the build order and build nothing" },
  {
    name: "annotations-namespace",
    type: "string",
    default: "io.stackeroci",
    help: "namespace of stacker's annotations",
  },
];

export const SEARCH_FLAGS: readonly FlagSpec[] = [
  {
    name: "search-dir",
    alias: "d",
    type: "string",
    help: "directory to search for stacker files (default: cwd)",
  },
  {
    name: "stacker-file-pattern",
    alias: "p",
    type: "string",
    default: "\\/stacker.yaml$",
    help: "regex on the full path of stacker files",
  },
];

export const STACKER_FILE_FLAG: FlagSpec = {
  name: "stacker-file",
  alias: "f",
  type: "string",
  default: "stacker.yaml",
  help: "the stacker file (path or http(s) URL)",
};
