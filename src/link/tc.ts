// tc with cls_bpf: the way before tcx links (and the only way for SEC("tc") programs on
// kernels before 6.6). A clsact qdisc gives an interface its ingress and egress hooks;
// a "bpf" filter in direct-action mode runs the program there and uses its return value
// as the verdict (TC_ACT_OK, TC_ACT_SHOT, ...). All over rtnetlink, as `tc` sends it.
// The filter stays until deleted, so the Link deletes it on close, and the clsact
// qdisc too when this link created it and no filter is left under it.
import { withNetlink } from "../netlink/conn.ts";
import { TC_H_CLSACT, TC_H_MAKE, TC_H_MIN_EGRESS, TC_H_MIN_INGRESS } from "../netlink/consts.ts";
import { addBpfFilter, addClsact, delBpfFilter, delClsact, listFilters } from "../netlink/route.ts";
import { closeFd } from "../sys/bpf.ts";
import { AttachError, Link } from "./link.ts";
import {
  describeInterface,
  type InterfaceTarget,
  inTargetNetns,
  ownProgramFd,
  resolveIfindex,
  targetGone,
} from "./target.ts";

export type TcDirection = "ingress" | "egress";

export interface TcOptions extends InterfaceTarget {
  direction: TcDirection;
  /** Filter priority (1-65535); default: the kernel picks one. */
  priority?: number;
  /** Filter handle; default: the kernel picks one. */
  handle?: number;
}

export function parentFor(direction: TcDirection): number {
  return TC_H_MAKE(TC_H_CLSACT, direction === "ingress" ? TC_H_MIN_INGRESS : TC_H_MIN_EGRESS);
}

export function attachTcFilter(progFd: number, program: string, opts: TcOptions): Link {
  if (opts.direction !== "ingress" && opts.direction !== "egress")
    throw new AttachError(`tc direction '${String(opts.direction)}' is not ingress or egress`);
  const priority = opts.priority ?? 0;
  if (!Number.isInteger(priority) || priority < 0 || priority > 0xffff)
    throw new AttachError(`tc priority ${priority} is outside 1..65535`);
  return inTargetNetns(opts, () => {
    const ifindex = resolveIfindex(opts);
    const target = `${describeInterface(opts, ifindex)} ${opts.direction}`;
    const parent = parentFor(opts.direction);
    // cls_bpf holds its own reference to the program; ours only names it in messages.
    const own = ownProgramFd(progFd);
    try {
      const { createdQdisc, filter } = withNetlink((c) => {
        const createdQdisc = addClsact(c, ifindex, `clsact on ${target}`);
        try {
          const filter = addBpfFilter(
            c,
            { ifindex, parent, handle: opts.handle ?? 0, priority, progFd: own, name: program },
            `bpf filter on ${target}`,
          );
          return { createdQdisc, filter };
        } catch (e) {
          if (createdQdisc) delClsact(c, ifindex);
          throw e;
        }
      });
      const detach = () => {
        try {
          inTargetNetns(opts, () =>
            withNetlink((c) => {
              delBpfFilter(c, filter, `bpf filter on ${target}`);
              if (!createdQdisc) return;
              const left = [
                ...listFilters(c, ifindex, parentFor("ingress")),
                ...listFilters(c, ifindex, parentFor("egress")),
              ];
              if (left.length === 0) delClsact(c, ifindex, `clsact on ${target}`);
            }),
          );
        } catch (e) {
          if (!targetGone(e)) throw e;
        }
      };
      return new Link({
        fd: -1,
        kind: "tc",
        program,
        target: `${target} (prio ${filter.priority} handle 0x${filter.handle.toString(16)})`,
        isBpfLink: false,
        method: "netlink",
        detach,
      });
    } finally {
      closeFd(own);
    }
  });
}
