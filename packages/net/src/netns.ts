// withNetns: a synchronous function with the calling thread in another network namespace.
// Network namespaces are per-thread state, so setns(2) moves only Node's main thread, and
// nothing else runs on it until the function returns (STYLE.md §6 allows this one pattern).
import { closeSync, openSync, constants } from 'node:fs';
import { IsoError, describeValue, invalidOptions, withHint } from '@iso/core';
import { enterNetworkNamespace } from './sys.js';

/**
 * A network namespace: a pid (the namespace that process is in), a path to a namespace
 * file (`/proc/PID/ns/net`, `/run/netns/NAME`), or an open fd of one. A bare number is a pid.
 */
export type NetnsTarget = number | string | { readonly pid: number } | { readonly fd: number };

/** The path or fd of a target, checked, for errors and for opening. */
export function describeNetnsTarget(target: unknown, path = 'target'): { path: string } | { fd: number } {
  const wholeNumber = (value: unknown) => typeof value === 'number' && Number.isInteger(value) && value >= 0;
  if (typeof target === 'number') {
    if (!wholeNumber(target) || target === 0) throw invalidOptions(path, `expected a pid, got ${describeValue(target)}`);
    return { path: `/proc/${target}/ns/net` };
  }
  if (typeof target === 'string') {
    if (!target.startsWith('/') || target.includes('\0')) throw invalidOptions(path, `expected an absolute path to a network namespace file, got ${describeValue(target)}`);
    return { path: target };
  }
  if (typeof target === 'object' && target !== null && !Array.isArray(target)) {
    const keys = Object.keys(target);
    const given = target as Record<string, unknown>;
    if (keys.length === 1 && keys[0] === 'pid' && wholeNumber(given.pid) && given.pid !== 0) return { path: `/proc/${String(given.pid)}/ns/net` };
    if (keys.length === 1 && keys[0] === 'fd' && wholeNumber(given.fd)) return { fd: given.fd as number };
  }
  throw invalidOptions(path, `expected a pid, a path, { pid } or { fd }, got ${describeValue(target)}`);
}

/** Opens a target's namespace file; the caller closes it. `fd` targets are returned as they are. */
export function openNetnsTarget(target: NetnsTarget, step: string, path = 'target'): { fd: number; owned: boolean; label: string } {
  const where = describeNetnsTarget(target, path);
  if ('fd' in where) return { fd: where.fd, owned: false, label: `fd ${where.fd}` };
  try {
    return { fd: openSync(where.path, constants.O_RDONLY), owned: true, label: where.path };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'EIO';
    throw new IsoError('ISO_SYSCALL_FAILED', `${step}: open(${JSON.stringify(where.path)}) failed: ${code}`, {
      errnoCode: code,
      ...((error as NodeJS.ErrnoException).errno === undefined ? {} : { errno: (error as NodeJS.ErrnoException).errno as number }),
      syscall: 'open',
      step,
      phase: 'in-process',
      path: where.path,
      cause: error,
    });
  }
}

const isThenable = (value: unknown): value is PromiseLike<unknown> =>
  (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as { then?: unknown }).then === 'function';

function refuseAsync(): IsoError {
  return invalidOptions(
    'withNetns.fn',
    'must be synchronous: the thread is back in its own network namespace as soon as fn returns, so the code after an await would run outside',
  );
}

/** setns with what to do about the usual refusals. */
function enter(fd: number, step: string, label: string): void {
  try {
    enterNetworkNamespace(fd, step, `setns(${label}, CLONE_NEWNET)`);
  } catch (error) {
    if (!(error instanceof IsoError)) throw error;
    if (error.code === 'EPERM')
      throw withHint(error, 'ISO_NEEDS_PRIVILEGE', "joining a network namespace needs CAP_SYS_ADMIN over its owner and in the caller's own user namespace (root)");
    if (error.code === 'EINVAL') throw withHint(error, 'ISO_INVALID_OPTIONS', `${label} is not a network namespace`);
    throw error;
  }
}

/**
 * Runs `fn` with the calling thread in the network namespace `target`, and returns what it
 * returns. Sockets made inside stay in that namespace after the return (a netlink socket
 * for openRtnetlink, say). The thread always goes back, through an fd of its own namespace
 * kept from the start, also when `fn` throws. `fn` must be synchronous: an async function,
 * or one that returns a promise, is refused with ISO_INVALID_OPTIONS (a returned promise
 * after the thread went back). Joining needs root: ISO_NEEDS_PRIVILEGE otherwise.
 */
export function withNetns<T>(target: NetnsTarget, fn: () => T): T {
  if (typeof fn !== 'function') throw invalidOptions('withNetns.fn', `expected a function, got ${describeValue(fn)}`);
  if (fn.constructor.name === 'AsyncFunction' || fn.constructor.name === 'AsyncGeneratorFunction') throw refuseAsync();
  const own = openSync('/proc/thread-self/ns/net', constants.O_RDONLY);
  try {
    const into = openNetnsTarget(target, 'net.withNetns');
    try {
      enter(into.fd, 'net.withNetns', into.label);
    } finally {
      if (into.owned) closeSync(into.fd);
    }
    let value: T;
    try {
      value = fn();
    } finally {
      enterNetworkNamespace(own, 'net.withNetns.return', 'setns(the caller\'s own network namespace, CLONE_NEWNET)');
    }
    if (isThenable(value)) {
      // It already runs; keep its rejection from going unhandled, and say why it is refused.
      Promise.resolve(value).catch(() => undefined);
      throw refuseAsync();
    }
    return value;
  } finally {
    closeSync(own);
  }
}
