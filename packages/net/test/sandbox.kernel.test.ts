import { randomBytes } from 'node:crypto';
import { readFileSync, readlinkSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import type { Server } from 'node:net';
import { mountFeature } from '@iso/mount';
import { pidFeature } from '@iso/pid';
import { TEST_PATH, composeProgram, guardNoLeaks, isRoot, runProgram, runScript } from '@iso/test-kit';
import { usernsFeature } from '@iso/userns';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { netFeature } from '../src/index.js';
import { hostTestLinks } from './helpers.js';
import type { IpLink } from './helpers.js';

// Tries, from inside, the host's loopback TCP server, the host's abstract unix socket, and
// a loopback server of its own. Prints what each connect gave: 'connected' or the errno.
const REACH = `
const net = require('node:net');
const [port, name] = process.argv.slice(1);
const attempt = (options) => new Promise((resolve) => {
  const socket = net.connect(options);
  socket.once('connect', () => { socket.destroy(); resolve('connected'); });
  socket.once('error', (error) => resolve(error.code));
});
(async () => {
  const tcp = await attempt({ host: '127.0.0.1', port: Number(port) });
  const abstract = await attempt({ path: '\\0' + name });
  const server = net.createServer((socket) => socket.end()).listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const own = await attempt({ host: '127.0.0.1', port: server.address().port });
  server.close();
  console.log(JSON.stringify({ tcp, abstract, own }));
})();
`;

const FEATURES = [netFeature, usernsFeature];

function attempt(options: { host: string; port: number } | { path: string }): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(options);
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      resolve(error.code ?? 'error');
    });
  });
}

function listen(server: Server, where: { port: number; host: string } | { path: string }): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(where, () => {
      resolve();
    });
  });
}

describe('the net feature on the kernel', () => {
  guardNoLeaks();
  let tcp: Server;
  let abstract: Server;
  let port = 0;
  let name = '';

  beforeEach(async () => {
    name = `iso-net-test-${randomBytes(6).toString('hex')}`;
    tcp = createServer((socket) => socket.end());
    abstract = createServer((socket) => socket.end());
    await listen(tcp, { port: 0, host: '127.0.0.1' });
    await listen(abstract, { path: `\0${name}` });
    const address = tcp.address();
    port = typeof address === 'object' && address !== null ? address.port : 0;
  });
  afterEach(async () => {
    await Promise.all([tcp, abstract].map((server) => new Promise((resolve) => server.close(resolve))));
    expect(hostTestLinks()).toEqual([]);
  });

  const reach = (features: Parameters<typeof composeProgram>[0], options: Record<string, unknown>) =>
    runProgram(composeProgram(features, options, { file: process.execPath, args: ['-e', REACH, String(port), name], env: { PATH: TEST_PATH } }));

  it("'none': only lo exists, and it is up, in a network namespace of its own", async () => {
    const out = await runScript(FEATURES, { net: 'none' }, 'ip -j link; readlink /proc/self/ns/net');
    expect(out.error).toBeUndefined();
    expect(out.code).toBe(0);
    const [links = '[]', ns] = out.stdout.trim().split('\n');
    const parsed = JSON.parse(links) as IpLink[];
    expect(parsed.map((link) => link.ifname)).toEqual(['lo']);
    expect(parsed[0]?.flags).toEqual(expect.arrayContaining(['LOOPBACK', 'UP', 'LOWER_UP']));
    expect(ns).not.toBe(readlinkSync('/proc/self/ns/net'));
  });

  it("'none' (and true): the host's loopback server and abstract unix socket are out of reach; its own loopback works", async () => {
    for (const option of ['none', true, { mode: 'none' }]) {
      const out = await reach(FEATURES, { net: option });
      expect(out.error).toBeUndefined();
      expect(JSON.parse(out.stdout)).toEqual({ tcp: 'ECONNREFUSED', abstract: 'ECONNREFUSED', own: 'connected' });
    }
  });

  it("'none': /proc/net/unix inside does not list the host's sockets", async () => {
    expect(readFileSync('/proc/net/unix', 'utf8')).toContain(`@${name}`);
    const out = await runScript(FEATURES, { net: 'none' }, 'cat /proc/net/unix');
    expect(out.error).toBeUndefined();
    expect(out.stdout).not.toContain(name);
    // Only the header line: no socket of the host at all.
    expect(out.stdout.trim().split('\n')).toHaveLength(1);
  });

  /** What Node itself gets from the same connects: 'host' must see exactly that. */
  const fromHere = async () => ({ tcp: await attempt({ host: '127.0.0.1', port }), abstract: await attempt({ path: `\0${name}` }) });

  it("'host': shares the host's network, so both servers are reachable as from the host itself", async () => {
    const here = await fromHere();
    // The caller's own loopback is up here (kernel-lab's guest has it down: then both sides see ENETUNREACH).
    expect(here.abstract).toBe('connected');
    const out = await reach(FEATURES, { net: 'host' });
    expect(out.error).toBeUndefined();
    expect(JSON.parse(out.stdout)).toMatchObject(here);
    const ns = await runScript(FEATURES, { net: { mode: 'host' } }, 'readlink /proc/self/ns/net');
    expect(ns.stdout.trim()).toBe(readlinkSync('/proc/self/ns/net'));
  });

  it("'host' with other namespaces (user, PID, mount) still shares the host's network", async () => {
    const here = await fromHere();
    const out = await reach([pidFeature, mountFeature, netFeature, usernsFeature], { pid: true, net: 'host' });
    expect(out.error).toBeUndefined();
    expect(JSON.parse(out.stdout)).toMatchObject(here);
  });

  it("'none' composed with user, PID and mount namespaces: only lo, up; nothing of the host reachable or listed", async () => {
    const features = [pidFeature, mountFeature, netFeature, usernsFeature];
    const out = await runScript(features, { pid: true, net: true }, 'ip -j link; echo $$; grep -c . /proc/net/unix; cat /proc/self/uid_map');
    expect(out.error).toBeUndefined();
    const [links = '[]', pid, unixLines, uidMap] = out.stdout.trim().split('\n');
    const parsed = JSON.parse(links) as IpLink[];
    expect(parsed.map((link) => [link.ifname, link.flags.includes('UP')])).toEqual([['lo', true]]);
    expect(pid).toBe('2');
    expect(unixLines).toBe('1');
    expect(uidMap?.trim().split(/\s+/)[0]).toBe('0');
    const reached = await reach(features, { pid: true, net: true });
    expect(JSON.parse(reached.stdout)).toEqual({ tcp: 'ECONNREFUSED', abstract: 'ECONNREFUSED', own: 'connected' });
  });

  it.runIf(isRoot)('as root without a user namespace (userns: false), lo still comes up', async () => {
    const out = await runScript(FEATURES, { net: 'none', userns: false }, 'ip -j link');
    expect(out.error).toBeUndefined();
    const parsed = JSON.parse(out.stdout) as IpLink[];
    expect(parsed.map((link) => [link.ifname, link.flags.includes('UP')])).toEqual([['lo', true]]);
  });

  it.runIf(!isRoot)('rootless without a user namespace: refused before anything runs, and by the kernel with ISO_NEEDS_PRIVILEGE when no userns feature is there', async () => {
    // The userns feature refuses userns: false for a caller that is not root.
    expect(() => composeProgram(FEATURES, { net: 'none', userns: false })).toThrow(expect.objectContaining({ isoCode: 'ISO_INVALID_OPTIONS', path: 'userns' }));
    // Composed without it, the kernel refuses the unshare; refineError says what to change.
    const out = await runScript([netFeature], { net: 'none' }, 'true');
    expect(out.error).toMatchObject({ step: 'net.unshare', code: 'EPERM', syscall: 'unshare' });
    const refined = netFeature.refineError?.(out.error!, { mode: 'none' });
    expect(refined).toMatchObject({ isoCode: 'ISO_NEEDS_PRIVILEGE', code: 'EPERM', step: 'net.unshare' });
    expect(refined?.message).toContain('userns: true');
  });

  it('off unless the net key is given: the host network, and no net steps', async () => {
    const out = await runScript(FEATURES, {}, 'readlink /proc/self/ns/net');
    expect(out.stdout.trim()).toBe(readlinkSync('/proc/self/ns/net'));
    expect(composeProgram(FEATURES, {}).steps.some((step) => step.name.startsWith('net.'))).toBe(false);
  });
});
