#!/usr/bin/env node
// Development entry: runs the TypeScript sources through tsx. `npm run build` produces
// the self-contained binary dist/tsbpf, which needs neither Node nor tsx.
import { register } from "tsx/esm/api";

register();
await import("../src/cli.ts");
