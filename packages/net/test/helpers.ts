// What the kernel tests of @iso/net share: `ip -j` as the oracle, namespaces made for the
// test (never the host's own for changes), and a check that no test link reached the host.
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import type { Address, Link, Route } from '../src/index.js';

export interface IpLink {
  ifindex: number;
  ifname: string;
  flags: string[];
  mtu: number;
  operstate: string;
  link_type: string;
  address?: string;
  master?: string;
  linkinfo?: { info_kind?: string };
}
export interface IpAddressLink {
  ifindex: number;
  ifname: string;
  addr_info: { family: string; local: string; prefixlen: number; scope: string; label?: string; broadcast?: string }[];
}
export interface IpRoute {
  dst: string;
  gateway?: string;
  dev?: string;
  protocol?: string;
  scope?: string;
  metric?: number;
  prefsrc?: string;
  type?: string;
}

/** `ip -j ARGS` in this process's network namespace, or in `pid`'s through nsenter. */
export function ipJson<T>(args: readonly string[], pid?: number): T[] {
  const text =
    pid === undefined ? execFileSync('ip', ['-j', ...args], { encoding: 'utf8' }) : execFileSync('nsenter', [`--net=/proc/${pid}/ns/net`, 'ip', '-j', ...args], { encoding: 'utf8' });
  return JSON.parse(text.trim() === '' ? '[]' : text) as T[];
}

/**
 * Links as ip prints them, from ours: RUNNING left out, NO-CARRIER for up without it, and
 * M-DOWN when the link's IFLA_LINK (a veth's peer in this namespace) names no link that is up
 * in this dump (ip 6.1 leaves it out for a peer in another namespace).
 */
export function linksAsIp(links: readonly Link[]): Record<string, unknown>[] {
  const up = new Map(links.map((link) => [link.index, link.up]));
  return links.map((link) => plain(linkAsIp(link, link.peerIndex !== undefined && link.peerNetnsId === undefined && up.get(link.peerIndex) !== true)));
}

function linkAsIp(link: Link, peerDown: boolean): Record<string, unknown> {
  const flags = link.flagNames.filter((name) => name !== 'RUNNING');
  if (link.up && !link.flagNames.includes('RUNNING')) flags.push('NO-CARRIER');
  if (peerDown) flags.push('M-DOWN');
  return {
    ifindex: link.index,
    ifname: link.name,
    flags: flags.sort(),
    mtu: link.mtu,
    operstate: link.operstate,
    link_type: link.linkType,
    address: link.address,
    master: link.master,
    kind: link.kind,
  };
}

export function ipLinksShape(links: readonly IpLink[]): Record<string, unknown>[] {
  return links.map((link) => plain(ipLinkShape(link)));
}

function ipLinkShape(link: IpLink): Record<string, unknown> {
  return {
    ifindex: link.ifindex,
    ifname: link.ifname,
    flags: [...link.flags].sort(),
    mtu: link.mtu,
    operstate: link.operstate,
    link_type: link.link_type,
    address: link.address,
    master: link.master,
    kind: link.linkinfo?.info_kind,
  };
}

const byKey = (a: Record<string, unknown>, b: Record<string, unknown>) => JSON.stringify(a).localeCompare(JSON.stringify(b));

export function addressesAsIp(addresses: readonly Address[]): Record<string, unknown>[] {
  return addresses.map((a) => ({ ifindex: a.index, family: a.family, local: a.address, prefixlen: a.prefixLength, scope: a.scope, label: a.label, broadcast: a.broadcast })).sort(byKey);
}

export function ipAddressShape(links: readonly IpAddressLink[]): Record<string, unknown>[] {
  return links
    .flatMap((link) => link.addr_info.map((a) => ({ ifindex: link.ifindex, family: a.family, local: a.local, prefixlen: a.prefixlen, scope: a.scope, label: a.label, broadcast: a.broadcast })))
    .sort(byKey);
}

/** Routes of the main table as ip prints them: protocol 'boot' and scope 'global' are the defaults it leaves out. */
export function routesAsIp(routes: readonly Route[], family: 'inet' | 'inet6'): Record<string, unknown>[] {
  return routes
    .filter((r) => r.family === family && r.table === 254)
    .map((r) => ({ dst: r.destination, gateway: r.gateway, dev: r.device, protocol: r.protocol, scope: r.scope, metric: r.metric, prefsrc: r.preferredSource }))
    .sort(byKey);
}

export function ipRouteShape(routes: readonly IpRoute[]): Record<string, unknown>[] {
  return routes
    .map((r) => ({ dst: r.dst, gateway: r.gateway, dev: r.dev, protocol: r.protocol ?? 'boot', scope: r.scope ?? 'global', metric: r.metric, prefsrc: r.prefsrc }))
    .sort(byKey);
}

/** Drops undefined fields, as JSON does. */
export const plain = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

/** The links of the host's own namespace whose names tests use. Must stay empty. */
export function hostTestLinks(): string[] {
  return ipJson<IpLink>(['link']).map((l) => l.ifname).filter((name) => name.startsWith('iso-'));
}

/** `unshare ARGS sleep 600`, once it is in its new network namespace; kill it by pid after. */
export async function namespaceHolder(args: readonly string[]): Promise<ChildProcess & { pid: number }> {
  const child = spawn('unshare', [...args, 'sleep', '600'], { stdio: 'ignore' });
  const pid = child.pid;
  if (pid === undefined) throw new Error('unshare did not start');
  const own = readlinkSync('/proc/self/ns/net');
  for (let i = 0; i < 500; i++) {
    try {
      if (readlinkSync(`/proc/${pid}/ns/net`) !== own && readlinkSync(`/proc/${pid}/exe`).endsWith('/sleep')) return child as ChildProcess & { pid: number };
    } catch {
      // not readable yet, or not ours to read
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  child.kill('SIGKILL');
  throw new Error(`unshare ${args.join(' ')} did not reach its network namespace`);
}

/** Kills a holder and waits until it is gone. */
export async function endHolder(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await gone;
}
