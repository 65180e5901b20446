/**
 * Facts about nodes of a tree for packing: their tar type, the xattrs a layer carries, and
 * whether a node differs from its counterpart in the base.
 */
import { lgetxattr, llistxattr } from "../ffi/libc.ts";
import type { EntryType } from "./_tar_header.ts";

const OVERLAY_XATTR = /^(trusted|user)\.overlay\./;

/** The xattrs a layer records for `host`: overlay's own and SELinux labels are left out. */
export function readXattrs(host: string): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  for (const name of llistxattr(host).sort()) {
    if (OVERLAY_XATTR.test(name) || name === "security.selinux") continue;
    const v = lgetxattr(host, name);
    if (v !== undefined) out.set(name, v);
  }
  return out;
}

export function typeOf(st: Deno.FileInfo): EntryType | undefined {
  if (st.isFile) return "file";
  if (st.isDirectory) return "dir";
  if (st.isSymlink) return "symlink";
  if (st.isCharDevice) return "char";
  if (st.isBlockDevice) return "block";
  if (st.isFifo) return "fifo";
  return undefined;
}

export function isWhiteoutDevice(st: Deno.FileInfo): boolean {
  return st.isCharDevice === true && (st.rdev ?? 0) === 0;
}

export function isOpaque(host: string): boolean {
  for (const ns of ["trusted", "user"]) {
    const v = lgetxattr(host, `${ns}.overlay.opaque`);
    if (v !== undefined && v.length === 1 && v[0] === 0x79) return true;
  }
  return false;
}

function sameXattrs(a: Map<string, Uint8Array>, b: Map<string, Uint8Array>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) {
    const w = b.get(k);
    if (w === undefined || w.length !== v.length || !w.every((x, i) => x === v[i])) return false;
  }
  return true;
}

async function sameContent(a: string, b: string): Promise<boolean> {
  using fa = await Deno.open(a);
  using fb = await Deno.open(b);
  const ba = new Uint8Array(1 << 16), bb = new Uint8Array(1 << 16);
  for (;;) {
    const na = await fa.read(ba);
    if (na === null) return (await fb.read(bb)) === null;
    let got = 0;
    while (got < na) {
      const nb = await fb.read(bb.subarray(got, na));
      if (nb === null) return false;
      got += nb;
    }
    for (let i = 0; i < na; i++) if (ba[i] !== bb[i]) return false;
  }
}

/** Decides whether `newSt` differs from `oldSt`; content is compared only when metadata cannot tell. */
export async function differs(
  oldHost: string,
  oldSt: Deno.FileInfo,
  newHost: string,
  newSt: Deno.FileInfo,
): Promise<boolean> {
  const t = typeOf(newSt);
  if (typeOf(oldSt) !== t) return true;
  if (
    (oldSt.mode! & 0o7777) !== (newSt.mode! & 0o7777) || oldSt.uid !== newSt.uid || oldSt.gid !== newSt.gid
  ) {
    return true;
  }
  if (!sameXattrs(readXattrs(oldHost), readXattrs(newHost))) return true;
  switch (t) {
    case "dir":
      return oldSt.mtime?.getTime() !== newSt.mtime?.getTime();
    case "symlink":
      return (await Deno.readLink(oldHost)) !== (await Deno.readLink(newHost));
    case "char":
    case "block":
      return oldSt.rdev !== newSt.rdev;
    case "fifo":
      return false;
    case "file":
      if (oldSt.size !== newSt.size) return true;
      if (oldSt.mtime?.getTime() === newSt.mtime?.getTime()) return false;
      // Touched but maybe not changed: only the bytes can tell (an mtime-only change is not a layer).
      return !(await sameContent(oldHost, newHost));
  }
  return true;
}
