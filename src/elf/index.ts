/**
 * `tsbpf/elf`: reading BPF objects into specs, with no kernel involved: what the
 * loader will create (programs with their SEC() kinds, maps, global data, relocations,
 * CO-RE records, externs), for tools that inspect or edit objects.
 * @packageDocumentation
 */

export type * from "../spec.ts";
export { readCollectionSpec } from "./collection.ts";
export { ElfError } from "./errors.ts";
