/**
 * Commands of the CLI contract whose implementation has not landed yet. Each has its final flags
 * (so `--help` is right) and fails with NotImplementedError (exit 2): nothing pretends to work.
 */
import { NotImplementedError } from "../util/errors.ts";
import { BUILD_FLAGS, SEARCH_FLAGS, STACKER_FILE_FLAG, SUBSTITUTE_FLAGS } from "./_flags.ts";
import type { CommandDef, FlagSpec } from "./types.ts";

function stub(
  name: string,
  summary: string,
  flags: readonly FlagSpec[],
  extra: Partial<CommandDef> = {},
): CommandDef {
  return {
    name,
    summary,
    flags,
    ...extra,
    run() {
      return Promise.reject(new NotImplementedError(`"stacker ${name}"`));
    },
  };
}

export const STUB_COMMANDS: readonly CommandDef[] = [
  stub("build", "build the layers of a stacker file", [STACKER_FILE_FLAG, ...BUILD_FLAGS], {
    usage: "[-f stacker.yaml] [--substitute K=V]… [--layer-type tar|squashfs] [--shell-fail] [--no-cache]",
  }),
  stub("recursive-build", "find stacker files under a directory and build them in order", [
    ...BUILD_FLAGS,
    ...SEARCH_FLAGS,
  ], { usage: "[-d DIR] [-p PATTERN]" }),
  stub("publish", "copy built images to a registry or OCI layout", [
    STACKER_FILE_FLAG,
    ...SEARCH_FLAGS,
    ...SUBSTITUTE_FLAGS,
    { name: "url", type: "string", help: "destination: docker://host[/path] or oci:DIR" },
    { name: "tag", type: "strings", help: "tag to publish under (repeatable)" },
    { name: "username", type: "string", help: "registry user" },
    { name: "password", type: "string", help: "registry password" },
    { name: "skip-tls", type: "boolean", help: "allow http and unverified TLS" },
    { name: "layer-type", type: "strings", help: "layer types to publish (repeatable)" },
    { name: "image", type: "strings", help: "only these layers (repeatable)" },
    { name: "show-only", type: "boolean", help: "print what would be published" },
    { name: "force", type: "boolean", help: "publish even if the cache says a rebuild is needed" },
  ]),
  stub("inspect", "show the images in the output layout", [
    { name: "json", type: "boolean", help: "machine-readable output" },
  ], { usage: "[TAG]" }),
  stub("grab", "copy a file or directory out of a built layer", [STACKER_FILE_FLAG, ...SUBSTITUTE_FLAGS], {
    usage: "LAYER:PATH [DEST]",
  }),
  stub("chroot", "interactive shell in a throw-away snapshot of a built layer", [
    STACKER_FILE_FLAG,
    ...SUBSTITUTE_FLAGS,
  ], { aliases: ["exec"], usage: "[LAYER] [CMD]" }),
  stub("clean", "remove the roots, OCI and stacker dirs", [
    { name: "all", type: "boolean", help: "kept for compatibility; clean always removes everything" },
  ]),
  stub("check", "check that this host can build images", []),
  stub("gc", "remove blobs and roots that no tag or cache entry references", []),
  stub("unpriv-setup", "as root: give a user subordinate ids and stacker dirs", [
    { name: "uid", type: "number", help: "user id (default $SUDO_UID)" },
    { name: "gid", type: "number", help: "group id (default $SUDO_GID)" },
    { name: "username", type: "string", help: "user name (default $SUDO_USER)" },
  ], { noUserns: true }),
  stub("convert", "convert a Dockerfile into a stacker file (experimental)", [
    { name: "docker-file", alias: "i", type: "string", default: "Dockerfile", help: "input Dockerfile" },
    { name: "output-file", alias: "o", type: "string", default: "stacker.yaml", help: "output stacker file" },
    {
      name: "substitute-file",
      alias: "s",
      type: "string",
      default: "stacker-subs.yaml",
      help: "output substitutions file",
    },
  ]),
];
