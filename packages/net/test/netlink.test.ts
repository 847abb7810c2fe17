import { describe, expect, it } from 'vitest';
import {
  NLMSG,
  NLM_F,
  RTM,
  addressBytes,
  align4,
  attributeMap,
  attributeString,
  bytesAttribute,
  encodeAttributes,
  encodeMessage,
  formatAddress,
  ifaddrmsgStruct,
  ifinfomsgStruct,
  nestedAttribute,
  parseAck,
  parseAddress,
  parseAttributes,
  parseDone,
  parseLink,
  parseMessages,
  parsePrefix,
  parseRoute,
  rtmsgStruct,
  stringAttribute,
  u32Attribute,
  u8Attribute,
} from '../src/index.js';
import type { Message } from '../src/index.js';

const hex = (buffer: Buffer) => buffer.toString('hex');

describe('netlink attributes', () => {
  it('encodes length, type and payload, padded to 4 bytes', () => {
    expect(align4(0)).toBe(0);
    expect(align4(5)).toBe(8);
    expect(align4(8)).toBe(8);
    // "lo\0" is 3 bytes: length 7 (header included, padding not), then one pad byte.
    expect(hex(encodeAttributes([stringAttribute(3, 'lo')]))).toBe('070003006c6f0000');
    expect(hex(encodeAttributes([u32Attribute(4, 1500)]))).toBe('08000400dc050000');
    expect(hex(encodeAttributes([u8Attribute(16, 6)]))).toBe('0500100006000000');
    expect(hex(encodeAttributes([bytesAttribute(1, Buffer.alloc(0))]))).toBe('04000100');
  });

  it('nests attributes with NLA_F_NESTED and the inner padding counted in the outer length', () => {
    const nested = encodeAttributes([nestedAttribute(18, [stringAttribute(1, 'veth'), nestedAttribute(2, [u32Attribute(7, 9)])])]);
    // outer 4 + "veth\0" attribute 12 (9 + 3 pad) + inner nest 4 + 8 = 28.
    expect(nested.readUInt16LE(0)).toBe(28);
    expect(nested.readUInt16LE(2)).toBe(18 | 0x8000);
    const [outer] = parseAttributes(nested);
    expect(outer).toMatchObject({ type: 18, nested: true });
    const inner = parseAttributes(outer!.data);
    expect(inner.map((a) => [a.type, a.nested])).toEqual([
      [1, false],
      [2, true],
    ]);
    expect(attributeString(inner[0]!.data)).toBe('veth');
    expect(parseAttributes(inner[1]!.data)[0]!.data.readUInt32LE(0)).toBe(9);
  });

  it('round-trips a list, keeps the first of repeated types in the map, and refuses a truncated one', () => {
    const encoded = encodeAttributes([stringAttribute(3, 'iso-br0'), u32Attribute(4, 9000), u32Attribute(4, 1)]);
    const parsed = parseAttributes(encoded);
    expect(parsed).toHaveLength(3);
    const map = attributeMap(parsed);
    expect(attributeString(map.get(3)!)).toBe('iso-br0');
    expect(map.get(4)!.readUInt32LE(0)).toBe(9000);
    expect(() => parseAttributes(encoded.subarray(0, 6))).toThrow(RangeError);
    const bad = Buffer.from(encoded);
    bad.writeUInt16LE(2, 0); // shorter than its own header
    expect(() => parseAttributes(bad)).toThrow(RangeError);
    expect(() => encodeAttributes([bytesAttribute(1, Buffer.alloc(70000))])).toThrow(RangeError);
  });
});

describe('netlink messages', () => {
  it('encodes the header and aligns each part of the body', () => {
    const message = encodeMessage({ type: RTM.GETLINK, flags: NLM_F.REQUEST | NLM_F.DUMP, seq: 7, pid: 99 }, Buffer.from([1, 2, 3]), Buffer.from([4]));
    expect(message.length).toBe(16 + 4 + 4);
    expect(message.readUInt32LE(0)).toBe(24);
    expect(message.readUInt16LE(4)).toBe(18);
    expect(message.readUInt16LE(6)).toBe(0x301);
    expect(message.readUInt32LE(8)).toBe(7);
    expect(message.readUInt32LE(12)).toBe(99);
    expect(hex(message.subarray(16))).toBe('0102030004000000');
  });

  it('splits a datagram into its messages, and refuses one that claims too much', () => {
    const one = encodeMessage({ type: RTM.NEWLINK, flags: NLM_F.MULTI, seq: 1 }, Buffer.alloc(16));
    const two = encodeMessage({ type: NLMSG.DONE, flags: NLM_F.MULTI, seq: 1 }, Buffer.alloc(4));
    const parsed = parseMessages(Buffer.concat([one, two]));
    expect(parsed.map((m) => [m.type, m.seq, m.payload.length])).toEqual([
      [16, 1, 16],
      [3, 1, 4],
    ]);
    const bad = Buffer.from(one);
    bad.writeUInt32LE(400, 0);
    expect(() => parseMessages(bad)).toThrow(RangeError);
  });

  it('reads an error with its extended ack: errno, message and offset, capped or not', () => {
    const request = encodeMessage({ type: RTM.NEWROUTE, flags: 5, seq: 3 }, Buffer.alloc(12));
    const tlvs = encodeAttributes([stringAttribute(1, 'Nexthop has invalid gateway'), u32Attribute(2, 36)]);
    const errno = Buffer.alloc(4);
    errno.writeInt32LE(-101);
    const capped: Message = { type: NLMSG.ERROR, flags: 0x100 | 0x200, seq: 3, pid: 0, payload: Buffer.concat([errno, request.subarray(0, 16), tlvs]) };
    expect(parseAck(capped)).toEqual({ errno: 101, message: 'Nexthop has invalid gateway', offset: 36 });
    // Not capped: the whole request is echoed before the attributes.
    const whole: Message = { ...capped, flags: 0x200, payload: Buffer.concat([errno, request, tlvs]) };
    expect(parseAck(whole)).toEqual({ errno: 101, message: 'Nexthop has invalid gateway', offset: 36 });
    // A plain ack, without TLVs.
    expect(parseAck({ ...capped, flags: 0, payload: Buffer.concat([Buffer.alloc(4), request.subarray(0, 16)]) })).toEqual({ errno: 0 });
    expect(() => parseAck({ ...capped, payload: Buffer.alloc(2) })).toThrow(RangeError);
    expect(parseDone({ type: NLMSG.DONE, flags: 0x200, seq: 1, pid: 0, payload: Buffer.concat([errno, encodeAttributes([stringAttribute(1, 'dump failed')])]) })).toEqual({
      errno: 101,
      message: 'dump failed',
    });
  });

  it('decodes links, addresses and routes', () => {
    const link = parseLink({
      type: RTM.NEWLINK,
      flags: 2,
      seq: 1,
      pid: 0,
      payload: Buffer.concat([
        ifinfomsgStruct.encode({ family: 0, type: 1, index: 5, flags: 0x1043, change: 0 }),
        encodeAttributes([
          stringAttribute(3, 'iso-v0'),
          u32Attribute(4, 1400),
          u32Attribute(10, 7),
          u32Attribute(5, 6),
          u8Attribute(16, 6),
          bytesAttribute(1, Buffer.from([0x52, 0x54, 0, 0x12, 0x34, 0x56])),
          nestedAttribute(18, [stringAttribute(1, 'veth')]),
        ]),
      ]),
    });
    expect(link).toMatchObject({
      index: 5,
      name: 'iso-v0',
      kind: 'veth',
      up: true,
      mtu: 1400,
      masterIndex: 7,
      peerIndex: 6,
      operstate: 'UP',
      linkType: 'ether',
      address: '52:54:00:12:34:56',
      flagNames: ['UP', 'BROADCAST', 'RUNNING', 'MULTICAST'],
    });
    const address = parseAddress(
      {
        type: RTM.NEWADDR,
        flags: 2,
        seq: 1,
        pid: 0,
        payload: Buffer.concat([ifaddrmsgStruct.encode({ family: 10, prefixlen: 64, flags: 0, scope: 0, index: 5 }), encodeAttributes([bytesAttribute(1, addressBytes('fd77::1').bytes)])]),
      },
      new Map([[5, 'iso-br0']]),
    );
    expect(address).toMatchObject({ family: 'inet6', address: 'fd77::1', prefixLength: 64, scope: 'global', link: 'iso-br0', peer: undefined });
    const route = parseRoute(
      {
        type: RTM.NEWROUTE,
        flags: 2,
        seq: 1,
        pid: 0,
        payload: Buffer.concat([
          rtmsgStruct.encode({ family: 2, dst_len: 0, table: 254, protocol: 3, scope: 0, type: 1 }),
          encodeAttributes([u32Attribute(15, 254), bytesAttribute(5, addressBytes('10.0.0.1').bytes), u32Attribute(4, 5)]),
        ]),
      },
      new Map([[5, 'iso-br0']]),
    );
    expect(route).toMatchObject({ destination: 'default', gateway: '10.0.0.1', device: 'iso-br0', protocol: 'boot', scope: 'global', type: 'unicast', table: 254 });
  });
});

describe('IP addresses', () => {
  it('formats IPv6 as inet_ntop does', () => {
    for (const text of ['::', '::1', 'fd00::1', 'fe80::', 'fe80::1:0:0:1', '2001:db8::1:0:0:1', '1:0:1:0:1:0:1:0', '::ffff:10.1.2.3', '::10.1.2.3', '1:2:3:4:5:6:7:8', 'fd77::fe'])
      expect(formatAddress(addressBytes(text).bytes)).toBe(text);
    // The longest zero run is compressed, the first on a tie; a single zero group is not.
    expect(formatAddress(addressBytes('1:0:0:2:0:0:0:3').bytes)).toBe('1:0:0:2::3');
    expect(formatAddress(addressBytes('1:0:0:2:0:0:3:4').bytes)).toBe('1::2:0:0:3:4');
    expect(formatAddress(addressBytes('1:0:2:3:4:5:6:7').bytes)).toBe('1:0:2:3:4:5:6:7');
    expect(formatAddress(addressBytes('FD00:0000::0001').bytes)).toBe('fd00::1');
    expect(formatAddress(addressBytes('10.77.0.1').bytes)).toBe('10.77.0.1');
  });

  it('parses prefixes, and refuses what is not one', () => {
    expect(parsePrefix('10.0.0.1/24')).toEqual({ family: 'inet', address: '10.0.0.1', prefixLength: 24 });
    expect(parsePrefix('fd00::1')).toEqual({ family: 'inet6', address: 'fd00::1', prefixLength: 128 });
    for (const bad of ['10.0.0.1/33', 'fd00::1/129', '10.0.0.1/', '10.0.0.1/a', 'host', '10.0.0/8', 'fe80::1%eth0/64']) expect(() => parsePrefix(bad)).toThrow(RangeError);
  });
});
