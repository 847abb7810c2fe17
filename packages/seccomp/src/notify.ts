// The user-notification supervisor: the sandbox's filter sends the calls in its notify set
// to Node, a JS handler decides, and the kernel goes on. Everything else the kernel
// decides alone, so the handler is never on the hot path of other calls.
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { IsoError, X32_SYSCALL_BIT, describeErrno, invalidOptions, syscallName } from '@iso/core';
import { errnoOf } from './actions.js';
import { AUDIT_ARCH } from './bpf.js';
import { SECCOMP_USER_NOTIF_FLAG_CONTINUE } from './consts.js';
import type { AppliedDecision, SeccompAbi, SeccompDecision, SeccompNotification, SeccompNotifyEvent, SeccompNotifyHandler } from './options.js';
import { toU64 } from './policy.js';
import {
  POLLERR,
  POLLHUP,
  POLLIN,
  POLLNVAL,
  answerWithFd,
  createEventFd,
  notificationValid,
  pollInBackground,
  receiveListener,
  receiveNotification,
  sendResponse,
} from './sys.js';
import type { RawNotification } from './sys.js';

const DENIED_ON_FAILURE: AppliedDecision = { kind: 'deny', errno: 1, errnoCode: 'EPERM' };
const POLL_TIMEOUT_MS = 1000;
const PAGE = 4096;

/** The decision a handler returned, checked. Throws ISO_INVALID_OPTIONS for anything else. */
export function normalizeDecision(decision: unknown): AppliedDecision {
  if (decision === 'continue') return { kind: 'continue' };
  if (decision === 'allow') return { kind: 'allow', value: 0n };
  if (decision === 'deny') return DENIED_ON_FAILURE;
  if (typeof decision === 'object' && decision !== null) {
    const keys = Object.keys(decision);
    // The value is the call's 64-bit return register: signed or unsigned, in range.
    if (keys.length === 1 && keys[0] === 'allow') return { kind: 'allow', value: BigInt.asIntN(64, toU64((decision as { allow: unknown }).allow, 'decision.allow')) };
    if (keys.includes('fd') && keys.every((key) => key === 'fd' || key === 'cloexec')) {
      const { fd, cloexec } = decision as { fd: unknown; cloexec?: unknown };
      if (typeof fd !== 'number' || !Number.isInteger(fd) || fd < 0 || fd > 0x7fffffff) throw invalidOptions('decision.fd', 'expected an open fd of this process');
      if (cloexec !== undefined && typeof cloexec !== 'boolean') throw invalidOptions('decision.cloexec', 'expected a boolean');
      return { kind: 'fd', fd, cloexec: cloexec ?? false };
    }
    if (keys.length === 1 && keys[0] === 'deny') {
      const errno = errnoOf((decision as { deny: unknown }).deny, 'decision.deny');
      if (errno === 0) throw invalidOptions('decision.deny', 'errno 0 would be success; answer { allow: 0 } instead');
      return { kind: 'deny', errno, errnoCode: describeErrno(errno).name };
    }
  }
  throw invalidOptions('decision', "expected 'continue', 'allow', 'deny', { allow: value }, { deny: errno } or { fd }");
}

function abiOf(raw: RawNotification): SeccompAbi | 'unknown' {
  if (raw.arch === AUDIT_ARCH.x86_64) return raw.nr & X32_SYSCALL_BIT ? 'x32' : 'x86_64';
  if (raw.arch === AUDIT_ARCH.i386) return 'i386';
  if (raw.arch === AUDIT_ARCH.aarch64) return 'aarch64';
  return 'unknown';
}

function nameOf(abi: SeccompAbi | 'unknown', nr: number): string {
  const name = abi === 'unknown' ? undefined : (syscallName(abi, nr) ?? syscallName(abi, nr & ~X32_SYSCALL_BIT));
  return name ?? `syscall_${nr}`;
}

/** Reads a NUL-terminated string at `address` in `pid`, a page at a time. */
function readTargetString(pid: number, address: bigint, maxBytes: number): string {
  const failed = (what: string, cause: unknown) =>
    new IsoError('ISO_SYSCALL_FAILED', `seccomp.notify.readString: ${what}: ${(cause as Error).message}`, { phase: 'in-process', step: 'seccomp.notify.readString', cause });
  let fd: number;
  try {
    fd = openSync(`/proc/${pid}/mem`, 'r');
  } catch (error) {
    throw failed(`cannot open /proc/${pid}/mem`, error);
  }
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    let at = address;
    while (total < maxBytes) {
      // Never read across a page: the next one may be unmapped though the string ends here.
      const room = Math.min(PAGE - Number(at % BigInt(PAGE)), maxBytes - total);
      const chunk = Buffer.alloc(room);
      let got: number;
      try {
        got = readSync(fd, chunk, 0, room, at);
      } catch (error) {
        throw failed(`cannot read pid ${pid} at 0x${at.toString(16)}`, error);
      }
      const end = chunk.subarray(0, got).indexOf(0);
      if (end >= 0) {
        chunks.push(chunk.subarray(0, end));
        return Buffer.concat(chunks).toString('utf8');
      }
      if (got === 0) break;
      chunks.push(chunk.subarray(0, got));
      total += got;
      at += BigInt(got);
    }
    return Buffer.concat(chunks).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** One sandbox's listener, from the moment the runner may send it until it closes. */
class Session {
  /** Node's end of the return channel, until the listener has arrived. */
  socket: number | undefined;
  listener: number | undefined;
  closed = false;

  constructor(
    socket: number,
    private readonly handler: SeccompNotifyHandler,
    private readonly onEvent: (event: SeccompNotifyEvent) => void,
  ) {
    this.socket = socket;
  }

  /** The fd to poll for this session. */
  get watched(): number | undefined {
    return this.listener ?? this.socket;
  }

  /** Reacts to poll's revents on `watched`. */
  ready(revents: number): void {
    if (this.closed || revents === 0) return;
    if (this.listener === undefined) {
      this.takeListener();
      return;
    }
    if (revents & POLLIN) {
      const raw = receiveNotification(this.listener);
      if (raw) this.dispatch(raw);
      return;
    }
    // Every process using the filter is gone: nothing more can come.
    if (revents & (POLLHUP | POLLERR | POLLNVAL)) this.close();
  }

  private takeListener(): void {
    if (this.socket === undefined) return;
    let fd: number | null | undefined;
    try {
      fd = receiveListener(this.socket);
    } catch {
      fd = null;
    }
    if (fd === undefined) return;
    closeSync(this.socket);
    this.socket = undefined;
    // EOF without a listener: setup failed before the filter was loaded.
    if (fd === null) this.close();
    else this.listener = fd;
  }

  private dispatch(raw: RawNotification): void {
    const time = Date.now();
    const abi = abiOf(raw);
    const syscall = nameOf(abi, raw.nr);
    const listener = this.listener;
    const notification: SeccompNotification = {
      id: raw.id,
      pid: raw.pid,
      abi,
      syscall,
      nr: raw.nr,
      args: Object.freeze([...raw.args]),
      instructionPointer: raw.instructionPointer,
      readString: (index: number, maxBytes = PAGE) => {
        if (!Number.isInteger(index) || index < 0 || index > 5) throw invalidOptions('index', 'expected an argument index from 0 to 5');
        const text = readTargetString(raw.pid, raw.args[index] ?? 0n, maxBytes);
        // The pid may have been reused by now; only a still-pending notification vouches for it.
        if (listener === undefined || this.closed || !notificationValid(listener, raw.id))
          throw new IsoError('ISO_SYSCALL_FAILED', `seccomp.notify.readString: the caller of ${syscall} is gone`, {
            phase: 'in-process',
            step: 'seccomp.notify.readString',
          });
        return text;
      },
    };
    const send = (decision: AppliedDecision): boolean => {
      if (this.closed || this.listener === undefined) return false;
      if (decision.kind === 'continue') return sendResponse(this.listener, raw.id, 0n, 0, SECCOMP_USER_NOTIF_FLAG_CONTINUE);
      if (decision.kind === 'allow') return sendResponse(this.listener, raw.id, decision.value, 0, 0);
      if (decision.kind === 'fd') return answerWithFd(this.listener, raw.id, decision.fd, decision.cloexec);
      return sendResponse(this.listener, raw.id, 0n, -decision.errno, 0);
    };
    const answer = (wanted: AppliedDecision, handlerError?: unknown) => {
      let decision = wanted;
      let delivered: boolean;
      try {
        delivered = send(decision);
      } catch (error) {
        // The kernel refused the answer ('continue' before 5.5, a bad fd): deny, never leave the caller waiting.
        handlerError ??= error;
        decision = DENIED_ON_FAILURE;
        try {
          delivered = send(decision);
        } catch {
          delivered = false;
        }
      }
      const event: SeccompNotifyEvent = {
        time,
        pid: raw.pid,
        abi,
        syscall,
        nr: raw.nr,
        args: notification.args,
        decision,
        violation: decision.kind === 'deny',
        ...(handlerError === undefined ? {} : { handlerError }),
        delivered,
      };
      this.onEvent(event);
    };
    // A handler that throws, rejects or answers nonsense denies the call: fail closed.
    let pending: SeccompDecision | Promise<SeccompDecision>;
    try {
      pending = this.handler(notification);
    } catch (error) {
      answer(DENIED_ON_FAILURE, error);
      return;
    }
    const settle = (decision: unknown) => {
      let applied: AppliedDecision;
      try {
        applied = normalizeDecision(decision);
      } catch (error) {
        answer(DENIED_ON_FAILURE, error);
        return;
      }
      answer(applied);
    };
    let thenable: boolean;
    try {
      thenable = typeof (pending as { then?: unknown } | null)?.then === 'function';
    } catch (error) {
      // A `then` getter that throws: as nonsense as any other answer.
      answer(DENIED_ON_FAILURE, error);
      return;
    }
    if (thenable)
      Promise.resolve(pending).then(settle, (error: unknown) => {
        answer(DENIED_ON_FAILURE, error);
      });
    else settle(pending);
  }

  /** Ends the session but leaves the return socket open: it was never taken over. */
  release(): void {
    this.socket = undefined;
    this.close();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    // Closing the listener fails every call still waiting with ENOSYS, and later ones too.
    if (this.listener !== undefined) closeSync(this.listener);
    if (this.socket !== undefined) closeSync(this.socket);
    this.listener = undefined;
    this.socket = undefined;
    sessions.delete(this);
    wake();
  }
}

// One background poll serves every session of the process; an eventfd wakes it whenever
// the set of sessions changes. Once no session is left the eventfd is closed, so a process
// holds no fd of the supervisor between sandboxes.
const sessions = new Set<Session>();
let wakeFd: number | undefined;
let polling = false;
let exitHooked = false;

function wake(): void {
  if (wakeFd === undefined) return;
  const one = Buffer.alloc(8);
  one.writeBigUInt64LE(1n);
  try {
    writeSync(wakeFd, one);
  } catch {
    // EAGAIN: the counter is full, so the poll is awake anyway.
  }
}

function drainWake(): void {
  if (wakeFd === undefined) return;
  try {
    readSync(wakeFd, Buffer.alloc(8));
  } catch {
    // EAGAIN: nothing to drain
  }
}

/** Closes the eventfd once no session is left and no poll holds it. */
function closeWakeIfIdle(): void {
  if (polling || sessions.size > 0 || wakeFd === undefined) return;
  closeSync(wakeFd);
  wakeFd = undefined;
}

function pollLoop(): void {
  if (polling) return;
  if (sessions.size === 0 || wakeFd === undefined) {
    closeWakeIfIdle();
    return;
  }
  polling = true;
  const watched = [...sessions].filter((session) => session.watched !== undefined);
  const fds = [wakeFd, ...watched.map((session) => session.watched ?? -1)];
  pollInBackground(fds, POLL_TIMEOUT_MS, (revents) => {
    polling = false;
    // Poll again whatever happens here: a throwing event listener must not strand the
    // other sandboxes' callers.
    try {
      if ((revents[0] ?? 0) & POLLIN) drainWake();
      watched.forEach((session, i) => {
        // A session closed meanwhile may have had its fd number reused: skip it.
        if (!session.closed && session.watched === fds[i + 1]) session.ready(revents[i + 1] ?? 0);
      });
    } finally {
      pollLoop();
    }
  });
}

/** A supervisor for one sandbox's listener. */
export interface NotifySupervisor {
  /** Closes the listener (pending and later notified calls fail with ENOSYS). Idempotent. */
  close(): void;
}

/**
 * Serves the seccomp listener that a sandbox's runner sends on `returnSocket` (the launch's
 * return channel, which this takes over and closes once it returns; if it throws, the
 * socket stays the caller's). `handler` decides every notified call; `onEvent` hears each
 * decision. Close it when the sandbox has exited.
 */
export function superviseNotifications(returnSocket: number, handler: SeccompNotifyHandler, onEvent: (event: SeccompNotifyEvent) => void): NotifySupervisor {
  wakeFd ??= createEventFd();
  if (!exitHooked) {
    // Node joins its worker threads at exit; a poll blocked in one must return first.
    process.once('exit', wake);
    exitHooked = true;
  }
  const session = new Session(returnSocket, handler, onEvent);
  sessions.add(session);
  try {
    if (polling) wake();
    else pollLoop();
  } catch (error) {
    session.release();
    closeWakeIfIdle();
    throw error;
  }
  return {
    close: () => {
      session.close();
    },
  };
}
