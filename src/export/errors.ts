// Errors of the export machinery (metrics endpoint, output files, NATS). Messages
// name what and where (an address, a path, a server) and never a CLI flag: the CLI
// adds that context where it has it.
import { TsbpfError } from "../errors.ts";

export class ExportError extends TsbpfError {}
