// Byte sizes as the options write them: one parser, so every size flag takes the same
// units (--ring-size, --rotate-size, --nats-spool-size).

/** "100M", "1G", "64K", "4096" → bytes (powers of 1024; K/M/G, optional "iB"/"B"). */
export function parseByteSize(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)([KMG]i?B?)?$/i.exec(text.trim());
  if (!m) return undefined;
  const unit = (m[2] ?? "").charAt(0).toUpperCase();
  const mult = unit === "K" ? 1024 : unit === "M" ? 1024 ** 2 : unit === "G" ? 1024 ** 3 : 1;
  const n = Math.floor(Number(m[1]) * mult);
  return n > 0 ? n : undefined;
}
