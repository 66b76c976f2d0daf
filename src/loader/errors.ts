// Errors of the load path. Each names the object/program and says what to do.
import { TsbpfError } from "../errors.ts";

/** Something in the object cannot be loaded as it is (bad reference, missing BTF, ...). */
export class LoadError extends TsbpfError {}

/**
 * The verifier rejected a program. `message` has the reason, the failing
 * instruction with its C source line, then the last lines of the log.
 */
export class VerifierError extends TsbpfError {
  readonly program: string;
  readonly log: string;
  /** Failing instruction index in the linked program, when the log names one. */
  readonly insn: number | undefined;
  readonly errno: number;
  constructor(message: string, info: { program: string; log: string; insn?: number; errno: number }) {
    super(message);
    this.program = info.program;
    this.log = info.log;
    this.insn = info.insn;
    this.errno = info.errno;
  }
}

/** A CO-RE relocation could not be resolved and the verifier hit the poisoned insn. */
export { CoreRelocationError } from "../core/errors.ts";

/** The kernel cannot run this kind of program at all (feature compiled out). */
export class UnsupportedProgramError extends TsbpfError {}
