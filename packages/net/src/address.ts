// IP addresses as rtnetlink carries them: bytes in network order, 4 for IPv4 and 16 for
// IPv6, and back to the text that iproute2 prints (inet_ntop's, RFC 5952 style).
import { isIPv4, isIPv6 } from 'node:net';

export const AF_INET = 2;
export const AF_INET6 = 10;

export type AddressFamily = 'inet' | 'inet6';

export const familyNumber = (family: AddressFamily): number => (family === 'inet' ? AF_INET : AF_INET6);

/** An address with its prefix length: '10.0.0.1/24', 'fd00::1/64'. */
export interface Prefix {
  readonly family: AddressFamily;
  readonly address: string;
  readonly prefixLength: number;
}

function ipv4Bytes(text: string): Buffer {
  return Buffer.from(text.split('.').map(Number));
}

function ipv6Bytes(text: string): Buffer {
  let head = text;
  const out = Buffer.alloc(16);
  // A trailing dotted quad ('::ffff:10.0.0.1') is the last 4 bytes.
  let tail: Buffer | undefined;
  const lastColon = head.lastIndexOf(':');
  if (head.includes('.')) {
    tail = ipv4Bytes(head.slice(lastColon + 1));
    head = `${head.slice(0, lastColon + 1)}0:0`;
  }
  const [left = '', right] = head.split('::');
  const groups = (part: string) => (part === '' ? [] : part.split(':').map((group) => parseInt(group, 16)));
  const before = groups(left);
  const after = right === undefined ? [] : groups(right);
  const all = [...before, ...new Array<number>(8 - before.length - after.length).fill(0), ...after];
  all.forEach((group, i) => out.writeUInt16BE(group, i * 2));
  if (tail) tail.copy(out, 12);
  return out;
}

/** The bytes of an IPv4 or IPv6 address, or a RangeError for anything else. */
export function addressBytes(text: string): { family: AddressFamily; bytes: Buffer } {
  if (isIPv4(text)) return { family: 'inet', bytes: ipv4Bytes(text) };
  if (isIPv6(text) && !text.includes('%')) return { family: 'inet6', bytes: ipv6Bytes(text) };
  throw new RangeError(`not an IPv4 or IPv6 address: ${JSON.stringify(text)}`);
}

/** The text of 4 or 16 address bytes, as inet_ntop (and so `ip`) prints it. */
export function formatAddress(bytes: Buffer): string {
  if (bytes.length === 4) return Array.from(bytes).join('.');
  if (bytes.length !== 16) return bytes.toString('hex');
  const words = Array.from({ length: 8 }, (_, i) => bytes.readUInt16BE(i * 2));
  // The longest run of two or more zero groups becomes '::' (the first, on a tie).
  let best = { start: -1, length: 0 };
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > best.length) best = { start: i, length: j - i };
    i = j;
  }
  if (best.length < 2) best = { start: -1, length: 0 };
  // ::a.b.c.d and ::ffff:a.b.c.d keep the dotted quad, as glibc's inet_ntop does.
  const dotted = best.start === 0 && (best.length === 6 || (best.length === 5 && words[5] === 0xffff));
  const parts: string[] = [];
  for (let i = 0; i < (dotted ? 6 : 8); i++) {
    if (i === best.start) {
      parts.push(i === 0 ? ':' : '');
      i += best.length - 1;
      if (i === (dotted ? 5 : 7)) parts.push('');
      continue;
    }
    parts.push((words[i] ?? 0).toString(16));
  }
  let text = parts.join(':');
  if (dotted) text += `${text.endsWith(':') ? '' : ':'}${Array.from(bytes.subarray(12)).join('.')}`;
  return text;
}

/** '10.0.0.1/24' into its parts; without '/N', the whole address (32 or 128 bits). */
export function parsePrefix(text: string): Prefix {
  const slash = text.indexOf('/');
  const address = slash === -1 ? text : text.slice(0, slash);
  const { family } = addressBytes(address);
  const max = family === 'inet' ? 32 : 128;
  const lengthText = slash === -1 ? String(max) : text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(lengthText) || Number(lengthText) > max) throw new RangeError(`the prefix length of ${JSON.stringify(text)} must be 0 to ${max}`);
  return { family, address, prefixLength: Number(lengthText) };
}
