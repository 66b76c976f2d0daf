// Errors raised while reading BTF or .BTF.ext. Every malformed input ends here, with
// the file, the byte offset inside the blob and what was expected, so a user can act.
import { TsbpfError } from "../errors.ts";

export interface BtfErrorWhere {
  /** Byte offset inside the BTF (or .BTF.ext) blob. */
  offset?: number;
  /** Type id the problem belongs to. */
  typeId?: number;
  /** Section kind, e.g. ".BTF.ext line_info", used instead of "BTF" in the message. */
  what?: string;
}

/** Malformed BTF: the message names the file and the offset. */
export class BtfError extends TsbpfError {
  readonly file: string;
  readonly offset: number | undefined;
  readonly typeId: number | undefined;
  readonly detail: string;

  constructor(file: string, detail: string, where: BtfErrorWhere = {}) {
    const parts: string[] = [];
    if (where.typeId !== undefined) parts.push(`type #${where.typeId}`);
    if (where.offset !== undefined) parts.push(`at offset 0x${where.offset.toString(16)}`);
    const loc = parts.length ? `${parts.join(" ")}: ` : "";
    super(`bad ${where.what ?? "BTF"} in ${file}: ${loc}${detail}`);
    this.file = file;
    this.offset = where.offset;
    this.typeId = where.typeId;
    this.detail = detail;
  }
}

/** No target BTF: the kernel lacks CONFIG_DEBUG_INFO_BTF and no target BTF file was given, or that file is unusable. */
export class KernelBtfError extends TsbpfError {}
