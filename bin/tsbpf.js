#!/usr/bin/env node
// The `tsbpf` command. In a checkout of the repository (src/ beside bin/) it runs the
// TypeScript sources through tsx, a development dependency; in the installed package,
// which ships no src/, it runs the compiled dist/lib/cli.js with plain Node.
// `npm run build` produces the self-contained binary dist/tsbpf, which needs neither.
import { existsSync } from "node:fs";

const source = new URL("../src/cli.ts", import.meta.url);
if (existsSync(source)) {
  const { register } = await import("tsx/esm/api");
  register();
  await import(source.href);
} else {
  await import("../dist/lib/cli.js");
}
