// rtnetlink constants, named as in the kernel UAPI headers: linux/netlink.h,
// linux/rtnetlink.h, linux/if_link.h, linux/pkt_sched.h and linux/pkt_cls.h.
// Pure data.

/** linux/netlink.h */
export const NETLINK_ROUTE = 0;
export const NLMSG_HDRLEN = 16;
export const NLMSG_NOOP = 1;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const NLM_F_REQUEST = 0x1;
export const NLM_F_MULTI = 0x2;
export const NLM_F_ACK = 0x4;
export const NLM_F_ECHO = 0x8;
export const NLM_F_DUMP = 0x300;
export const NLM_F_REPLACE = 0x100;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
/** Flags of an NLMSG_ERROR reply: the request was not echoed back / extended-ack TLVs follow. */
export const NLM_F_CAPPED = 0x100;
export const NLM_F_ACK_TLVS = 0x200;
export const NLA_HDRLEN = 4;
export const NLA_F_NESTED = 0x8000;
export const NLA_TYPE_MASK = 0x3fff;
/** enum nlmsgerr_attrs */
export const NLMSGERR_ATTR_MSG = 1;
export const NLMSGERR_ATTR_OFFS = 2;

/** linux/rtnetlink.h message types */
export const RTM_NEWLINK = 16;
export const RTM_DELLINK = 17;
export const RTM_GETLINK = 18;
export const RTM_SETLINK = 19;
export const RTM_NEWQDISC = 36;
export const RTM_DELQDISC = 37;
export const RTM_GETQDISC = 38;
export const RTM_NEWTFILTER = 44;
export const RTM_DELTFILTER = 45;
export const RTM_GETTFILTER = 46;

export const RTM_NAMES: Record<number, string> = {
  [RTM_NEWLINK]: "RTM_NEWLINK",
  [RTM_DELLINK]: "RTM_DELLINK",
  [RTM_GETLINK]: "RTM_GETLINK",
  [RTM_SETLINK]: "RTM_SETLINK",
  [RTM_NEWQDISC]: "RTM_NEWQDISC",
  [RTM_DELQDISC]: "RTM_DELQDISC",
  [RTM_GETQDISC]: "RTM_GETQDISC",
  [RTM_NEWTFILTER]: "RTM_NEWTFILTER",
  [RTM_DELTFILTER]: "RTM_DELTFILTER",
  [RTM_GETTFILTER]: "RTM_GETTFILTER",
};

/** struct ifinfomsg is 16 bytes; struct tcmsg is 20. */
export const IFINFOMSG_LEN = 16;
export const TCMSG_LEN = 20;
export const AF_UNSPEC = 0;

/** linux/if_link.h: enum IFLA_* (the ones used here) and the IFLA_XDP nest. */
export const IFLA_IFNAME = 3;
export const IFLA_XDP = 43;
export const IFLA_XDP_FD = 1;
export const IFLA_XDP_ATTACHED = 2;
export const IFLA_XDP_FLAGS = 3;
export const IFLA_XDP_PROG_ID = 4;
export const IFLA_XDP_DRV_PROG_ID = 5;
export const IFLA_XDP_SKB_PROG_ID = 6;
export const IFLA_XDP_HW_PROG_ID = 7;
export const IFLA_XDP_EXPECTED_FD = 8;
/** enum XDP_ATTACHED_* */
export const XDP_ATTACHED_NONE = 0;
export const XDP_ATTACHED_DRV = 1;
export const XDP_ATTACHED_SKB = 2;
export const XDP_ATTACHED_HW = 3;
export const XDP_ATTACHED_MULTI = 4;

/** linux/rtnetlink.h: enum TCA_* */
export const TCA_KIND = 1;
export const TCA_OPTIONS = 2;

/** linux/pkt_sched.h: handles of the clsact qdisc and its two hooks. */
export const TC_H_MAJ_MASK = 0xffff0000;
export const TC_H_MIN_MASK = 0x0000ffff;
export const TC_H_CLSACT = 0xfffffff1;
export const TC_H_MIN_INGRESS = 0xfff2;
export const TC_H_MIN_EGRESS = 0xfff3;

/** linux/pkt_cls.h: cls_bpf attributes. */
export const TCA_BPF_CLASSID = 3;
export const TCA_BPF_FD = 6;
export const TCA_BPF_NAME = 7;
export const TCA_BPF_FLAGS = 8;
export const TCA_BPF_FLAGS_GEN = 9;
export const TCA_BPF_TAG = 10;
export const TCA_BPF_ID = 11;
/** TCA_BPF_FLAGS: the program's return value is the tc action (direct-action mode). */
export const TCA_BPF_FLAG_ACT_DIRECT = 1;

/** linux/if_ether.h: every protocol, in network byte order in tcm_info's low 16 bits. */
export const ETH_P_ALL = 0x0003;

export function TC_H_MAKE(maj: number, min: number): number {
  return ((maj & TC_H_MAJ_MASK) | (min & TC_H_MIN_MASK)) >>> 0;
}
