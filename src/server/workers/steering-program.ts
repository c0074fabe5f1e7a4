// The classic BPF program the kernel runs on each UDP datagram to pick the socket of a SO_REUSEPORT group
// (SO_ATTACH_REUSEPORT_CBPF): a BEP 15 announce or scrape goes to the socket of the thread that owns its (first)
// info hash, so the thread that reads it can answer it without handing it over. Everything else (connects,
// short or foreign datagrams) gets an index past the group's end, and the kernel then spreads it by the sender
// as it would without a program. The kernel runs it on the UDP payload, and loads words big-endian, as
// core/owner.ts reads the hash's last four bytes.

import {
  ACTION_ANNOUNCE,
  ACTION_SCRAPE,
  INFO_HASH_LEN,
  OFF_ACTION,
  OFF_INFO_HASH,
  OFF_SCRAPE_HASHES,
} from "../../codec/udp.ts";

// linux/filter.h and bpf_common.h: instruction classes and modes.
const LD_W_ABS = 0x20; // A = the big-endian word at k
const LD_W_LEN = 0x80; // A = the payload's length
const JEQ_K = 0x15; // jump by jt if A == k, else by jf
const JGE_K = 0x35; // jump by jt if A >= k, else by jf
const MOD_K = 0x94; // A %= k
const RET_K = 0x06;
const RET_A = 0x16;

/** An index no group has: the kernel falls back to spreading by the sender. */
const NO_CHOICE = 0xffff_ffff;
const INSTRUCTION_LEN = 8;
/** The kernel's limit (BPF_MAXINSNS). */
const MAX_INSTRUCTIONS = 4096;

// One load serves both: an announce's hash and a scrape's first sit at the same offset.
if (OFF_SCRAPE_HASHES !== OFF_INFO_HASH) throw new Error("steering-program.ts assumes one hash offset");
/** The last word of the (first) info hash, which names its owner. */
const OFF_OWNER_WORD = OFF_INFO_HASH + INFO_HASH_LEN - 4;
const MIN_LEN = OFF_INFO_HASH + INFO_HASH_LEN;

/**
 * The program for a group in which the socket of the thread owning key k sits at index `indexOf[k]` (k from 0
 * to indexOf.length - 1, the thread count): an array of struct sock_filter, ready for struct sock_fprog.
 */
export function steeringProgram(indexOf: readonly number[]): Uint8Array {
  const count = indexOf.length;
  const identity = indexOf.every((index, key) => index === key);
  const code: [op: number, jt: number, jf: number, k: number][] = [
    [LD_W_LEN, 0, 0, 0],
    [JGE_K, 1, 0, MIN_LEN],
    [RET_K, 0, 0, NO_CHOICE],
    [LD_W_ABS, 0, 0, OFF_ACTION],
    [JEQ_K, 2, 0, ACTION_ANNOUNCE],
    [JEQ_K, 1, 0, ACTION_SCRAPE],
    [RET_K, 0, 0, NO_CHOICE],
    [LD_W_ABS, 0, 0, OFF_OWNER_WORD],
    [MOD_K, 0, 0, count],
  ];
  if (identity) code.push([RET_A, 0, 0, 0]);
  else {
    // A table lookup the classic machine has no other way to write: if A == key, return its index.
    for (let key = 0; key < count; key++) code.push([JEQ_K, 0, 1, key], [RET_K, 0, 0, indexOf[key]]);
    code.push([RET_K, 0, 0, NO_CHOICE]);
  }
  if (code.length > MAX_INSTRUCTIONS) throw new RangeError(`steering program too long for ${count} threads`);
  const out = new Uint8Array(code.length * INSTRUCTION_LEN);
  const v = new DataView(out.buffer);
  code.forEach(([op, jt, jf, k], i) => {
    // struct sock_filter { __u16 code; __u8 jt; __u8 jf; __u32 k; } in the host's byte order.
    v.setUint16(i * INSTRUCTION_LEN, op, true);
    v.setUint8(i * INSTRUCTION_LEN + 2, jt);
    v.setUint8(i * INSTRUCTION_LEN + 3, jf);
    v.setUint32(i * INSTRUCTION_LEN + 4, k, true);
  });
  return out;
}
