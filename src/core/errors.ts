// Errors raised while applying CO-RE relocations and resolving externs. The loader
// raises CoreRelocationError when the verifier rejects an instruction that CO-RE
// poisoned, so the user sees which field of which type the kernel lacks.
import { TsbpfError } from "../errors.ts";

/** A CO-RE relocation could not be resolved against the target BTF and the program used it. */
export class CoreRelocationError extends TsbpfError {
  readonly program: string;
  readonly index: number;
  readonly reason: string;
  readonly source: string | undefined;
  /**
   * Message shape: `CO-RE relocation #3 in program handle_exec failed: task_struct::foo not
   * found in kernel BTF (wanted by bpf/process.bpf.c:42)`.
   */
  constructor(program: string, index: number, reason: string, source?: string) {
    super(
      `CO-RE relocation #${index} in program ${program} failed: ${reason}${source ? ` (wanted by ${source})` : ""}`,
    );
    this.program = program;
    this.index = index;
    this.reason = reason;
    this.source = source;
  }
}

/** A `.kconfig` or `__ksym` extern that cannot be satisfied by the running kernel. */
export class ExternError extends TsbpfError {}

export { KernelBtfError } from "../btf/errors.ts";
