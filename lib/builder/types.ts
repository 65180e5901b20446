/**
 * The layer model the build consumes is the parser's, declared once in `lib/stackerfile/types.ts`:
 * a parsed `LayerSpec` is handed to the build as it is. Re-exported here for programs and tests
 * that hand the build definitions of their own.
 */
export type {
  BaseSpec,
  BindSpec,
  CommandValue,
  ImportSpec,
  LayerDefinition,
  OverlayDirSpec,
} from "../stackerfile/mod.ts";
