// The rtnetlink codec without a kernel: requests built by NlMsgBuilder parse back to
// what was put in (nested attributes, padding, lengths), the error parser reads the
// extended-ack text, and random bytes never make the parser throw anything but a
// NetlinkParseError (fast-check).
import fc from "fast-check";
import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  IFLA_XDP,
  IFLA_XDP_FD,
  IFLA_XDP_FLAGS,
  NLA_F_NESTED,
  NLM_F_ACK_TLVS,
  NLM_F_CAPPED,
  NLMSG_ERROR,
  RTM_SETLINK,
} from "../../src/netlink/consts.ts";
import {
  attrStr,
  attrU32,
  findAttr,
  NetlinkParseError,
  NlMsgBuilder,
  parseAttrs,
  parseError,
  parseMessages,
} from "../../src/netlink/message.ts";

test("a built IFLA_XDP request parses back: header, family struct, nest, padding", () => {
  const fam = new Uint8Array(16);
  fam[4] = 7;
  const m = new NlMsgBuilder(RTM_SETLINK, 5, fam)
    .begin(IFLA_XDP)
    .s32(IFLA_XDP_FD, -1)
    .u32(IFLA_XDP_FLAGS, 2)
    .end()
    .str(3, "veth0");
  const bytes = m.build(42);
  assert.is(bytes.byteLength % 4, 0);
  const [msg] = parseMessages(bytes);
  assert.is(msg?.type, RTM_SETLINK);
  assert.is(msg?.flags, 5);
  assert.is(msg?.seq, 42);
  const attrs = parseAttrs(msg?.payload.subarray(16) ?? new Uint8Array());
  const xdp = findAttr(attrs, IFLA_XDP);
  assert.ok(xdp?.nested);
  const inner = parseAttrs(xdp?.data ?? new Uint8Array());
  assert.is(attrU32(findAttr(inner, IFLA_XDP_FD) as never), 0xffffffff);
  assert.is(attrU32(findAttr(inner, IFLA_XDP_FLAGS) as never), 2);
  assert.is(attrStr(findAttr(attrs, 3) as never), "veth0");
  // The nest header carries NLA_F_NESTED on the wire.
  const dv = new DataView(bytes.buffer);
  assert.is(dv.getUint16(16 + 16 + 2, true), IFLA_XDP | NLA_F_NESTED);
});

test("an NLMSG_ERROR with extended ack gives the errno and the kernel's message", () => {
  const hdr = new Uint8Array(16); // the echoed request header (NLM_F_CAPPED)
  const body = new NlMsgBuilder(NLMSG_ERROR, NLM_F_CAPPED | NLM_F_ACK_TLVS, new Uint8Array(4))
    .str(1, "Native and generic XDP can't be active at the same time")
    .build(1);
  // Insert the echoed header after the errno: build the payload by hand.
  const payload = new Uint8Array(4 + 16 + (body.byteLength - 20));
  new DataView(payload.buffer).setInt32(0, -16, true);
  payload.set(hdr, 4);
  payload.set(body.subarray(20), 20);
  const e = parseError({ type: NLMSG_ERROR, flags: NLM_F_CAPPED | NLM_F_ACK_TLVS, seq: 1, pid: 0, payload });
  assert.is(e.errno, 16);
  assert.is(e.message, "Native and generic XDP can't be active at the same time");
});

test("fuzz: random replies parse or fail with NetlinkParseError, never anything else", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 256 }), fc.integer({ min: 0, max: 0xffff }), (bytes, flags) => {
      for (const f of [
        () => parseMessages(bytes),
        () => parseAttrs(bytes),
        () => parseError({ type: NLMSG_ERROR, flags, seq: 0, pid: 0, payload: bytes }),
      ]) {
        try {
          f();
        } catch (e) {
          if (!(e instanceof NetlinkParseError)) throw e;
        }
      }
    }),
    { numRuns: 3000 },
  );
});

test("a message claiming more bytes than received is a NetlinkParseError naming the offset", () => {
  const b = new Uint8Array(20);
  new DataView(b.buffer).setUint32(0, 64, true);
  assert.throws(
    () => parseMessages(b),
    (e: Error) => e instanceof NetlinkParseError && /byte 0 claims 64/.test(e.message),
  );
});

test.run();
