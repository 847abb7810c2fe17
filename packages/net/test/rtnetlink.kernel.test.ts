import { execFileSync } from 'node:child_process';
import { existsSync, readlinkSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { guardNoLeaks, isRoot } from '@iso/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { RT_TABLE, openRtnetlink, withNetns } from '../src/index.js';
import type { Link } from '../src/index.js';
import {
  addressesAsIp,
  endHolder,
  hostTestLinks,
  ipAddressShape,
  ipJson,
  ipLinksShape,
  ipRouteShape,
  linksAsIp,
  namespaceHolder,
  plain,
  routesAsIp,
} from './helpers.js';
import type { IpAddressLink, IpLink, IpRoute } from './helpers.js';

const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url));
const scenario = fileURLToPath(new URL('./fixtures/rtnetlink-scenario.mjs', import.meta.url));

interface Phase {
  links: Link[];
  addresses: Parameters<typeof addressesAsIp>[0];
  routes: Parameters<typeof routesAsIp>[0];
  ip: { links: IpLink[]; addresses: IpAddressLink[]; routes: IpRoute[]; routes6: IpRoute[] };
}
interface ErrorRecord {
  message: string;
  code: string;
  isoCode: string;
  errno?: number;
  syscall?: string;
  step?: string;
  cause?: { errno: number; message?: string };
}
interface Scenario {
  phases: Record<'start' | 'created' | 'configured' | 'detached' | 'deletedRoute' | 'end', Phase>;
  errors: Record<'gateway' | 'exists' | 'noDevice' | 'badName' | 'unknownChange' | 'badMtu' | 'noVia' | 'mixedFamilies' | 'badPrefix' | 'badNetns', ErrorRecord>;
  moved: { here: string[]; there: Link[]; ipThere: IpLink[]; peer: Link };
  movedBack: string[];
  movedByFd: { here: string[]; there: string[] };
  vethAcross: { here: string[]; there: string[] };
  vethDeleted: { here: string[]; there: string[] };
  withNetns: Record<'inside' | 'otherId' | 'afterThrow' | 'afterPromise' | 'before', string> & Record<'thrown' | 'asyncFunction' | 'promise' | 'notNetns', ErrorRecord>;
  closed: ErrorRecord;
}

/** Each dump agrees with ip -j on the same namespace at the same moment. */
function expectDumpsMatchIp(phase: Phase): void {
  expect(linksAsIp(phase.links)).toEqual(ipLinksShape(phase.ip.links));
  expect(plain(addressesAsIp(phase.addresses))).toEqual(plain(ipAddressShape(phase.ip.addresses)));
  expect(plain(routesAsIp(phase.routes, 'inet'))).toEqual(plain(ipRouteShape(phase.ip.routes)));
  expect(plain(routesAsIp(phase.routes, 'inet6'))).toEqual(plain(ipRouteShape(phase.ip.routes6)));
}

const names = (links: readonly Link[]) => links.map((link) => link.name).sort();

let scenarioRecord: Scenario | undefined;
/** Runs the scenario once for the tests that read its record. */
function runScenario(): Scenario {
  if (!existsSync(dist)) throw new Error(`${dist} is missing: build @iso/net first (npx tsup in packages/net)`);
  // Node runs as root of a user namespace of its own with a network namespace of its own,
  // so it may change that namespace: the client works in the caller's namespace.
  scenarioRecord ??= JSON.parse(execFileSync('unshare', ['--user', '--map-root-user', '--net', process.execPath, scenario, dist], { encoding: 'utf8' })) as Scenario;
  return scenarioRecord;
}

describe('the rtnetlink client, in a user and network namespace of its own (root and rootless alike)', () => {
  guardNoLeaks();
  afterEach(() => {
    expect(hostTestLinks()).toEqual([]);
  });

  it('creates, changes, moves and deletes veths and bridges, addresses and routes; every dump matches ip -j', () => {
    const record = runScenario();
    const { phases } = record;
    for (const phase of Object.values(phases)) expectDumpsMatchIp(phase);

    expect(names(phases.start.links)).toEqual(['lo']);
    expect(names(phases.created.links)).toEqual(['iso-br0', 'iso-v0', 'iso-v1', 'lo']);
    const created = (name: string) => phases.created.links.find((l) => l.name === name);
    expect(created('iso-v0')).toMatchObject({ kind: 'veth', up: false, linkType: 'ether' });
    expect(created('iso-v0')?.peerIndex).toBe(created('iso-v1')?.index);
    expect(created('iso-br0')).toMatchObject({ kind: 'bridge', mtu: 1450, up: false });

    const link = (name: string) => phases.configured.links.find((l) => l.name === name);
    expect(link('iso-v0')).toMatchObject({ up: true, mtu: 1400, master: 'iso-br0', masterIndex: link('iso-br0')?.index });
    expect(link('iso-br0')).toMatchObject({ up: true });
    expect(link('iso-v1')).toMatchObject({ up: true, mtu: 1400, operstate: 'UP' });
    const addresses = phases.configured.addresses.filter((a) => a.scope === 'global').map((a) => `${a.link} ${a.address}/${a.prefixLength}`);
    expect(addresses.sort()).toEqual(['iso-br0 10.77.0.1/24', 'iso-br0 fd77::1/64', 'iso-v1 10.78.0.2/24']);
    const routes = phases.configured.routes.filter((r) => r.protocol === 'boot').map((r) => `${r.destination} ${r.gateway ?? '-'} ${r.device ?? '-'} ${r.scope} ${r.metric ?? '-'}`);
    expect(routes.sort()).toEqual([
      '10.88.0.0/16 10.77.0.254 iso-br0 global -',
      '10.99.1.1 - iso-v1 link -',
      'default 10.77.0.254 iso-br0 global 50',
      'default fd77::fe iso-br0 global 1024',
      'fd88::/64 - iso-br0 global 1024',
    ]);
    expect(phases.configured.routes.every((r) => r.table === RT_TABLE.main)).toBe(true);

    const detached = phases.detached.links.find((l) => l.name === 'iso-v0');
    expect(detached).toMatchObject({ up: false });
    expect(detached?.master).toBeUndefined();

    // Moved by pid, back by path, and again by fd; a peer created right in the other namespace.
    expect(record.moved.here.sort()).toEqual(['iso-br0', 'iso-v0', 'lo']);
    expect(names(record.moved.there)).toEqual(['iso-v1', 'lo']);
    expect(linksAsIp(record.moved.there)).toEqual(ipLinksShape(record.moved.ipThere));
    expect(record.moved.peer.peerNetnsId).toBeTypeOf('number');
    expect(record.movedBack.sort()).toEqual(['iso-br0', 'iso-v0', 'iso-v1', 'lo']);
    expect(record.movedByFd.here.sort()).toEqual(['iso-br0', 'iso-v0', 'lo']);
    expect(record.movedByFd.there.sort()).toEqual(['iso-v1', 'lo']);
    expect(record.vethAcross.here).toContain('iso-w0');
    expect(record.vethAcross.there.sort()).toEqual(['iso-v1', 'iso-w1', 'lo']);
    expect(record.vethDeleted.here).not.toContain('iso-w0');
    expect(record.vethDeleted.there).toEqual(['lo']);

    // The two deleted routes are gone; 10.99.1.1 and 10.78.0.2 went with iso-v1's moves
    // (a link that changes namespace loses its addresses and routes).
    expect(phases.deletedRoute.routes.filter((r) => r.family === 'inet' && r.protocol === 'boot')).toEqual([]);
    expect(phases.deletedRoute.routes.filter((r) => r.protocol === 'boot').map((r) => r.destination).sort()).toEqual(['default', 'fd88::/64']);
    expect(phases.deletedRoute.addresses.filter((a) => a.scope === 'global').map((a) => a.address)).toEqual(['fd77::1']);
    // Deleting one end of a veth deletes the other.
    expect(names(phases.end.links)).toEqual(['lo']);
    expect(record.closed).toMatchObject({ isoCode: 'ISO_INVALID_OPTIONS', step: 'net.listLinks' });
  });

  it("a refused request carries the kernel's errno and its extended-ack message", () => {
    const { errors } = runScenario();
    expect(errors.gateway).toMatchObject({
      isoCode: 'ISO_SYSCALL_FAILED',
      code: 'ENETUNREACH',
      errno: -101,
      syscall: 'RTM_NEWROUTE',
      step: 'net.addRoute',
      cause: { errno: 101, message: 'Nexthop has invalid gateway' },
    });
    expect(errors.gateway.message).toBe('net.addRoute: RTM_NEWROUTE 10.99.0.0/16 via 10.200.0.1 failed: ENETUNREACH (Network is unreachable): the kernel says "Nexthop has invalid gateway"');
    expect(errors.exists).toMatchObject({ code: 'EEXIST', errno: -17, syscall: 'RTM_NEWLINK', step: 'net.createBridge' });
    expect(errors.noDevice).toMatchObject({ code: 'ENODEV', syscall: 'RTM_GETLINK' });
    // Bad input is refused before anything is sent.
    expect(errors.badName).toMatchObject({ isoCode: 'ISO_INVALID_OPTIONS' });
    expect(errors.badName.message).toContain('bridge.name');
    for (const [key, path] of [
      ['unknownChange', 'changes.speed'],
      ['badMtu', 'changes.mtu'],
      ['noVia', 'route'],
      ['mixedFamilies', 'route.gateway'],
      ['badPrefix', 'address'],
      ['badNetns', 'changes.netns'],
    ] as const)
      expect(errors[key], key).toMatchObject({ isoCode: 'ISO_INVALID_OPTIONS', message: expect.stringContaining(`invalid option ${path}:`) });
  });

  it('withNetns runs fn inside, always comes back (also after a throw), and refuses async functions', () => {
    const { withNetns: w } = runScenario();
    expect(w.inside).toBe(w.otherId);
    expect(w.inside).not.toBe(w.before);
    expect(w.thrown.message).toBe('thrown inside');
    expect(w.afterThrow).toBe(w.before);
    expect(w.asyncFunction).toMatchObject({ isoCode: 'ISO_INVALID_OPTIONS' });
    expect(w.asyncFunction.message).toContain('must be synchronous');
    expect(w.promise).toMatchObject({ isoCode: 'ISO_INVALID_OPTIONS' });
    expect(w.afterPromise).toBe(w.before);
    expect(w.notNetns).toMatchObject({ isoCode: 'ISO_INVALID_OPTIONS', code: 'EINVAL', syscall: 'setns' });
  });
});

describe('the rtnetlink client in this process', () => {
  guardNoLeaks();
  afterEach(() => {
    expect(hostTestLinks()).toEqual([]);
  });

  it("dumps the caller's own namespace as ip -j does (reading only)", () => {
    const socket = openRtnetlink();
    try {
      expect(linksAsIp(socket.listLinks())).toEqual(ipLinksShape(ipJson<IpLink>(['-d', 'link'])));
      expect(plain(addressesAsIp(socket.listAddresses()))).toEqual(plain(ipAddressShape(ipJson<IpAddressLink>(['addr']))));
      const routes = socket.listRoutes({ table: RT_TABLE.main });
      expect(plain(routesAsIp(routes, 'inet'))).toEqual(plain(ipRouteShape(ipJson<IpRoute>(['route']))));
      expect(plain(routesAsIp(routes, 'inet6'))).toEqual(plain(ipRouteShape(ipJson<IpRoute>(['-6', 'route']))));
    } finally {
      socket.close();
    }
  });

  it.runIf(isRoot)('as root, opens a socket in a namespace made for the test through withNetns, and plumbs a veth there', async () => {
    const holder = await namespaceHolder(['--net']);
    const own = readlinkSync('/proc/thread-self/ns/net');
    try {
      const socket = openRtnetlink({ netns: holder.pid });
      expect(readlinkSync('/proc/thread-self/ns/net')).toBe(own);
      try {
        socket.createVeth({ name: 'iso-t0', peer: 'iso-t1', mtu: 1300 });
        socket.setLink('iso-t0', { up: true });
        socket.addAddress('iso-t0', '10.66.0.1/30');
        expect(linksAsIp(socket.listLinks())).toEqual(ipLinksShape(ipJson<IpLink>(['-d', 'link'], holder.pid)));
        expect(plain(addressesAsIp(socket.listAddresses()))).toEqual(plain(ipAddressShape(ipJson<IpAddressLink>(['addr'], holder.pid))));
        expect(hostTestLinks()).toEqual([]);
        socket.deleteLink('iso-t1');
        expect(names(socket.listLinks())).toEqual(['lo']);
      } finally {
        socket.close();
      }
    } finally {
      await endHolder(holder);
    }
  });

  it.runIf(!isRoot)('rootless, joining another network namespace is refused with ISO_NEEDS_PRIVILEGE, and the thread stays home', async () => {
    // The kernel refuses setns from a caller without CAP_SYS_ADMIN in its own user namespace.
    const holder = await namespaceHolder(['--user', '--map-root-user', '--net']);
    const own = readlinkSync('/proc/thread-self/ns/net');
    try {
      expect(() => openRtnetlink({ netns: holder.pid })).toThrow(expect.objectContaining({ isoCode: 'ISO_NEEDS_PRIVILEGE', code: 'EPERM', syscall: 'setns', step: 'net.withNetns' }));
      expect(() => withNetns(holder.pid, () => 1)).toThrow(expect.objectContaining({ isoCode: 'ISO_NEEDS_PRIVILEGE' }));
      expect(readlinkSync('/proc/thread-self/ns/net')).toBe(own);
    } finally {
      await endHolder(holder);
    }
  });

  it.runIf(!isRoot)("rootless, a change in the host's own namespace is refused by the kernel with ISO_NEEDS_PRIVILEGE", () => {
    // As root this request would really create a bridge on the host, which tests never do.
    const socket = openRtnetlink();
    try {
      expect(() => {
        socket.createBridge({ name: 'iso-denied' });
      }).toThrow(expect.objectContaining({ isoCode: 'ISO_NEEDS_PRIVILEGE', code: 'EPERM', syscall: 'RTM_NEWLINK' }));
    } finally {
      socket.close();
    }
  });

  it('withNetns refuses a bad target and a non-function before it moves', () => {
    const own = readlinkSync('/proc/thread-self/ns/net');
    for (const target of [0, -1, 1.5, 'relative/path', { pid: 0 }, { fd: -1 }, { pid: 1, fd: 2 }, null, []])
      expect(() => withNetns(target as never, () => 1)).toThrow(expect.objectContaining({ isoCode: 'ISO_INVALID_OPTIONS', path: 'target' }));
    expect(() => withNetns('/proc/self/ns/net', 'nope' as never)).toThrow(expect.objectContaining({ isoCode: 'ISO_INVALID_OPTIONS', path: 'withNetns.fn' }));
    expect(() => withNetns('/nonexistent/ns', () => 1)).toThrow(expect.objectContaining({ code: 'ENOENT', step: 'net.withNetns' }));
    expect(readlinkSync('/proc/thread-self/ns/net')).toBe(own);
  });
});
