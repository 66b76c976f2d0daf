// An output file for log shippers: writes whole NDJSON lines, rotates by size with
// renames (FILE → FILE.1 → … → FILE.<keep>, the oldest removed), and reopens FILE on
// demand (SIGHUP, after logrotate moved it).
//
// What a tailer (Vector, Fluent Bit, Filebeat) relies on, and how it is kept:
// - no torn line: a write never splits a line across two files. A buffer of lines
//   is cut at the last newline that still fits; only a single line longer than the
//   limit makes a file exceed it.
// - nothing lost: the old file is renamed, never truncated or copied (rename(2) is
//   atomic; every byte was written to the old inode before the rename, and every later
//   byte goes to the new one). A tailer that holds the old file open reads it to its
//   end, then follows the name to the new file, as those tools do for rename-based
//   rotation (Vector's file source, Fluent Bit's tail with Rotate_Wait, Filebeat).
// - a new FILE is created with O_EXCL after the rename, so nothing else's file is
//   appended to, and with O_NOFOLLOW, so a symlink planted at FILE is refused.
import { closeSync, constants, fstatSync, openSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { ExportError } from "./errors.ts";

export interface RotatingFileOptions {
  /** Rotate before FILE would grow past this many bytes (default: never). */
  maxBytes?: number;
  /** Rotated files kept: FILE.1 (newest) … FILE.<keep> (default 5). */
  keep?: number;
  /** Mode of created files (default 0o600: events name every command line of the host). */
  mode?: number;
  /**
   * Truncate FILE at the first open (default: append). Appending is what a restarted
   * daemon wants: a shipper may not have read the tail yet.
   */
  truncate?: boolean;
}

const { O_WRONLY, O_CREAT, O_APPEND, O_TRUNC, O_EXCL, O_NOFOLLOW, O_CLOEXEC } =
  constants as typeof constants & {
    O_CLOEXEC?: number;
  };
const BASE_FLAGS = O_WRONLY | O_APPEND | O_NOFOLLOW | (O_CLOEXEC ?? 0);

export class RotatingFile {
  private fd: number;
  private size: number;
  private readonly maxBytes: number;
  private readonly keep: number;
  private readonly mode: number;
  /** Files rotated since the start. */
  rotations = 0;

  constructor(
    readonly path: string,
    opts: RotatingFileOptions = {},
  ) {
    this.maxBytes = opts.maxBytes ?? Number.POSITIVE_INFINITY;
    this.keep = opts.keep ?? 5;
    this.mode = opts.mode ?? 0o600;
    if (!(this.maxBytes > 0)) throw new ExportError(`${path}: the rotation size must be positive`);
    if (!(Number.isInteger(this.keep) && this.keep >= 1))
      throw new ExportError(`${path}: the number of rotated files to keep must be at least 1`);
    this.fd = this.open(O_CREAT | (opts.truncate ? O_TRUNC : 0));
    this.size = fstatSync(this.fd).size;
  }

  private open(extra: number): number {
    try {
      return openSync(this.path, BASE_FLAGS | extra, this.mode);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const why = code === "ELOOP" ? "it is a symbolic link (refused)" : (code ?? String(e));
      throw new ExportError(`cannot open ${this.path} for writing: ${why}`);
    }
  }

  /** Appends `bytes`, which must hold whole lines (each ending in '\n'). */
  write(bytes: Uint8Array): void {
    let off = 0;
    while (off < bytes.length) {
      const room = this.maxBytes - this.size;
      const left = bytes.length - off;
      if (left <= room) {
        this.writeAll(bytes, off, left);
        return;
      }
      // The last whole line that fits, else (nothing fits) rotate first; a line
      // longer than the limit goes alone into a fresh file.
      let cut = -1;
      if (room > 0) {
        const nl = bytes.lastIndexOf(10, off + room - 1);
        if (nl >= off) cut = nl + 1;
      }
      if (cut > off) {
        this.writeAll(bytes, off, cut - off);
        off = cut;
        this.rotate();
      } else if (this.size > 0) {
        this.rotate();
      } else {
        const nl = bytes.indexOf(10, off);
        const end = nl < 0 ? bytes.length : nl + 1;
        this.writeAll(bytes, off, end - off);
        off = end;
        if (off < bytes.length) this.rotate();
      }
    }
  }

  private writeAll(bytes: Uint8Array, off: number, len: number): void {
    const end = off + len;
    while (off < end) {
      try {
        off += writeSync(this.fd, bytes, off, end - off);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === "EAGAIN" || code === "EINTR") continue;
        throw new ExportError(`cannot write ${this.path}: ${code ?? e}`);
      }
    }
    this.size += len;
  }

  /** FILE.<keep-1> → FILE.<keep> … FILE → FILE.1, then a fresh FILE. */
  rotate(): void {
    for (let i = this.keep - 1; i >= 1; i--) {
      try {
        renameSync(`${this.path}.${i}`, `${this.path}.${i + 1}`);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "ENOENT")
          throw new ExportError(`cannot rotate ${this.path}.${i}: ${(e as NodeJS.ErrnoException).code ?? e}`);
      }
    }
    try {
      renameSync(this.path, `${this.path}.1`);
    } catch (e) {
      // Gone already (moved by hand or by logrotate): the new file starts the series.
      if ((e as NodeJS.ErrnoException).code !== "ENOENT")
        throw new ExportError(`cannot rotate ${this.path}: ${(e as NodeJS.ErrnoException).code ?? e}`);
    }
    const old = this.fd;
    this.fd = this.openFresh();
    this.size = 0;
    this.rotations++;
    closeSync(old);
  }

  /** O_EXCL: the name was just freed; if something took it since, start over from it rather than append to it. */
  private openFresh(): number {
    try {
      return this.open(O_CREAT | O_EXCL);
    } catch (e) {
      if (!(e instanceof ExportError) || !/EEXIST/.test(e.message)) throw e;
      try {
        unlinkSync(this.path);
      } catch {
        // Raced with something else again: the open below reports it.
      }
      return this.open(O_CREAT | O_EXCL);
    }
  }

  /**
   * Opens FILE again (appending, creating it if it was moved away): logrotate's
   * SIGHUP convention. The old descriptor is closed after the new one is open.
   */
  reopen(): void {
    const fd = this.open(O_CREAT);
    const old = this.fd;
    this.fd = fd;
    this.size = fstatSync(fd).size;
    closeSync(old);
  }

  close(): void {
    if (this.fd < 0) return;
    closeSync(this.fd);
    this.fd = -1;
  }
}
