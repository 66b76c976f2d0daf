// Drops the single binary's clean file pages from the process once start-up is over.
// dist/tsbpf is one ~95 MB file: Node's text, its read-only data (ICU among it) and the
// SEA blob (the V8 start-up snapshot, the bundle, the embedded objects). Start-up reads
// much of it once (the snapshot is deserialised into the heap, the bootstrap code runs
// once), and those pages stay in the process's RSS for good although the tracer never
// touches them again. madvise(MADV_DONTNEED) on a private file mapping unmaps its pages
// from this process only (mm/madvise.c, madvise_dontneed_free): the page cache keeps
// them, and a page touched again is mapped back by a minor fault with the file's
// contents. That is safe only where the process holds no private copy of a page (a
// copy-on-write page would be discarded, e.g. relocated .data.rel.ro): so a mapping is
// dropped only when smaps shows no anonymous page in it. A private mapping's copied
// pages are exactly its anonymous ones (smaps "Anonymous", proc(5)); its dirty file
// pages are not ours: Private_Dirty also counts page-cache pages not yet written back,
// which every page of a binary written in the last ~30 s is (a fresh build, a fresh
// download), and dropping those loses nothing.
// Only for the single binary (a build with its own file); library code never does this.
import { readFileSync, readlinkSync } from "node:fs";
import { MADV_DONTNEED, madvise } from "../sys/mm.ts";

/**
 * How long after the session opened the tracer's start-up is over: the /proc seeding
 * runs in the background and the first drains compile the per-event code.
 */
export const STARTUP_OVER_MS = 1000;

/** One mapping of /proc/self/smaps (proc(5)). */
export interface SmapsMapping {
  start: bigint;
  end: bigint;
  perms: string;
  path: string;
  /** kB */
  rss: number;
  privateDirty: number;
  anonymous: number;
}

const HEADER = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) [0-9a-f]+ \S+ \d+\s*(.*)$/;

/** A "Key:   N kB" field of one smaps entry, 0 when absent. */
function field(entry: string, key: string): number {
  const at = entry.indexOf(`\n${key}:`);
  return at < 0 ? 0 : Number.parseInt(entry.slice(at + key.length + 2), 10);
}

/**
 * Parses /proc/<pid>/smaps text; with `path`, only the entries of mappings of that
 * file (found by searching for it, not by reading every line: the start-up pays for
 * this, and a process has hundreds of mappings).
 */
export function parseSmaps(text: string, path?: string): SmapsMapping[] {
  const out: SmapsMapping[] = [];
  const starts: number[] = [];
  if (path === undefined) {
    for (let i = 0; i < text.length; i = text.indexOf("\n", i) + 1 || text.length) {
      if (HEADER.test(text.slice(i, text.indexOf("\n", i) >>> 0))) starts.push(i);
    }
  } else {
    for (let i = text.indexOf(path); i >= 0; i = text.indexOf(path, i + path.length)) {
      const line = text.lastIndexOf("\n", i) + 1;
      if (starts[starts.length - 1] !== line) starts.push(line);
    }
  }
  for (const start of starts) {
    const eol = text.indexOf("\n", start);
    const h = HEADER.exec(text.slice(start, eol < 0 ? text.length : eol));
    if (!h || (path !== undefined && (h[4] as string).replace(/ \(deleted\)$/, "") !== path)) continue;
    // Each entry's fields run to the next header line (the last is VmFlags).
    let end = text.indexOf("\nVmFlags:", start);
    if (end < 0) end = text.length;
    const entry = text.slice(eol, end);
    out.push({
      start: BigInt(`0x${h[1]}`),
      end: BigInt(`0x${h[2]}`),
      perms: h[3] as string,
      path: h[4] as string,
      rss: field(entry, "Rss"),
      privateDirty: field(entry, "Private_Dirty"),
      anonymous: field(entry, "Anonymous"),
    });
  }
  return out;
}

/**
 * The mappings of `file` whose resident pages can all be dropped and refaulted from the
 * file: private, not writable, no anonymous (copied-on-write) page.
 */
export function droppableMappings(maps: SmapsMapping[], file: string): SmapsMapping[] {
  // A binary replaced on disk while it runs shows as "PATH (deleted)": its pages still
  // come from the old inode, which the mapping keeps.
  const names = new Set([file, `${file} (deleted)`]);
  return maps.filter(
    (m) => names.has(m.path) && m.perms[1] === "-" && m.perms[3] === "p" && m.rss > 0 && m.anonymous === 0,
  );
}

/**
 * Drops the resident clean pages of the running executable's file mappings; returns
 * the kB that were resident in them. Never throws: a failure only leaves pages resident.
 */
export function dropExecutablePages(): number {
  let kb = 0;
  try {
    const exe = readlinkSync("/proc/self/exe").replace(/ \(deleted\)$/, "");
    for (const m of droppableMappings(parseSmaps(readFileSync("/proc/self/smaps", "utf8"), exe), exe)) {
      madvise(m.start, Number(m.end - m.start), MADV_DONTNEED);
      kb += m.rss;
    }
  } catch {
    // No /proc, or madvise refused: the pages stay, which costs memory and nothing else.
  }
  return kb;
}
