// The netlink wire format (include/uapi/linux/netlink.h, rtnetlink.h), pure: messages and
// attributes in and out of Buffers. Every integer is in host byte order; iso runs on
// little-endian x86_64 and aarch64 only, so LE is host order.
import { defineStruct } from '@iso/core';

/** Every netlink message and attribute starts on a 4-byte boundary (NLMSG_ALIGN, NLA_ALIGN). */
export const align4 = (length: number): number => (length + 3) & ~3;

/** struct nlmsghdr. */
export const NLMSG_HDRLEN = 16;
/** struct nlattr / struct rtattr: u16 length (header included, padding not), u16 type. */
export const NLA_HDRLEN = 4;
export const NLA_F_NESTED = 0x8000;
const NLA_TYPE_MASK = 0x3fff;

/** Control messages of every netlink family. */
export const NLMSG = { NOOP: 1, ERROR: 2, DONE: 3, OVERRUN: 4 } as const;

/** Request flags. NLM_F_DUMP is ROOT|MATCH; CREATE/EXCL/REPLACE apply to NEW requests. */
export const NLM_F = {
  REQUEST: 0x1,
  MULTI: 0x2,
  ACK: 0x4,
  ECHO: 0x8,
  DUMP_INTR: 0x10,
  DUMP: 0x300,
  REPLACE: 0x100,
  EXCL: 0x200,
  CREATE: 0x400,
  APPEND: 0x800,
} as const;

/** Flags the kernel sets on an NLMSG_ERROR reply. */
export const NLM_F_ACK_FLAGS = { CAPPED: 0x100, ACK_TLVS: 0x200 } as const;

/** The extended-ack attributes after an error (enum nlmsgerr_attrs). */
export const NLMSGERR_ATTR = { MSG: 1, OFFS: 2, COOKIE: 3, POLICY: 4, MISS_TYPE: 5, MISS_NEST: 6 } as const;

/** rtnetlink message types. */
export const RTM = {
  NEWLINK: 16,
  DELLINK: 17,
  GETLINK: 18,
  SETLINK: 19,
  NEWADDR: 20,
  DELADDR: 21,
  GETADDR: 22,
  NEWROUTE: 24,
  DELROUTE: 25,
  GETROUTE: 26,
} as const;

const typeNames = new Map<number, string>([
  ...Object.entries(NLMSG).map(([name, n]): [number, string] => [n, `NLMSG_${name}`]),
  ...Object.entries(RTM).map(([name, n]): [number, string] => [n, `RTM_${name}`]),
]);

/** 'RTM_NEWLINK' for 16. */
export function messageTypeName(type: number): string {
  return typeNames.get(type) ?? `message type ${type}`;
}

/** struct ifinfomsg: the fixed head of a link message. */
export const ifinfomsgStruct = defineStruct('ifinfomsg', [
  ['family', 'u8'],
  ['pad', 'u8'],
  ['type', 'u16'],
  ['index', 'i32'],
  ['flags', 'u32'],
  ['change', 'u32'],
] as const);

/** struct ifaddrmsg: the fixed head of an address message. */
export const ifaddrmsgStruct = defineStruct('ifaddrmsg', [
  ['family', 'u8'],
  ['prefixlen', 'u8'],
  ['flags', 'u8'],
  ['scope', 'u8'],
  ['index', 'u32'],
] as const);

/** struct rtmsg: the fixed head of a route message. */
export const rtmsgStruct = defineStruct('rtmsg', [
  ['family', 'u8'],
  ['dst_len', 'u8'],
  ['src_len', 'u8'],
  ['tos', 'u8'],
  ['table', 'u8'],
  ['protocol', 'u8'],
  ['scope', 'u8'],
  ['type', 'u8'],
  ['flags', 'u32'],
] as const);

// ---------------------------------------------------------------------------------------
// Attributes.

/** One attribute to encode: raw bytes, or nested attributes. */
export interface AttributeSpec {
  readonly type: number;
  readonly value: Buffer | readonly AttributeSpec[];
}

/** One decoded attribute: its type without the NESTED and BYTEORDER bits, and its payload. */
export interface Attribute {
  readonly type: number;
  readonly nested: boolean;
  readonly data: Buffer;
}

export const u8Attribute = (type: number, value: number): AttributeSpec => ({ type, value: Buffer.from([value]) });
export function u32Attribute(type: number, value: number): AttributeSpec {
  const data = Buffer.alloc(4);
  data.writeUInt32LE(value >>> 0);
  return { type, value: data };
}
/** A NUL-terminated string, as the kernel's NLA_STRING and NLA_NUL_STRING policies take it. */
export const stringAttribute = (type: number, value: string): AttributeSpec => ({ type, value: Buffer.from(`${value}\0`) });
export const bytesAttribute = (type: number, value: Buffer): AttributeSpec => ({ type, value });
export const nestedAttribute = (type: number, children: readonly AttributeSpec[]): AttributeSpec => ({ type, value: children });

/** The encoded attributes, each padded to 4 bytes; nested ones carry NLA_F_NESTED. */
export function encodeAttributes(attributes: readonly AttributeSpec[]): Buffer {
  const parts: Buffer[] = [];
  for (const attribute of attributes) {
    const nested = !Buffer.isBuffer(attribute.value);
    const payload = Buffer.isBuffer(attribute.value) ? attribute.value : encodeAttributes(attribute.value);
    const length = NLA_HDRLEN + payload.length;
    if (length > 0xffff) throw new RangeError(`netlink attribute ${attribute.type} is ${length} bytes; at most 65535`);
    const head = Buffer.alloc(NLA_HDRLEN);
    head.writeUInt16LE(length, 0);
    head.writeUInt16LE(attribute.type | (nested ? NLA_F_NESTED : 0), 2);
    parts.push(head, payload, Buffer.alloc(align4(length) - length));
  }
  return Buffer.concat(parts);
}

/** The attributes in `data` from `offset` on; a truncated tail is an error, not skipped. */
export function parseAttributes(data: Buffer, offset = 0): Attribute[] {
  const out: Attribute[] = [];
  let at = offset;
  while (at + NLA_HDRLEN <= data.length) {
    const length = data.readUInt16LE(at);
    const type = data.readUInt16LE(at + 2);
    if (length < NLA_HDRLEN || at + length > data.length) throw new RangeError(`a netlink attribute at byte ${at} claims ${length} bytes; ${data.length - at} are left`);
    out.push({ type: type & NLA_TYPE_MASK, nested: (type & NLA_F_NESTED) !== 0, data: data.subarray(at + NLA_HDRLEN, at + length) });
    at += align4(length);
  }
  return out;
}

/** The first attribute of each type, for lookups. */
export function attributeMap(attributes: readonly Attribute[]): Map<number, Buffer> {
  const map = new Map<number, Buffer>();
  for (const attribute of attributes) if (!map.has(attribute.type)) map.set(attribute.type, attribute.data);
  return map;
}

/** A string attribute without its NUL (and anything after it). */
export function attributeString(data: Buffer): string {
  const end = data.indexOf(0);
  return data.subarray(0, end === -1 ? data.length : end).toString('utf8');
}

export const attributeU32 = (data: Buffer): number => data.readUInt32LE(0);

// ---------------------------------------------------------------------------------------
// Messages.

export interface MessageHead {
  readonly type: number;
  readonly flags: number;
  readonly seq: number;
  /** The sender's port id: 0 from the kernel. */
  readonly pid?: number;
}

/** One message: header, then the fixed part and attributes of its family. */
export function encodeMessage(head: MessageHead, ...body: readonly Buffer[]): Buffer {
  const payload = Buffer.concat(body.map((part) => Buffer.concat([part, Buffer.alloc(align4(part.length) - part.length)])));
  const header = Buffer.alloc(NLMSG_HDRLEN);
  header.writeUInt32LE(NLMSG_HDRLEN + payload.length, 0);
  header.writeUInt16LE(head.type, 4);
  header.writeUInt16LE(head.flags, 6);
  header.writeUInt32LE(head.seq >>> 0, 8);
  header.writeUInt32LE((head.pid ?? 0) >>> 0, 12);
  return Buffer.concat([header, payload]);
}

export interface Message {
  readonly type: number;
  readonly flags: number;
  readonly seq: number;
  readonly pid: number;
  /** Everything after the header. */
  readonly payload: Buffer;
}

/** The messages of one datagram. */
export function parseMessages(datagram: Buffer): Message[] {
  const out: Message[] = [];
  let at = 0;
  while (at + NLMSG_HDRLEN <= datagram.length) {
    const length = datagram.readUInt32LE(at);
    if (length < NLMSG_HDRLEN || at + length > datagram.length) throw new RangeError(`a netlink message at byte ${at} claims ${length} bytes; ${datagram.length - at} are left`);
    out.push({
      type: datagram.readUInt16LE(at + 4),
      flags: datagram.readUInt16LE(at + 6),
      seq: datagram.readUInt32LE(at + 8),
      pid: datagram.readUInt32LE(at + 12),
      payload: datagram.subarray(at + NLMSG_HDRLEN, at + length),
    });
    at += align4(length);
  }
  return out;
}

/** What an NLMSG_ERROR (or a dump's NLMSG_DONE) says: 0 is an ack. */
export interface NetlinkAck {
  /** The errno, positive; 0 for success. */
  readonly errno: number;
  /** The kernel's extended-ack message (NLMSGERR_ATTR_MSG), when it gave one. */
  readonly message?: string;
  /** The byte offset in the request of the attribute it refused (NLMSGERR_ATTR_OFFS). */
  readonly offset?: number;
  /** The type of a missing attribute (NLMSGERR_ATTR_MISS_TYPE). */
  readonly missingType?: number;
}

/** The kernel sends -errno; 0 stays 0, not -0. */
const positiveErrno = (sent: number): number => (sent === 0 ? 0 : -sent);

function extendedAck(attributes: Map<number, Buffer>, errno: number): NetlinkAck {
  const message = attributes.get(NLMSGERR_ATTR.MSG);
  const offset = attributes.get(NLMSGERR_ATTR.OFFS);
  const missing = attributes.get(NLMSGERR_ATTR.MISS_TYPE);
  return {
    errno,
    ...(message === undefined ? {} : { message: attributeString(message) }),
    ...(offset === undefined || offset.length < 4 ? {} : { offset: attributeU32(offset) }),
    ...(missing === undefined || missing.length < 4 ? {} : { missingType: attributeU32(missing) }),
  };
}

/**
 * struct nlmsgerr: int error, then the request's header (its whole payload too unless the
 * reply is CAPPED), then extended-ack attributes when ACK_TLVS is set.
 */
export function parseAck(message: Message): NetlinkAck {
  const { payload, flags } = message;
  if (payload.length < 4) throw new RangeError(`an NLMSG_ERROR of ${payload.length} bytes`);
  const errno = positiveErrno(payload.readInt32LE(0));
  if ((flags & NLM_F_ACK_FLAGS.ACK_TLVS) === 0 || payload.length < 4 + NLMSG_HDRLEN) return { errno };
  const echoed = (flags & NLM_F_ACK_FLAGS.CAPPED) !== 0 ? NLMSG_HDRLEN : payload.readUInt32LE(4);
  return extendedAck(attributeMap(parseAttributes(payload, 4 + align4(echoed))), errno);
}

/** A dump's NLMSG_DONE: int error (negative when the dump failed), then extended-ack attributes. */
export function parseDone(message: Message): NetlinkAck {
  if (message.payload.length < 4) return { errno: 0 };
  const errno = positiveErrno(message.payload.readInt32LE(0));
  if ((message.flags & NLM_F_ACK_FLAGS.ACK_TLVS) === 0) return { errno };
  return extendedAck(attributeMap(parseAttributes(message.payload, 4)), errno);
}
