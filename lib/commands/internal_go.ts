/**
 * `stacker internal-go SUBCOMMAND …` (hidden): stacker's small entry points for scripts and test
 * suites, kept under their stacker names so those scripts run unchanged (spec §2.2):
 *   cp SRC DST · chmod MODE PATH · chown UID[:GID] PATH · check-aa-profile NAME (exit 52 without
 *   AppArmor) · testsuite-check-overlay (exit 50 when overlay storage is unusable here) ·
 *   copy SRC DST (image copy between docker://, oci: … references).
 * `atomfs mount|umount` (mounting squashfs/erofs stacks with verity) is not implemented: exit 2.
 */
import { NotImplementedError, StackerError } from "../util/errors.ts";
import { INTERNAL_GO_META } from "./_meta.ts";
import type { CommandContext, CommandDef } from "./types.ts";

/** Exit status of `check-aa-profile` when the kernel has no AppArmor (stacker's value). */
export const EXIT_NO_APPARMOR = 52;
/** Exit status of `testsuite-check-overlay` when overlay storage cannot work here (stacker's value). */
export const EXIT_NO_OVERLAY = 50;

function usage(sub: string, want: string): StackerError {
  return new StackerError(`Cannot run internal-go ${sub}: expected ${want}`, {
    code: "cli.usage",
    context: { subcommand: sub },
  });
}

function fail(sub: string, path: string, why: string, cause?: unknown): StackerError {
  return new StackerError(`Cannot run internal-go ${sub} on "${path}": ${why}`, {
    code: "cli.internal-go",
    context: { subcommand: sub, path },
    cause,
  });
}

async function lstatOf(sub: string, path: string): Promise<Deno.FileInfo> {
  try {
    return await Deno.lstat(path);
  } catch (err) {
    throw fail(sub, path, (err as Error).message, err);
  }
}

/** cp SRC DST: a directory tree (as `cp -a`), a symlink as a symlink, or a file with its mode. */
async function cp(args: readonly string[]): Promise<number> {
  if (args.length !== 2) throw usage("cp", "SRC DST");
  const [src, dst] = args;
  const st = await lstatOf("cp", src);
  if (st.isDirectory) {
    const { copyTree } = await import("../storage/mod.ts");
    await copyTree(src, dst);
  } else if (st.isSymlink) {
    await Deno.remove(dst).catch(() => {});
    await Deno.symlink(await Deno.readLink(src), dst);
  } else {
    await Deno.remove(dst).catch(() => {});
    await Deno.copyFile(src, dst);
    await Deno.chmod(dst, st.mode! & 0o7777);
  }
  return 0;
}

/** chmod MODE PATH: octal MODE on a regular file (directories and symlinks refused, as stacker). */
async function chmod(args: readonly string[]): Promise<number> {
  if (args.length !== 2) throw usage("chmod", "MODE PATH");
  const [mode, path] = args;
  if (!/^[0-7]{1,4}$/.test(mode)) throw fail("chmod", path, `mode "${mode}" is not octal`);
  const st = await lstatOf("chmod", path);
  if (st.isDirectory || st.isSymlink) throw fail("chmod", path, "not a file");
  await Deno.chmod(path, parseInt(mode, 8));
  return 0;
}

/** chown UID[:GID] PATH: numeric ids; a symlink itself is changed, directories are refused (as stacker). */
async function chown(args: readonly string[]): Promise<number> {
  if (args.length !== 2) throw usage("chown", "UID[:GID] PATH");
  const [owner, path] = args;
  const m = /^(\d+)(?::(\d+))?$/.exec(owner);
  if (!m) throw fail("chown", path, `owner "${owner}" is not UID or UID:GID`);
  const st = await lstatOf("chown", path);
  if (st.isDirectory) throw fail("chown", path, "is a directory");
  const uid = Number(m[1]), gid = m[2] === undefined ? null : Number(m[2]);
  if (st.isSymlink) {
    // Deno.chown follows symlinks; `chown -h` changes the link, as lchown(2) does in stacker.
    const out = await new Deno.Command("chown", {
      args: ["-h", gid === null ? `${uid}` : `${uid}:${gid}`, path],
      stdout: "null",
      stderr: "piped",
    }).output();
    if (out.code !== 0) throw fail("chown", path, new TextDecoder().decode(out.stderr).trim());
  } else {
    await Deno.chown(path, uid, gid);
  }
  return 0;
}

/**
 * check-aa-profile NAME: whether this process can change to AppArmor profile NAME (stacker asks
 * before it sets lxc.apparmor.profile). Exit 52 when the kernel has no AppArmor.
 */
function checkAaProfile(args: readonly string[]): number {
  if (args.length !== 1) throw usage("check-aa-profile", "NAME");
  const name = args[0];
  const enabled = (() => {
    try {
      return Deno.readTextFileSync("/sys/module/apparmor/parameters/enabled").trim() === "Y";
    } catch {
      return false;
    }
  })();
  if (!enabled) return EXIT_NO_APPARMOR;
  // The write must come from this thread (the profile change is per task): the sync calls do.
  const attr = ["/proc/thread-self/attr/apparmor/current", "/proc/thread-self/attr/current"]
    .find((p) => {
      try {
        Deno.statSync(p);
        return true;
      } catch {
        return false;
      }
    });
  if (!attr) return EXIT_NO_APPARMOR;
  try {
    Deno.writeTextFileSync(attr, `changeprofile ${name}`);
  } catch (err) {
    throw fail(
      "check-aa-profile",
      attr,
      `cannot change to profile "${name}": ${(err as Error).message}`,
      err,
    );
  }
  const now = Deno.readTextFileSync(attr).replace(/\0/g, "").trim();
  if (now !== `${name} (enforce)`) {
    throw fail("check-aa-profile", attr, `profile mismatch: got "${now}", expected "${name} (enforce)"`);
  }
  return 0;
}

/** testsuite-check-overlay: exit 50 (and say why) when overlay storage cannot work in the roots dir. */
async function checkOverlay(ctx: CommandContext): Promise<number> {
  await Deno.mkdir(ctx.global.rootsDir, { recursive: true });
  const { storageRequirements } = await import("../storage/mod.ts");
  const overlay = (await storageRequirements(ctx.global.rootsDir)).backends.find((b) => b.type === "overlay");
  if (overlay?.ok) return 0;
  ctx.log.info(overlay?.detail ?? "overlay storage is not available");
  return EXIT_NO_OVERLAY;
}

/** copy SRC DST: copies an image between references (docker://…, oci:DIR:TAG, …), TLS not verified. */
async function copy(ctx: CommandContext, args: readonly string[]): Promise<number> {
  if (args.length !== 2) throw usage("copy", "SRC DST");
  const { skopeoCopy } = await import("../transport/mod.ts");
  await skopeoCopy(args[0], args[1], { insecure: true, log: ctx.log, signal: ctx.signal });
  return 0;
}

export const internalGoCommand: CommandDef = {
  ...INTERNAL_GO_META,
  async run(ctx) {
    const [sub, ...args] = ctx.args;
    ctx.log.debug(`stacker subcommand: internal-go ${ctx.args.join(" ")}`);
    switch (sub) {
      case "cp":
        return await cp(args);
      case "chmod":
        return await chmod(args);
      case "chown":
        return await chown(args);
      case "check-aa-profile":
        return checkAaProfile(args);
      case "testsuite-check-overlay":
        return await checkOverlay(ctx);
      case "copy":
        return await copy(ctx, args);
      case "atomfs":
        throw new NotImplementedError(`"stacker internal-go atomfs${args[0] ? " " + args[0] : ""}"`);
      default:
        throw usage(
          sub ?? "",
          "one of cp, chmod, chown, check-aa-profile, testsuite-check-overlay, copy, atomfs",
        );
    }
  },
};
