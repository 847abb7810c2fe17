// An rtnetlink client over a NETLINK_ROUTE socket: links (veth pairs, bridges; up, down,
// MTU, master, netns, delete), IPv4 and IPv6 addresses, routes, and dumps of all three as
// typed objects. Synchronous: the kernel answers rtnetlink requests at once.
import { IsoError, describeErrno, invalidOptions, withHint } from '@iso/core';
import type { IsoErrorCode } from '@iso/core';
import { AF_INET, AF_INET6, addressBytes, formatAddress, parsePrefix } from './address.js';
import type { AddressFamily } from './address.js';
import {
  NLMSG,
  NLM_F,
  RTM,
  attributeMap,
  attributeString,
  attributeU32,
  bytesAttribute,
  encodeAttributes,
  encodeMessage,
  ifaddrmsgStruct,
  ifinfomsgStruct,
  messageTypeName,
  nestedAttribute,
  parseAck,
  parseAttributes,
  parseDone,
  parseMessages,
  rtmsgStruct,
  stringAttribute,
  u32Attribute,
} from './netlink.js';
import type { AttributeSpec, Message, NetlinkAck } from './netlink.js';
import { openNetnsTarget, withNetns } from './netns.js';
import type { NetnsTarget } from './netns.js';
import { closeDescriptor, netlinkReceive, netlinkSend, openNetlinkSocket } from './sys.js';

/** Link attributes (enum IFLA_*). */
export const IFLA = {
  ADDRESS: 1,
  BROADCAST: 2,
  IFNAME: 3,
  MTU: 4,
  LINK: 5,
  QDISC: 6,
  MASTER: 10,
  TXQLEN: 13,
  OPERSTATE: 16,
  LINKMODE: 17,
  LINKINFO: 18,
  NET_NS_PID: 19,
  GROUP: 27,
  NET_NS_FD: 28,
  LINK_NETNSID: 37,
} as const;
const IFLA_INFO = { KIND: 1, DATA: 2, SLAVE_KIND: 4 } as const;
const VETH_INFO_PEER = 1;
/** Address attributes (enum IFA_*). */
export const IFA = { ADDRESS: 1, LOCAL: 2, LABEL: 3, BROADCAST: 4, FLAGS: 8 } as const;
/** Route attributes (enum RTA_*). */
export const RTA = { DST: 1, SRC: 2, OIF: 4, GATEWAY: 5, PRIORITY: 6, PREFSRC: 7, TABLE: 15 } as const;

/** Interface flags (IFF_*, include/uapi/linux/if.h), by bit. */
export const IFF = {
  UP: 0x1,
  BROADCAST: 0x2,
  DEBUG: 0x4,
  LOOPBACK: 0x8,
  POINTOPOINT: 0x10,
  NOTRAILERS: 0x20,
  RUNNING: 0x40,
  NOARP: 0x80,
  PROMISC: 0x100,
  ALLMULTI: 0x200,
  MASTER: 0x400,
  SLAVE: 0x800,
  MULTICAST: 0x1000,
  PORTSEL: 0x2000,
  AUTOMEDIA: 0x4000,
  DYNAMIC: 0x8000,
  LOWER_UP: 0x10000,
  DORMANT: 0x20000,
  ECHO: 0x40000,
} as const;

const OPERSTATES = ['UNKNOWN', 'NOTPRESENT', 'DOWN', 'LOWERLAYERDOWN', 'TESTING', 'DORMANT', 'UP'] as const;
const LINK_TYPES = new Map<number, string>([
  [1, 'ether'],
  [772, 'loopback'],
  [776, 'sit'],
  [778, 'gre'],
  [65534, 'none'],
  [65535, 'void'],
]);
const SCOPES = new Map<number, string>([
  [0, 'global'],
  [200, 'site'],
  [253, 'link'],
  [254, 'host'],
  [255, 'nowhere'],
]);
const PROTOCOLS = new Map<number, string>([
  [0, 'unspec'],
  [1, 'redirect'],
  [2, 'kernel'],
  [3, 'boot'],
  [4, 'static'],
  [9, 'ra'],
  [16, 'dhcp'],
]);
const ROUTE_TYPES = ['unspec', 'unicast', 'local', 'broadcast', 'anycast', 'multicast', 'blackhole', 'unreachable', 'prohibit', 'throw', 'nat'] as const;
/** Routing tables by name (rt_tables). */
export const RT_TABLE = { main: 254, local: 255, default: 253 } as const;
/** RT_SCOPE_*; nowhere in a delete request matches a route of any scope. */
const RT_SCOPE = { universe: 0, link: 253, host: 254, nowhere: 255 } as const;
const RTN_UNICAST = 1;
const RTPROT_BOOT = 3;
const IFA_F_NODAD = 0x02;

const nameOf = (table: ReadonlyMap<number, string>, value: number) => table.get(value) ?? String(value);

/** A link: its name or its ifindex. */
export type LinkRef = string | number;

/** A network interface, as RTM_NEWLINK describes it. */
export interface Link {
  readonly index: number;
  readonly name: string;
  /** The link kind ('veth', 'bridge'), from IFLA_INFO_KIND; undefined for lo and hardware. */
  readonly kind: string | undefined;
  /** IFF_* flags. */
  readonly flags: number;
  /** The names of the flags that are set, as in IFF (RUNNING included). */
  readonly flagNames: readonly string[];
  /** Administratively up (IFF_UP). */
  readonly up: boolean;
  readonly mtu: number;
  /** RFC 2863 operational state: 'UP', 'DOWN', 'UNKNOWN', 'LOWERLAYERDOWN'... */
  readonly operstate: string;
  /** The hardware type as ip names it: 'ether', 'loopback', 'none'. */
  readonly linkType: string;
  /** The MAC address, lower case with colons. */
  readonly address: string | undefined;
  readonly broadcast: string | undefined;
  /** The bridge (or bond) it is a port of. */
  readonly masterIndex: number | undefined;
  readonly master: string | undefined;
  /** A veth's peer (IFLA_LINK); its index is in another namespace when `peerNetnsId` is set. */
  readonly peerIndex: number | undefined;
  readonly peerNetnsId: number | undefined;
  readonly qdisc: string | undefined;
  readonly txqlen: number | undefined;
  readonly group: number | undefined;
}

/** An address of a link, as RTM_NEWADDR describes it. */
export interface Address {
  readonly family: AddressFamily;
  readonly index: number;
  /** The link's name. */
  readonly link: string;
  /** The link's own address (IFA_LOCAL, or IFA_ADDRESS where there is no local one). */
  readonly address: string;
  readonly prefixLength: number;
  /** The other end of a point-to-point address, when it differs. */
  readonly peer: string | undefined;
  readonly broadcast: string | undefined;
  readonly scope: string;
  readonly label: string | undefined;
  /** IFA_F_* flags. */
  readonly flags: number;
}

/** A route, as RTM_NEWROUTE describes it. */
export interface Route {
  readonly family: AddressFamily;
  readonly table: number;
  /** As ip prints it: 'default', an address for a host route, or 'address/length'. */
  readonly destination: string;
  readonly prefixLength: number;
  readonly gateway: string | undefined;
  readonly index: number | undefined;
  /** The output link's name. */
  readonly device: string | undefined;
  readonly protocol: string;
  readonly scope: string;
  readonly type: string;
  readonly metric: number | undefined;
  readonly preferredSource: string | undefined;
}

/** What addRoute and deleteRoute take. */
export interface RouteSpec {
  /** 'default', or 'address/length' ('10.0.0.0/24'); an address alone is a host route. */
  readonly destination: string;
  readonly gateway?: string;
  readonly device?: LinkRef;
  /** The family of a 'default' route without a gateway. @defaultValue 'inet' */
  readonly family?: AddressFamily;
  /** @defaultValue 254 (main) */
  readonly table?: number;
  readonly metric?: number;
}

export interface LinkChanges {
  /** Up or down (IFF_UP). */
  readonly up?: boolean;
  readonly mtu?: number;
  /** Make it a port of this bridge; null takes it out of its bridge. */
  readonly master?: LinkRef | null;
  /** Move it into this network namespace (it leaves this one, and its addresses go). */
  readonly netns?: NetnsTarget;
  /** Rename it. */
  readonly name?: string;
}

export interface VethSpec {
  readonly name: string;
  readonly peer: string;
  readonly mtu?: number;
  /** Create the peer end right in this network namespace. */
  readonly peerNetns?: NetnsTarget;
}

export interface BridgeSpec {
  readonly name: string;
  readonly mtu?: number;
}

export interface RtnetlinkOptions {
  /** Open the socket in this network namespace (the caller's own by default): needs root. */
  readonly netns?: NetnsTarget;
  /** How long to wait for the kernel's answer before EAGAIN. @defaultValue 10000 */
  readonly timeoutMs?: number;
}

const IFNAMSIZ = 16;

function checkName(value: unknown, path: string): string {
  if (typeof value !== 'string' || value === '' || Buffer.byteLength(value) >= IFNAMSIZ || /[\s/:\0]/.test(value) || value === '.' || value === '..')
    throw invalidOptions(path, `expected an interface name of 1 to ${IFNAMSIZ - 1} bytes without spaces, "/" or ":"`);
  return value;
}

function checkMtu(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 68 || value > 65535) throw invalidOptions(path, 'expected a whole number from 68 to 65535');
  return value;
}

/** An IsoError for a refused request: the kernel's errno and its extended-ack message. */
export function netlinkError(ack: NetlinkAck, where: { step: string; request: string; call: string }): IsoError {
  const { name, text } = describeErrno(ack.errno);
  const isoCode: IsoErrorCode = ack.errno === 1 ? 'ISO_NEEDS_PRIVILEGE' : 'ISO_SYSCALL_FAILED';
  const said = ack.message === undefined || ack.message === '' ? '' : `: the kernel says "${ack.message}"`;
  const hint = ack.errno === 1 ? ' (rtnetlink changes need CAP_NET_ADMIN over the namespace)' : '';
  return new IsoError(isoCode, `${where.step}: ${where.call} failed: ${name} (${text})${said}${hint}`, {
    errnoCode: name,
    errno: -ack.errno,
    syscall: where.request,
    step: where.step,
    phase: 'in-process',
    cause: ack,
  });
}

/**
 * A link kind the kernel does not know ("Unknown device type", EOPNOTSUPP) is missing from
 * this kernel, or a module that was not loaded (module autoloading needs host root).
 */
function withKindHint<T>(kind: string, config: string, request: () => T): T {
  try {
    return request();
  } catch (error) {
    if (error instanceof IsoError && error.code === 'EOPNOTSUPP')
      throw withHint(error, 'ISO_UNSUPPORTED_KERNEL', `this kernel has no ${kind} links (${config}; as a module, load it with modprobe ${kind})`);
    throw error;
  }
}

const linkHead = (index = 0, flags = 0, change = 0) => ifinfomsgStruct.encode({ family: 0, type: 0, index, flags, change });

/**
 * A NETLINK_ROUTE socket and the requests it makes. The socket stays in the network
 * namespace it was opened in. Close it with close().
 */
export class Rtnetlink {
  readonly #fd: number;
  readonly #portId: number;
  #seq = Math.floor(Date.now() / 1000) & 0x7fffffff;
  #closed = false;
  readonly #buffer = Buffer.alloc(1 << 18);

  constructor(fd: number, portId: number) {
    this.#fd = fd;
    this.#portId = portId;
  }

  /** The socket's fd. */
  get fd(): number {
    return this.#fd;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeDescriptor(this.#fd, 'net.rtnetlink.close');
  }

  /**
   * Sends one request and gathers its replies until the ack (or a dump's end). A dump that
   * the kernel marks inconsistent (NLM_F_DUMP_INTR: the table changed meanwhile) is redone.
   */
  #request(step: string, type: number, flags: number, body: readonly Buffer[], call: string): Message[] {
    for (let attempt = 1; ; attempt++) {
      const { replies, interrupted } = this.#requestOnce(step, type, flags, body, call);
      if (attempt === 5 || !interrupted) return replies;
    }
  }

  #requestOnce(step: string, type: number, flags: number, body: readonly Buffer[], call: string): { replies: Message[]; interrupted: boolean } {
    if (this.#closed) throw new IsoError('ISO_INVALID_OPTIONS', `${step}: the rtnetlink socket is closed`, { phase: 'in-process', step });
    const seq = (this.#seq = (this.#seq + 1) & 0x7fffffff);
    const dump = (flags & NLM_F.DUMP) === NLM_F.DUMP;
    // A dump ends with NLMSG_DONE; anything else with an ack, asked for here.
    const request = encodeMessage({ type, flags: NLM_F.REQUEST | (dump ? 0 : NLM_F.ACK) | flags, seq, pid: this.#portId }, ...body);
    netlinkSend(this.#fd, request, step);
    const replies: Message[] = [];
    let interrupted = false;
    const where = { step, request: messageTypeName(type), call };
    for (;;) {
      const length = netlinkReceive(this.#fd, this.#buffer, step);
      for (const message of parseMessages(Buffer.from(this.#buffer.subarray(0, length)))) {
        // Replies to another request of this socket (one that timed out) are stale.
        if (message.seq !== seq) continue;
        interrupted ||= (message.flags & NLM_F.DUMP_INTR) !== 0;
        if (message.type === NLMSG.ERROR) {
          const ack = parseAck(message);
          if (ack.errno !== 0) throw netlinkError(ack, where);
          return { replies, interrupted };
        }
        if (message.type === NLMSG.DONE) {
          const done = parseDone(message);
          if (done.errno !== 0) throw netlinkError(done, where);
          return { replies, interrupted };
        }
        if (message.type === NLMSG.NOOP) continue;
        replies.push(message);
        if (dump && message.type === NLMSG.OVERRUN) throw new IsoError('ISO_SYSCALL_FAILED', `${step}: the kernel overran the dump`, { phase: 'in-process', step });
      }
    }
  }

  // ---------------------------------------------------------------------------- links

  /** Every link of the socket's namespace. */
  listLinks(): Link[] {
    const messages = this.#request('net.listLinks', RTM.GETLINK, NLM_F.DUMP, [linkHead()], 'RTM_GETLINK dump');
    return withMasterNames(messages.filter((m) => m.type === RTM.NEWLINK).map(parseLink));
  }

  /** One link, by name or index; ENODEV when there is none. */
  getLink(ref: LinkRef): Link {
    const body = typeof ref === 'number' ? [linkHead(checkIndex(ref, 'link'))] : [linkHead(), encodeAttributes([stringAttribute(IFLA.IFNAME, checkName(ref, 'link'))])];
    const [message] = this.#request('net.getLink', RTM.GETLINK, 0, body, `RTM_GETLINK ${JSON.stringify(ref)}`).filter((m) => m.type === RTM.NEWLINK);
    if (!message) throw new IsoError('ISO_SYSCALL_FAILED', `net.getLink: the kernel sent no link for ${JSON.stringify(ref)}`, { phase: 'in-process', step: 'net.getLink' });
    const link = parseLink(message);
    if (link.masterIndex === undefined) return link;
    return { ...link, master: this.#nameOfIndex(link.masterIndex) };
  }

  #nameOfIndex(index: number): string | undefined {
    try {
      const [message] = this.#request('net.getLink', RTM.GETLINK, 0, [linkHead(index)], `RTM_GETLINK ${index}`);
      return message ? parseLink(message).name : undefined;
    } catch {
      return undefined;
    }
  }

  #index(ref: LinkRef, path: string): number {
    if (typeof ref === 'number') return checkIndex(ref, path);
    checkName(ref, path);
    return this.getLink(ref).index;
  }

  /** A veth pair: two linked ends, `name` here and `peer` here or in `peerNetns`. Both start down. */
  createVeth(spec: VethSpec): void {
    const name = checkName(spec.name, 'veth.name');
    const peer = checkName(spec.peer, 'veth.peer');
    const peerAttributes: AttributeSpec[] = [stringAttribute(IFLA.IFNAME, peer)];
    if (spec.mtu !== undefined) peerAttributes.push(u32Attribute(IFLA.MTU, checkMtu(spec.mtu, 'veth.mtu')));
    this.#withNetnsAttribute(spec.peerNetns, 'veth.peerNetns', (netns) => {
      if (netns) peerAttributes.push(netns);
      const attributes: AttributeSpec[] = [stringAttribute(IFLA.IFNAME, name)];
      if (spec.mtu !== undefined) attributes.push(u32Attribute(IFLA.MTU, spec.mtu));
      attributes.push(
        nestedAttribute(IFLA.LINKINFO, [
          stringAttribute(IFLA_INFO.KIND, 'veth'),
          nestedAttribute(IFLA_INFO.DATA, [bytesAttribute(VETH_INFO_PEER, Buffer.concat([linkHead(), encodeAttributes(peerAttributes)]))]),
        ]),
      );
      withKindHint('veth', 'CONFIG_VETH', () =>
        this.#request('net.createVeth', RTM.NEWLINK, NLM_F.CREATE | NLM_F.EXCL, [linkHead(), encodeAttributes(attributes)], `RTM_NEWLINK veth ${JSON.stringify(name)} ↔ ${JSON.stringify(peer)}`),
      );
    });
  }

  /** A bridge, down, without ports. */
  createBridge(spec: BridgeSpec): void {
    const name = checkName(spec.name, 'bridge.name');
    const attributes: AttributeSpec[] = [stringAttribute(IFLA.IFNAME, name)];
    if (spec.mtu !== undefined) attributes.push(u32Attribute(IFLA.MTU, checkMtu(spec.mtu, 'bridge.mtu')));
    attributes.push(nestedAttribute(IFLA.LINKINFO, [stringAttribute(IFLA_INFO.KIND, 'bridge')]));
    withKindHint('bridge', 'CONFIG_BRIDGE', () =>
      this.#request('net.createBridge', RTM.NEWLINK, NLM_F.CREATE | NLM_F.EXCL, [linkHead(), encodeAttributes(attributes)], `RTM_NEWLINK bridge ${JSON.stringify(name)}`),
    );
  }

  /** Changes a link: up or down, MTU, master, name, namespace, in one request. */
  setLink(ref: LinkRef, changes: LinkChanges): void {
    if (typeof changes !== 'object' || changes === null) throw invalidOptions('changes', 'expected an object');
    for (const key of Object.keys(changes)) if (!['up', 'mtu', 'master', 'netns', 'name'].includes(key)) throw invalidOptions(`changes.${key}`, 'unknown option');
    const index = this.#index(ref, 'link');
    const attributes: AttributeSpec[] = [];
    let flags = 0;
    let change = 0;
    if (changes.up !== undefined) {
      if (typeof changes.up !== 'boolean') throw invalidOptions('changes.up', 'expected a boolean');
      flags = changes.up ? IFF.UP : 0;
      change = IFF.UP;
    }
    if (changes.mtu !== undefined) attributes.push(u32Attribute(IFLA.MTU, checkMtu(changes.mtu, 'changes.mtu')));
    if (changes.master !== undefined) attributes.push(u32Attribute(IFLA.MASTER, changes.master === null ? 0 : this.#index(changes.master, 'changes.master')));
    if (changes.name !== undefined) attributes.push(stringAttribute(IFLA.IFNAME, checkName(changes.name, 'changes.name')));
    this.#withNetnsAttribute(changes.netns, 'changes.netns', (netns) => {
      if (netns) attributes.push(netns);
      const what = Object.entries(changes)
        .map(([key, value]) => `${key}=${typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value)}`)
        .join(' ');
      this.#request('net.setLink', RTM.NEWLINK, 0, [linkHead(index, flags, change), encodeAttributes(attributes)], `RTM_NEWLINK ${JSON.stringify(ref)} ${what}`);
    });
  }

  /** Deletes a link (a veth takes its peer with it). */
  deleteLink(ref: LinkRef): void {
    const index = this.#index(ref, 'link');
    this.#request('net.deleteLink', RTM.DELLINK, 0, [linkHead(index)], `RTM_DELLINK ${JSON.stringify(ref)}`);
  }

  /** IFLA_NET_NS_PID for a pid, IFLA_NET_NS_FD for an fd or a path (opened for the request). */
  #withNetnsAttribute(target: NetnsTarget | undefined, path: string, send: (attribute: AttributeSpec | undefined) => void): void {
    if (target === undefined) {
      send(undefined);
      return;
    }
    if (typeof target === 'number' || (typeof target === 'object' && 'pid' in target)) {
      const pid = typeof target === 'number' ? target : target.pid;
      if (!Number.isInteger(pid) || pid <= 0) throw invalidOptions(path, 'expected a pid, a path, { pid } or { fd }');
      send(u32Attribute(IFLA.NET_NS_PID, pid));
      return;
    }
    const opened = openNetnsTarget(target, 'net.setLink', path);
    try {
      send(u32Attribute(IFLA.NET_NS_FD, opened.fd));
    } finally {
      if (opened.owned) closeDescriptor(opened.fd, 'net.setLink');
    }
  }

  // ---------------------------------------------------------------------------- addresses

  /** Every address of the socket's namespace, or of one family. */
  listAddresses(filter: { family?: AddressFamily } = {}): Address[] {
    const family = filter.family === undefined ? 0 : filter.family === 'inet' ? AF_INET : AF_INET6;
    const names = linkNames(this.listLinks());
    const messages = this.#request('net.listAddresses', RTM.GETADDR, NLM_F.DUMP, [ifaddrmsgStruct.encode({ family })], 'RTM_GETADDR dump');
    return messages.filter((m) => m.type === RTM.NEWADDR).map((m) => parseAddress(m, names));
  }

  /** Adds '10.0.0.1/24' or 'fd00::1/64' to a link. `noDad`: an IPv6 address usable at once. */
  addAddress(ref: LinkRef, prefix: string, options: { noDad?: boolean } = {}): void {
    this.#address('net.addAddress', RTM.NEWADDR, NLM_F.CREATE | NLM_F.EXCL, ref, prefix, options.noDad === true);
  }

  deleteAddress(ref: LinkRef, prefix: string): void {
    this.#address('net.deleteAddress', RTM.DELADDR, 0, ref, prefix, false);
  }

  #address(step: string, type: number, flags: number, ref: LinkRef, prefix: string, noDad: boolean): void {
    const parsed = parsePrefixOption(prefix, 'address');
    const index = this.#index(ref, 'link');
    const { bytes } = addressBytes(parsed.address);
    const head = ifaddrmsgStruct.encode({
      family: parsed.family === 'inet' ? AF_INET : AF_INET6,
      prefixlen: parsed.prefixLength,
      flags: 0,
      scope: isLoopbackAddress(parsed.address) ? RT_SCOPE.host : RT_SCOPE.universe,
      index,
    });
    // As ip does: IFA_LOCAL and IFA_ADDRESS both hold the address (no peer).
    const attributes: AttributeSpec[] = [bytesAttribute(IFA.LOCAL, bytes), bytesAttribute(IFA.ADDRESS, bytes)];
    if (noDad) attributes.push(u32Attribute(IFA.FLAGS, IFA_F_NODAD));
    this.#request(step, type, flags, [head, encodeAttributes(attributes)], `${messageTypeName(type)} ${prefix} on ${JSON.stringify(ref)}`);
  }

  // ---------------------------------------------------------------------------- routes

  /** Every route of the socket's namespace (all tables), or of one family or table. */
  listRoutes(filter: { family?: AddressFamily; table?: number } = {}): Route[] {
    const family = filter.family === undefined ? 0 : filter.family === 'inet' ? AF_INET : AF_INET6;
    const names = linkNames(this.listLinks());
    const messages = this.#request('net.listRoutes', RTM.GETROUTE, NLM_F.DUMP, [rtmsgStruct.encode({ family })], 'RTM_GETROUTE dump');
    const routes = messages.filter((m) => m.type === RTM.NEWROUTE).map((m) => parseRoute(m, names));
    return filter.table === undefined ? routes : routes.filter((route) => route.table === filter.table);
  }

  /** Adds a route, like `ip route add`: through a gateway, or straight to a link (scope link). */
  addRoute(route: RouteSpec): void {
    this.#route('net.addRoute', RTM.NEWROUTE, NLM_F.CREATE | NLM_F.EXCL, route);
  }

  deleteRoute(route: RouteSpec): void {
    this.#route('net.deleteRoute', RTM.DELROUTE, 0, route);
  }

  #route(step: string, type: number, flags: number, route: RouteSpec): void {
    if (typeof route !== 'object' || route === null) throw invalidOptions('route', 'expected an object');
    for (const key of Object.keys(route)) if (!['destination', 'gateway', 'device', 'family', 'table', 'metric'].includes(key)) throw invalidOptions(`route.${key}`, 'unknown option');
    const gateway = route.gateway === undefined ? undefined : addressOption(route.gateway, 'route.gateway');
    const destination =
      route.destination === 'default' ? { family: gateway?.family ?? route.family ?? 'inet', address: undefined, prefixLength: 0 } : parsePrefixOption(route.destination, 'route.destination');
    if (route.family !== undefined && route.family !== destination.family) throw invalidOptions('route.family', `the destination is ${destination.family}`);
    if (gateway && gateway.family !== destination.family) throw invalidOptions('route.gateway', `a ${gateway.family} gateway for a ${destination.family} destination`);
    if (gateway === undefined && route.device === undefined && type === RTM.NEWROUTE) throw invalidOptions('route', 'needs a gateway or a device');
    const table = route.table ?? RT_TABLE.main;
    if (!Number.isInteger(table) || table < 1 || table > 0xffffffff) throw invalidOptions('route.table', 'expected a table number from 1');
    const head = rtmsgStruct.encode({
      family: destination.family === 'inet' ? AF_INET : AF_INET6,
      dst_len: destination.prefixLength,
      table: table < 256 ? table : 252, // RT_TABLE_COMPAT: the real number is in RTA_TABLE
      protocol: type === RTM.NEWROUTE ? RTPROT_BOOT : 0,
      // A route without a gateway reaches its destination on the link itself.
      scope: type === RTM.DELROUTE ? RT_SCOPE.nowhere : gateway ? RT_SCOPE.universe : RT_SCOPE.link,
      type: type === RTM.NEWROUTE ? RTN_UNICAST : 0,
    });
    const attributes: AttributeSpec[] = [u32Attribute(RTA.TABLE, table)];
    if (destination.address !== undefined) attributes.push(bytesAttribute(RTA.DST, addressBytes(destination.address).bytes));
    if (gateway) attributes.push(bytesAttribute(RTA.GATEWAY, gateway.bytes));
    if (route.device !== undefined) attributes.push(u32Attribute(RTA.OIF, this.#index(route.device, 'route.device')));
    if (route.metric !== undefined) {
      if (!Number.isInteger(route.metric) || route.metric < 0 || route.metric > 0xffffffff) throw invalidOptions('route.metric', 'expected a whole number from 0');
      attributes.push(u32Attribute(RTA.PRIORITY, route.metric));
    }
    const via = `${gateway ? ` via ${route.gateway ?? ''}` : ''}${route.device === undefined ? '' : ` dev ${JSON.stringify(route.device)}`}`;
    this.#request(step, type, flags, [head, encodeAttributes(attributes)], `${messageTypeName(type)} ${route.destination}${via}`);
  }
}

/**
 * A NETLINK_ROUTE socket in the caller's network namespace, or in `netns` (the socket is
 * made there through withNetns, so that needs root). Extended acks are on, so a refused
 * request's IsoError carries the kernel's own words.
 */
export function openRtnetlink(options: RtnetlinkOptions = {}): Rtnetlink {
  if (typeof options !== 'object' || options === null) throw invalidOptions('options', 'expected an object');
  for (const key of Object.keys(options)) if (key !== 'netns' && key !== 'timeoutMs') throw invalidOptions(`options.${key}`, 'unknown option');
  const timeoutMs = options.timeoutMs ?? 10_000;
  if (typeof timeoutMs !== 'number' || !Number.isInteger(timeoutMs) || timeoutMs < 1) throw invalidOptions('options.timeoutMs', 'expected a whole number of milliseconds from 1');
  const open = () => openNetlinkSocket(timeoutMs);
  const { fd, portId } = options.netns === undefined ? open() : withNetns(options.netns, open);
  return new Rtnetlink(fd, portId);
}

// ---------------------------------------------------------------------------------------
// Parsing replies.

function checkIndex(value: number, path: string): number {
  if (!Number.isInteger(value) || value < 1 || value > 0x7fffffff) throw invalidOptions(path, 'expected a link name or an ifindex from 1');
  return value;
}

function parsePrefixOption(text: unknown, path: string): ReturnType<typeof parsePrefix> {
  if (typeof text !== 'string') throw invalidOptions(path, "expected 'address/length'");
  try {
    return parsePrefix(text);
  } catch (error) {
    throw invalidOptions(path, (error as Error).message);
  }
}

function addressOption(text: unknown, path: string): ReturnType<typeof addressBytes> {
  if (typeof text !== 'string') throw invalidOptions(path, 'expected an IP address');
  try {
    return addressBytes(text);
  } catch (error) {
    throw invalidOptions(path, (error as Error).message);
  }
}

const isLoopbackAddress = (address: string) => address === '::1' || address.startsWith('127.');

const macAddress = (data: Buffer) => Array.from(data, (byte) => byte.toString(16).padStart(2, '0')).join(':');

function flagNamesOf(flags: number): string[] {
  return Object.entries(IFF)
    .filter(([, bit]) => (flags & bit) !== 0)
    .map(([name]) => name);
}

/** A link from one RTM_NEWLINK message. */
export function parseLink(message: Message): Link {
  const head = ifinfomsgStruct.decode(message.payload);
  const attributes = attributeMap(parseAttributes(message.payload, ifinfomsgStruct.size));
  const u32 = (type: number) => {
    const data = attributes.get(type);
    return data && data.length >= 4 ? attributeU32(data) : undefined;
  };
  const text = (type: number) => {
    const data = attributes.get(type);
    return data ? attributeString(data) : undefined;
  };
  const info = attributes.get(IFLA.LINKINFO);
  const kind = info ? attributeMap(parseAttributes(info)).get(IFLA_INFO.KIND) : undefined;
  const operstate = attributes.get(IFLA.OPERSTATE)?.[0] ?? 0;
  const mac = attributes.get(IFLA.ADDRESS);
  const broadcast = attributes.get(IFLA.BROADCAST);
  const netnsId = attributes.get(IFLA.LINK_NETNSID);
  const master = u32(IFLA.MASTER);
  return {
    index: head.index,
    name: text(IFLA.IFNAME) ?? '',
    kind: kind ? attributeString(kind) : undefined,
    flags: head.flags,
    flagNames: flagNamesOf(head.flags),
    up: (head.flags & IFF.UP) !== 0,
    mtu: u32(IFLA.MTU) ?? 0,
    operstate: OPERSTATES[operstate] ?? String(operstate),
    linkType: nameOf(LINK_TYPES, head.type),
    address: mac && mac.length > 0 ? macAddress(mac) : undefined,
    broadcast: broadcast && broadcast.length > 0 ? macAddress(broadcast) : undefined,
    masterIndex: master === undefined || master === 0 ? undefined : master,
    master: undefined,
    // A link's IFLA_LINK equal to its own index says nothing (lo, a bridge).
    peerIndex: u32(IFLA.LINK) === head.index ? undefined : u32(IFLA.LINK),
    peerNetnsId: netnsId && netnsId.length >= 4 ? netnsId.readInt32LE(0) : undefined,
    qdisc: text(IFLA.QDISC),
    txqlen: u32(IFLA.TXQLEN),
    group: u32(IFLA.GROUP),
  };
}

function withMasterNames(links: Link[]): Link[] {
  const names = linkNames(links);
  return links.map((link) => (link.masterIndex === undefined ? link : { ...link, master: names.get(link.masterIndex) }));
}

const linkNames = (links: readonly Link[]) => new Map(links.map((link) => [link.index, link.name]));

const familyName = (family: number): AddressFamily => (family === AF_INET6 ? 'inet6' : 'inet');

/** An address from one RTM_NEWADDR message; `names` maps ifindex to link name. */
export function parseAddress(message: Message, names: ReadonlyMap<number, string> = new Map()): Address {
  const head = ifaddrmsgStruct.decode(message.payload);
  const attributes = attributeMap(parseAttributes(message.payload, ifaddrmsgStruct.size));
  const local = attributes.get(IFA.LOCAL);
  const address = attributes.get(IFA.ADDRESS);
  const own = local ?? address;
  const peer = local && address && !local.equals(address) ? formatAddress(address) : undefined;
  const flags = attributes.get(IFA.FLAGS);
  const broadcast = attributes.get(IFA.BROADCAST);
  const label = attributes.get(IFA.LABEL);
  return {
    family: familyName(head.family),
    index: head.index,
    link: names.get(head.index) ?? '',
    address: own ? formatAddress(own) : '',
    prefixLength: head.prefixlen,
    peer,
    broadcast: broadcast ? formatAddress(broadcast) : undefined,
    scope: nameOf(SCOPES, head.scope),
    label: label ? attributeString(label) : undefined,
    flags: flags && flags.length >= 4 ? attributeU32(flags) : head.flags,
  };
}

/** A route from one RTM_NEWROUTE message; `names` maps ifindex to link name. */
export function parseRoute(message: Message, names: ReadonlyMap<number, string> = new Map()): Route {
  const head = rtmsgStruct.decode(message.payload);
  const attributes = attributeMap(parseAttributes(message.payload, rtmsgStruct.size));
  const family = familyName(head.family);
  const dst = attributes.get(RTA.DST);
  const full = family === 'inet' ? 32 : 128;
  const destination = dst === undefined && head.dst_len === 0 ? 'default' : `${formatAddress(dst ?? Buffer.alloc(full / 8))}${head.dst_len === full ? '' : `/${head.dst_len}`}`;
  const gateway = attributes.get(RTA.GATEWAY);
  const oif = attributes.get(RTA.OIF);
  const index = oif && oif.length >= 4 ? attributeU32(oif) : undefined;
  const table = attributes.get(RTA.TABLE);
  const metric = attributes.get(RTA.PRIORITY);
  const prefsrc = attributes.get(RTA.PREFSRC);
  return {
    family,
    table: table && table.length >= 4 ? attributeU32(table) : head.table,
    destination,
    prefixLength: head.dst_len,
    gateway: gateway ? formatAddress(gateway) : undefined,
    index,
    device: index === undefined ? undefined : names.get(index),
    protocol: nameOf(PROTOCOLS, head.protocol),
    scope: nameOf(SCOPES, head.scope),
    type: ROUTE_TYPES[head.type] ?? String(head.type),
    metric: metric && metric.length >= 4 ? attributeU32(metric) : undefined,
    preferredSource: prefsrc ? formatAddress(prefsrc) : undefined,
  };
}

