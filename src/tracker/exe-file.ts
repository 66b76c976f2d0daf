// What the kernel knows about the file an exec ran (bpf/process.c exe_facts/exe_path):
// its mode, owner and link count, its directory's mode and owner, and flags from the
// dentry walk. Rules decide from these facts, not from the path string given to execve.

/** Kernel-side facts about an executed file, as decoded from the exec record. */
export interface RawExeFile {
  mode: number;
  uid: number;
  nlink: number;
  dirMode: number;
  dirUid: number;
  fsMagic: number;
  /** enum tsbpf_exec_flags bits of the EXE group (bpf/process.h). */
  flags: number;
}

// bpf/process.h enum tsbpf_exec_flags
const EXE_TRUNCATED = 1 << 7;
const EXE_UNLINKED = 1 << 8;
const EXE_ANON = 1 << 9;
const EXE_ANCESTOR_WW = 1 << 10;
const SUSPICIOUS = 1 << 11;

// include/uapi/linux/magic.h
const TMPFS_MAGIC = 0x01021994;
const HUGETLBFS_MAGIC = 0x958458f6;

const S_IWOTH = 0o002;
const S_ISVTX = 0o1000;

/**
 * The names in an exec event's `exe_flags` (docs/events.md):
 * - `dir_world_writable`: the file's directory has the o+w bit;
 * - `dir_sticky`: ... and the sticky bit (only the owner of a file may replace it);
 * - `ancestor_world_writable`: a directory above that one is o+w without sticky bit;
 * - `unlinked`: the file has no link left (deleted, O_TMPFILE, or memfd);
 * - `memfd`: an anonymous shared-memory file (memfd_create(2)): no path at all;
 * - `anonymous`: another file with no path (not on shmem/hugetlbfs);
 * - `path_truncated`: the path was deeper or longer than the kernel walk's bounds;
 * - `suspicious`: the kernel's pre-filter flagged it (never rate-limited).
 */
export type ExeFlag =
  | "dir_world_writable"
  | "dir_sticky"
  | "ancestor_world_writable"
  | "unlinked"
  | "memfd"
  | "anonymous"
  | "path_truncated"
  | "suspicious";

export function exeFlags(f: RawExeFile): ExeFlag[] {
  const out: ExeFlag[] = [];
  const anon = (f.flags & EXE_ANON) !== 0;
  if (!anon && f.dirMode & S_IWOTH) out.push("dir_world_writable");
  if (!anon && f.dirMode & S_IWOTH && f.dirMode & S_ISVTX) out.push("dir_sticky");
  if (f.flags & EXE_ANCESTOR_WW) out.push("ancestor_world_writable");
  if (f.flags & EXE_UNLINKED) out.push("unlinked");
  if (anon) out.push(f.fsMagic === TMPFS_MAGIC || f.fsMagic === HUGETLBFS_MAGIC ? "memfd" : "anonymous");
  if (f.flags & EXE_TRUNCATED) out.push("path_truncated");
  if (f.flags & SUSPICIOUS) out.push("suspicious");
  return out;
}

/** Permission bits (with setuid/setgid/sticky) as the octal string ls and chmod use, e.g. "1777". */
export function octalMode(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, "0");
}
