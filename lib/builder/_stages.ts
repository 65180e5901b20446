/**
 * The build's stage functions that come from lib/layer and lib/runtime: unpack, generate, the run,
 * generate_labels and the build environment, bound to one stacker dir. The fetch stage
 * (transport's `baseFetcher`), the storage backend and the output layout are filled in `_wiring.ts`.
 */
import { generateErofs, generateLayer, generateSquashfs, unpackLayer } from "../layer/mod.ts";
import { buildEnvironment, generateLabels, runScript } from "../runtime/mod.ts";
import { MediaType } from "../oci/types.ts";
import type { Logger } from "../util/log.ts";
import { openFileChunks } from "../util/file_stream.ts";
import type { BuildServices } from "./services.ts";

export type StageFunctions = Pick<
  BuildServices,
  | "unpackLayer"
  | "unpackTar"
  | "generateLayer"
  | "packFsLayer"
  | "buildEnvironment"
  | "runLayer"
  | "generateLabels"
>;

export interface StageOptions {
  /** The stacker dir: LXC path, LXC logs and scratch dirs of the runtime live there. */
  readonly stackerDir: string;
  /** argv that starts the run helper (default: this program's `internal-run`). */
  readonly helper?: readonly string[];
  /** Name the LXC log in run failures. */
  readonly debug?: boolean;
  readonly log: Logger;
}

/** The media type of a rootfs tarball, from its first bytes (gzip, zstd, or plain tar). */
export async function tarMediaTypeOf(path: string): Promise<string> {
  const f = await Deno.open(path);
  try {
    const head = new Uint8Array(4);
    const n = (await f.read(head)) ?? 0;
    if (n >= 2 && head[0] === 0x1f && head[1] === 0x8b) return MediaType.ociLayerGzip;
    if (n >= 4 && head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) {
      return MediaType.ociLayerZstd;
    }
    return MediaType.ociLayer;
  } finally {
    f.close();
  }
}

/** The layer and runtime stages, bound to one stacker dir. */
export function realStages(opts: StageOptions): StageFunctions {
  return {
    async unpackLayer(open, dir, o) {
      await unpackLayer(open, dir, { ...o, log: opts.log });
    },
    async unpackTar(path, dir) {
      const mediaType = await tarMediaTypeOf(path);
      await unpackLayer(() => openFileChunks(path), dir, {
        mediaType,
        digest: path,
        whiteouts: "apply",
        log: opts.log,
      });
    },
    async generateLayer(input, o) {
      return await generateLayer(input, { sourceDateEpoch: o.sourceDateEpoch, log: opts.log });
    },
    async packFsLayer(dir, o) {
      const pack = o.type === "squashfs" ? generateSquashfs : generateErofs;
      // keepEmpty: an empty dir still gives a layer
      return (await pack(dir, {
        sourceDateEpoch: o.sourceDateEpoch,
        verity: o.verity,
        keepEmpty: true,
        log: opts.log,
      }))!;
    },
    buildEnvironment(layer, hostEnv) {
      return buildEnvironment(layer, hostEnv);
    },
    async runLayer(o) {
      await runScript({
        layer: o.layer.name,
        run: o.layer.run ?? "",
        file: o.file,
        lxcRootfs: o.snapshot.lxcRootfs,
        stackerDir: opts.stackerDir,
        env: o.env,
        binds: o.binds,
        importsDir: o.importDir,
        legacyImport: o.layer.legacyImport,
        onRunFailure: o.onRunFailure,
        debug: opts.debug,
        helper: opts.helper,
        log: o.log,
        signal: o.signal,
      });
    },
    async generateLabels(layer, snapshot, o) {
      return await generateLabels({
        layer: layer.name,
        script: layer.generateLabels ?? "",
        lxcRootfs: snapshot.lxcRootfs,
        stackerDir: opts.stackerDir,
        env: buildEnvironment(layer, {}),
        helper: opts.helper,
        log: o.log,
        signal: o.signal,
      });
    },
  };
}
