/**
 * Every command's metadata: name, aliases, summary, usage and flags. The command table (mod.ts)
 * parses argv and prints help from these alone, so this module imports only flag sets and types:
 * anything heavier here would be paid by `stacker --version` and every `--help`. Each command module
 * spreads its metadata into its CommandDef (`{ ...BUILD_META, run }`), so there is one definition.
 */
import { BUILD_FLAGS, SEARCH_FLAGS, STACKER_FILE_FLAG, SUBSTITUTE_FLAGS } from "./_flags.ts";
import type { CommandMeta } from "./types.ts";

export const BUILD_META: CommandMeta = {
  name: "build",
  summary: "build the layers of a stacker file",
  usage:
    "[-f stacker.yaml] [--substitute K=V]… [--layer-type tar|squashfs|erofs]… [--no-verity] [--shell-fail] [--no-cache]",
  flags: [STACKER_FILE_FLAG, ...BUILD_FLAGS],
};

export const RECURSIVE_BUILD_META: CommandMeta = {
  name: "recursive-build",
  summary: "find stacker files under a directory and build them in order",
  usage: "[-d DIR] [-p PATTERN] [--order-only]",
  flags: [...BUILD_FLAGS, ...SEARCH_FLAGS],
};

export const PUBLISH_META: CommandMeta = {
  name: "publish",
  summary: "copy built images to a registry or OCI layout",
  usage: "--url docker://host[/path]|oci:DIR --tag T… [-f stacker.yaml | -d DIR]",
  flags: [
    STACKER_FILE_FLAG,
    ...SEARCH_FLAGS,
    ...SUBSTITUTE_FLAGS,
    { name: "url", type: "string", help: "destination: docker://host[/path] or oci:DIR" },
    { name: "tag", type: "strings", help: "tag to publish under (repeatable)" },
    { name: "username", type: "string", help: "registry user" },
    { name: "password", type: "string", help: "registry password" },
    { name: "skip-tls", type: "boolean", help: "allow plain http to the registry" },
    { name: "layer-type", type: "strings", help: "layer types to publish (repeatable)" },
    { name: "image", type: "strings", help: "only these layers (repeatable)" },
    { name: "show-only", type: "boolean", help: "print what would be published" },
    { name: "force", type: "boolean", help: "publish even if the cache says a rebuild is needed" },
  ],
};

export const INSPECT_META: CommandMeta = {
  name: "inspect",
  summary: "show the images in the output layout",
  usage: "[TAG] [--json]",
  flags: [{ name: "json", type: "boolean", help: "machine-readable output" }],
};

export const GRAB_META: CommandMeta = {
  name: "grab",
  summary: "copy a file or directory out of a built layer",
  usage: "LAYER:PATH [DEST]",
  flags: [STACKER_FILE_FLAG, ...SUBSTITUTE_FLAGS],
};

export const CHROOT_META: CommandMeta = {
  name: "chroot",
  aliases: ["exec"],
  summary: "interactive shell in a throw-away snapshot of a built layer",
  usage: "[LAYER] [CMD]",
  flags: [
    STACKER_FILE_FLAG,
    ...SUBSTITUTE_FLAGS,
    { name: "rootfs", type: "string", help: "run in this rootfs directory (changes are kept)", hidden: true },
  ],
};

export const CLEAN_META: CommandMeta = {
  name: "clean",
  summary: "remove the roots, OCI and stacker dirs",
  flags: [{ name: "all", type: "boolean", help: "kept for compatibility; clean always removes everything" }],
};

export const GC_META: CommandMeta = {
  name: "gc",
  summary: "remove blobs and roots that no tag or cache entry references",
  flags: [],
};

export const CHECK_META: CommandMeta = {
  name: "check",
  summary: "check that this host can build images",
  flags: [],
  noUserns: true,
};

export const UNPRIV_SETUP_META: CommandMeta = {
  name: "unpriv-setup",
  summary: "as root: give a user subordinate ids and stacker dirs",
  flags: [
    { name: "uid", type: "number", help: "user id (default $SUDO_UID)" },
    { name: "gid", type: "number", help: "group id (default $SUDO_GID)" },
    { name: "username", type: "string", help: "user name (default $SUDO_USER)" },
  ],
  noUserns: true,
};

export const CONVERT_META: CommandMeta = {
  name: "convert",
  summary: "convert a Dockerfile into a stacker file (experimental)",
  usage: "[-i Dockerfile] [-o stacker.yaml] [-s stacker-subs.yaml]",
  // Text in, text out: no rootfs work, so no user namespace (and no subordinate ids needed).
  noUserns: true,
  flags: [
    { name: "docker-file", alias: "i", type: "string", default: "Dockerfile", help: "input Dockerfile" },
    { name: "output-file", alias: "o", type: "string", default: "stacker.yaml", help: "output stacker file" },
    {
      name: "substitute-file",
      alias: "s",
      type: "string",
      default: "stacker-subs.yaml",
      help: "output substitutions file",
    },
  ],
};

export const VERSION_META: CommandMeta = {
  name: "version",
  summary: "print the version",
  flags: [],
  noUserns: true,
};

export const INTERNAL_RUN_META: CommandMeta = {
  name: "internal-run",
  summary: "run one container (internal helper)",
  usage: "REQUEST.json",
  hidden: true,
  noUserns: true,
  flags: [],
};

export const INTERNAL_GO_META: CommandMeta = {
  name: "internal-go",
  summary: "stacker's helper entry points for scripts and test suites (internal)",
  usage: "cp|chmod|chown|check-aa-profile|testsuite-check-overlay|copy|atomfs ARGS…",
  hidden: true,
  // Each subcommand acts on the host as the caller (testsuite-check-overlay reports on the host).
  noUserns: true,
  flags: [],
};
