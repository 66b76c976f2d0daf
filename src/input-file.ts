// Reading files named on the command line (--rules, --allowlist, --btf, inspect FILE)
// without trusting them: only regular files (a FIFO would block, /dev/zero never ends),
// a size cap checked before and while reading, and for policy files (rules, allowlist)
// the ownership and mode checks sshd applies to its configuration (StrictModes): a file
// that someone else can write is someone else's policy.
import { closeSync, constants, fstatSync, openSync, readSync, type Stats, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { TsbpfError } from "./errors.ts";

/** A file named on the command line cannot be used; the message says which and why. */
export class InputFileError extends TsbpfError {
  constructor(
    readonly path: string,
    readonly what: string,
    /** Why, without the file's name ("cannot read the file: no such file (ENOENT)"). */
    readonly reason: string,
    /** The errno name when the file could not be opened or is a directory. */
    readonly code?: string,
  ) {
    super(`${what} ${path}: ${reason}`);
  }
}

export interface InputFileOptions {
  /** What the file is, for messages ("rules file", "BTF file"). */
  what: string;
  /** Largest accepted size in bytes. */
  maxBytes: number;
  /** Refuse a file (or its directory) that users other than root and the caller can write. */
  policy?: boolean;
}

const MiB = 1024 * 1024;
export const POLICY_MAX_BYTES = 16 * MiB;
export const BINARY_MAX_BYTES = 512 * MiB;

const READ_ERRORS: Record<string, string> = {
  ENOENT: "no such file",
  EISDIR: "it is a directory, expected a file",
  EACCES: "permission denied",
  ELOOP: "too many levels of symbolic links",
  ENOTDIR: "a component of the path is not a directory",
};

function kind(st: Stats): string {
  if (st.isFIFO()) return "a FIFO";
  if (st.isCharacterDevice()) return "a character device";
  if (st.isBlockDevice()) return "a block device";
  if (st.isSocket()) return "a socket";
  return "not a regular file";
}

const octal = (m: number) => (m & 0o7777).toString(8).padStart(4, "0");

/** Who may run tsbpf's policy: root and the user running it. */
function trustedOwner(uid: number): boolean {
  return uid === 0 || uid === (process.geteuid?.() ?? 0);
}

function checkPolicy(path: string, st: Stats, what: string): void {
  if (!trustedOwner(st.uid))
    throw new InputFileError(
      path,
      what,
      `owned by uid ${st.uid}, neither root nor you: refusing a policy someone else controls`,
    );
  if (st.mode & 0o022)
    throw new InputFileError(
      path,
      what,
      `writable by ${st.mode & 0o002 ? "everyone" : "its group"} (mode ${octal(st.mode)}): refusing a policy others can change; run chmod go-w ${path}`,
    );
  // The directory: anyone who can write it can replace the file (unless it is sticky).
  const dir = dirname(resolve(path));
  let d: Stats;
  try {
    d = statSync(dir);
  } catch {
    return;
  }
  if (d.mode & 0o002 && !(d.mode & 0o1000))
    throw new InputFileError(
      path,
      what,
      `its directory ${dir} is world-writable without the sticky bit (mode ${octal(d.mode)}): anyone could replace the file`,
    );
}

/** Reads a file named by the user, or throws InputFileError with one clear reason. */
export function readInputFile(path: string, opts: InputFileOptions): Buffer {
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO for reading must not wait for a writer.
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code ? `${READ_ERRORS[code] ?? "error"} (${code})` : (e as Error).message;
    throw new InputFileError(path, opts.what, `cannot read the file: ${why}`, code);
  }
  try {
    const st = fstatSync(fd);
    if (st.isDirectory())
      throw new InputFileError(
        path,
        opts.what,
        "cannot read the file: it is a directory, expected a file (EISDIR)",
        "EISDIR",
      );
    if (!st.isFile())
      throw new InputFileError(
        path,
        opts.what,
        `cannot read the file: it is ${kind(st)}, expected a regular file`,
      );
    const limit = `the limit of ${opts.maxBytes / MiB} MiB`;
    if (st.size > opts.maxBytes)
      throw new InputFileError(path, opts.what, `the file is ${st.size} bytes, over ${limit}`);
    if (opts.policy) checkPolicy(path, st, opts.what);
    // Read to the end, but never past the cap: the file may grow while we read.
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buf = Buffer.allocUnsafe(
        Math.min(Math.max(st.size - total, 0) + 65536, opts.maxBytes + 1 - total),
      );
      if (buf.length === 0)
        throw new InputFileError(path, opts.what, `the file grew over ${limit} while being read`);
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      chunks.push(buf.subarray(0, n));
      total += n;
      if (total > opts.maxBytes)
        throw new InputFileError(path, opts.what, `the file grew over ${limit} while being read`);
    }
    return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, total);
  } finally {
    closeSync(fd);
  }
}
