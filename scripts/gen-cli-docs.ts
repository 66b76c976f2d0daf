// Writes the man page and shell completions that the package ships (share/), from the
// commands' option tables: npm run gen:docs. test/cli/docs.test.ts fails when stale.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { bashCompletion, manPage, zshCompletion } from "../src/cli/completion.ts";
import { allCommands } from "../src/cli/registry.ts";

export const SHARE_FILES = {
  "share/man/man1/tsbpf.1": manPage,
  "share/bash-completion/completions/tsbpf": bashCompletion,
  "share/zsh/site-functions/_tsbpf": zshCompletion,
} as const;

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const cmds = await allCommands();
  for (const [rel, gen] of Object.entries(SHARE_FILES)) {
    const p = join(root, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, gen(cmds));
    console.log(`wrote ${rel}`);
  }
}
