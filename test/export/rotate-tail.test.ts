// Rotation as a log shipper sees it: 1 GiB of events written by `trace -o FILE
// --rotate-size 1M`'s output path (a child process: TraceOutput over RotatingFile)
// while this process tails FILE the way Vector or Fluent Bit do: woken by inotify
// (fs.watch on the directory), reading its open file to the end, and when FILE's name
// points to another inode, finishing the old one and moving to its successor. Every
// line must arrive, once, whole, in order: each carries its sequence number.
import { spawn } from "node:child_process";
import {
  closeSync,
  fstatSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readSync,
  rmSync,
  statSync,
  watch,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { ROOT_DIR } from "../helpers/env.ts";

const TOTAL = Number(process.env.TSBPF_ROTATE_TEST_BYTES ?? 1024 ** 3);
/**
 * Rotated files kept (--rotate-keep). A tailer loses a file only when it falls more
 * than KEEP files behind (it holds the file it reads open, so even a removed one is
 * read to its end). This writer runs at disk speed (~60 MB/s here, a tracer at full
 * storm writes ~5 MB/s), and on a loaded 2-core machine the tailer can be descheduled
 * for a second or more: 20 files of slack.
 */
const KEEP = 20;
const HEAD = Buffer.from('{"event":"exec"');
const KEY = Buffer.from('"argv":["/bin/true","');

class Tailer {
  private fd = -1;
  private ino = 0;
  private pos = 0;
  private partialLen = 0;
  private readonly buf = Buffer.allocUnsafe(1 << 20);
  next = 1;
  lines = 0;
  bytes = 0;
  files = 0;
  error: string | undefined;

  constructor(private readonly file: string) {}

  /** Reads what is there; follows rotations. */
  poll(): void {
    if (this.error) return;
    if (this.fd < 0 && !this.openNext()) return;
    for (;;) {
      this.drain();
      if (this.error) return;
      let nameIno = 0;
      try {
        nameIno = statSync(this.file).ino;
      } catch {
        // Between the rename and the new file's creation.
      }
      if (nameIno === this.ino) return;
      // FILE is another inode now: ours was renamed, and everything written to it was
      // written before the rename. Read it to the end, then move on.
      this.drain();
      if (this.partialLen > 0) {
        this.error = `torn line at the end of a rotated file: ${this.buf.toString("latin1", 0, Math.min(this.partialLen, 120))}`;
        return;
      }
      closeSync(this.fd);
      this.fd = -1;
      if (!this.openNext()) return;
    }
  }

  /** Reads to the end of the open file; a line cut by the end of a read waits at the buffer's start for the rest. */
  private drain(): void {
    for (;;) {
      const keep = this.partialLen;
      const n = readSync(this.fd, this.buf, keep, this.buf.length - keep, this.pos);
      if (n === 0) return;
      this.pos += n;
      this.bytes += n;
      const end = keep + n;
      let start = 0;
      for (let nl = this.buf.indexOf(10, start); nl >= 0 && nl < end; nl = this.buf.indexOf(10, start)) {
        this.check(this.buf, start, nl);
        if (this.error) return;
        start = nl + 1;
      }
      this.partialLen = end - start;
      if (this.partialLen === this.buf.length) {
        this.error = "a line longer than the read buffer";
        return;
      }
      this.buf.copy(this.buf, 0, start, end);
    }
  }

  /** One line: a whole JSON object whose argv[1] is the next sequence number (checked on the bytes). */
  private check(data: Buffer, start: number, end: number): void {
    let seq = -1;
    if (
      data[start] === 0x7b &&
      data[end - 1] === 0x7d &&
      data.compare(HEAD, 0, HEAD.length, start, start + HEAD.length) === 0
    ) {
      const i = data.indexOf(KEY, start);
      if (i >= 0 && i < end) {
        seq = 0;
        for (let j = i + KEY.length; j < end && data[j] !== 0x22; j++)
          seq = seq * 10 + ((data[j] as number) - 48);
      }
    }
    if (seq !== this.next) {
      this.error = `line ${this.lines + 1}: expected seq ${this.next}: ${data.toString("latin1", start, Math.min(end, start + 200))}`;
      return;
    }
    // A full parse of every 64th line (the framing checks above cover the others).
    if ((seq & 63) === 0) JSON.parse(data.toString("utf8", start, end));
    this.next++;
    this.lines++;
  }

  /**
   * The successor of the file just finished: the candidate (FILE, FILE.1 … FILE.KEEP)
   * whose first line carries the next sequence number. A first open takes FILE.
   */
  private openNext(): boolean {
    const names =
      this.files === 0
        ? [this.file]
        : [this.file, ...Array.from({ length: KEEP }, (_, i) => `${this.file}.${i + 1}`)];
    for (const name of names) {
      let fd: number;
      try {
        fd = openSync(name, "r");
      } catch {
        continue;
      }
      const head = Buffer.alloc(400);
      const n = readSync(fd, head, 0, head.length, 0);
      const m = /"argv":\["\/bin\/true","(\d+)"/.exec(head.toString("latin1", 0, n));
      if (this.files === 0 || (m && Number(m[1]) === this.next)) {
        this.fd = fd;
        this.ino = fstatSync(fd).ino;
        this.pos = 0;
        this.files++;
        return true;
      }
      closeSync(fd);
    }
    // Nothing continues the sequence yet: the new FILE may still be empty, or a rename
    // moved the successor while the names were read. The next wakeup looks again.
    return false;
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
  }
}

test(`${(TOTAL / 1024 ** 2).toFixed(0)} MiB through --rotate-size 1M while a tailer follows: no line lost, torn or repeated`, async () => {
  const dir = mkdtempSync(join(tmpdir(), "tsbpf-export-rotate-"));
  const file = join(dir, "events.ndjson");
  const t0 = Date.now();
  const tail = new Tailer(file);
  const watcher = watch(dir, () => tail.poll());
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "test/export/rotate-writer.ts", file, "1M", String(KEEP), String(TOTAL)],
    {
      cwd: ROOT_DIR,
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  let out = "";
  child.stdout.on("data", (d) => {
    out += d;
  });
  // inotify wakes the tailer; a slow timer backs it up for events coalesced away.
  const timer = setInterval(() => tail.poll(), 50);
  try {
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    assert.is(code, 0, out);
    // The writer is done: read what is left (a few polls: the last rotation may have
    // been seen half-way).
    for (let i = 0; i < 5; i++) tail.poll();
    const m = /^done (\d+) (\d+) (\d+) (\d+)/.exec(out);
    assert.ok(m, out);
    const [lines, , rotations, writeMs] = (m as RegExpExecArray).slice(1).map(Number) as [
      number,
      number,
      number,
      number,
    ];
    assert.is(tail.error, undefined);
    assert.is(
      tail.lines,
      lines,
      `read ${tail.lines} of ${lines} lines; files left: ${readdirSync(dir).join(" ")} (a tailer more than ${KEEP} files behind loses the files it never opened)`,
    );
    assert.is(tail.files, rotations + 1);
    // The files left: FILE and at most KEEP rotated ones, each within the limit.
    const left = readdirSync(dir).sort();
    assert.ok(left.length <= KEEP + 1, left.join(" "));
    for (const f of left) assert.ok(statSync(join(dir, f)).size <= 1024 * 1024, f);
    console.log(
      `  ${(tail.bytes / 1024 ** 2).toFixed(0)} MiB, ${lines} lines, ${rotations} rotations: writer ${writeMs} ms, test ${Date.now() - t0} ms`,
    );
  } finally {
    clearInterval(timer);
    watcher.close();
    tail.close();
    child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
