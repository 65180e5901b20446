/** `stacker version` and `stacker --version`: one line, `stacker <version> liblxc <version>`. */
import { STACKER_VERSION } from "../util/version.ts";
import { VERSION_META } from "./_meta.ts";
import type { CommandDef } from "./types.ts";

/**
 * The version line in stacker's format, so scripts that parse it keep working. liblxc is loaded only
 * here (lazily, through FFI); without it the line still prints, with "unknown".
 */
export async function versionLine(): Promise<string> {
  let lxc = "unknown";
  try {
    const { lxcVersion } = await import("../ffi/liblxc.ts");
    lxc = lxcVersion();
  } catch { /* no liblxc on this host: the version line is still useful */ }
  return `stacker ${STACKER_VERSION} liblxc ${lxc}`;
}

export const versionCommand: CommandDef = {
  ...VERSION_META,
  async run(ctx) {
    ctx.print(await versionLine());
    return 0;
  },
};
