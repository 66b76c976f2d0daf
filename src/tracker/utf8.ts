// Lossless byte ↔ string conversion for data a traced process controls (argv, env,
// comm, paths). The kernel hands us raw bytes with no encoding guarantee, so we use
// Python's "surrogateescape" scheme (PEP 383): valid UTF-8 decodes normally and each
// byte 0xNN that is not part of a valid UTF-8 sequence becomes the lone surrogate
// U+DC00+0xNN. Such surrogates never come out of valid UTF-8, so encoding back
// reproduces the original bytes exactly, and JSON.stringify escapes them as \udcNN.

const strict = new TextDecoder("utf-8", { fatal: true });

/** Length of the valid UTF-8 sequence starting at i (RFC 3629 §4), or 0 if invalid. */
function seqLen(b: Uint8Array, i: number, end: number): number {
  const c = b[i];
  if (c < 0x80) return 1;
  let n: number;
  let lo = 0x80;
  let hi = 0xbf;
  if (c >= 0xc2 && c <= 0xdf) n = 2;
  else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    if (c === 0xe0) lo = 0xa0; // overlong
    if (c === 0xed) hi = 0x9f; // UTF-16 surrogates are not valid UTF-8
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    if (c === 0xf0) lo = 0x90; // overlong
    if (c === 0xf4) hi = 0x8f; // above U+10FFFF
  } else return 0;
  if (i + n > end) return 0;
  const c1 = b[i + 1];
  if (c1 < lo || c1 > hi) return 0;
  for (let k = 2; k < n; k++) if ((b[i + k] & 0xc0) !== 0x80) return 0;
  return n;
}

/** Decodes bytes [start, end) as UTF-8 with surrogateescape for invalid bytes. */
export function decodeSurrogateEscape(bytes: Uint8Array, start = 0, end = bytes.length): string {
  const view = bytes.subarray(start, end);
  try {
    return strict.decode(view);
  } catch {
    // Slow path only for invalid input.
  }
  let out = "";
  let i = 0;
  while (i < view.length) {
    const n = seqLen(view, i, view.length);
    if (n === 0) {
      out += String.fromCharCode(0xdc00 + view[i]);
      i += 1;
    } else {
      out += strict.decode(view.subarray(i, i + n));
      i += n;
    }
  }
  return out;
}

/** Inverse of decodeSurrogateEscape: U+DC80..U+DCFF become the raw byte again. */
export function encodeSurrogateEscape(s: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    let cp = s.charCodeAt(i);
    if (cp >= 0xdc80 && cp <= 0xdcff) {
      out.push(cp - 0xdc00);
      continue;
    }
    if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < s.length) {
      const lo = s.charCodeAt(i + 1);
      if (lo >= 0xdc00 && lo <= 0xdfff) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        i++;
      }
    }
    if (cp < 0x80) out.push(cp);
    else if (cp < 0x800) out.push(0xc0 | (cp >> 6), 0x80 | (cp & 0x3f));
    else if (cp < 0x10000) out.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
    else
      out.push(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3f), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
  }
  return Uint8Array.from(out);
}

/** A C string field (e.g. task->comm): bytes up to the first NUL. */
export function cString(bytes: Uint8Array): string {
  const nul = bytes.indexOf(0);
  return decodeSurrogateEscape(bytes, 0, nul === -1 ? bytes.length : nul);
}

/**
 * Splits NUL-separated strings (argv/env as copied from the process's memory).
 * A trailing NUL ends the last string; a missing one means the buffer was cut.
 * At most `count` strings are returned when count >= 0; empty strings are kept
 * (`prog "" x` has three arguments).
 */
export function bytesToArgv(bytes: Uint8Array, count = -1): string[] {
  const out: string[] = [];
  let start = 0;
  const n = bytes.length;
  while (start < n && (count < 0 || out.length < count)) {
    let end = bytes.indexOf(0, start);
    if (end === -1) end = n;
    out.push(decodeSurrogateEscape(bytes, start, end));
    start = end + 1;
  }
  return out;
}

/** Inverse of bytesToArgv: each string followed by a NUL. */
export function argvToBytes(argv: readonly string[]): Uint8Array {
  const parts = argv.map(encodeSurrogateEscape);
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length + 1, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length + 1;
  }
  return out;
}
