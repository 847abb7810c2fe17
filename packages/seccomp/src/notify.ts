// The user-notification supervisor: the sandbox's filter sends the calls in its notify set
// to Node, a JS handler decides, and the kernel goes on. Everything else the kernel
// decides alone, so the handler is never on the hot path of other calls.
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { IsoError, X32_SYSCALL_BIT, describeErrno, invalidOptions, syscallName } from '@iso/core';
import { receiveFd } from '@iso/core/native';
import { errnoOf } from './actions.js';
import { AUDIT_ARCH } from './bpf.js';
import type { SeccompAbi } from './options.js';
import {
  POLLERR,
  POLLHUP,
  POLLIN,
  POLLNVAL,
  SECCOMP_USER_NOTIF_FLAG_CONTINUE,
  answerWithFd,
  createEventFd,
  notificationValid,
  pollInBackground,
  receiveNotification,
  sendResponse,
} from './sys.js';
import type { RawNotification } from './sys.js';

/**
 * What the handler answers, in the kernel's three kinds of response:
 * - `'continue'`: the kernel runs the call as if no filter were there
 *   (SECCOMP_USER_NOTIF_FLAG_CONTINUE, Linux 5.5+). The kernel reads the call's memory
 *   again after the handler looked at it, so never allow a call this way because of what
 *   a pointer argument points to: the target can change it in between.
 * - `'allow'` or `{ allow: value }`: the call is NOT run; it returns `value` (default 0)
 *   as if it had succeeded. For a supervisor that did the work itself, or fakes it.
 * - `'deny'` or `{ deny: errno }`: the call fails with the errno (default EPERM).
 * - `{ fd, cloexec? }`: the call is NOT run; a copy of this Node fd lands in the caller
 *   and the call returns its number (SECCOMP_IOCTL_NOTIF_ADDFD, Linux 5.14). The safe way
 *   to grant an open by its path: Node opens what it decided on, the target gets that.
 *   Node's fd stays open; close it when the handler is done.
 */
export type SeccompDecision =
  | 'continue'
  | 'allow'
  | 'deny'
  | { allow: number | bigint }
  | { deny: number | string }
  | { fd: number; cloexec?: boolean };

/** One call in the notify set, stopped until the handler answers. */
export interface SeccompNotification {
  /** The kernel's id for this notification. */
  readonly id: bigint;
  /** Host pid of the calling thread (in Node's PID namespace). */
  readonly pid: number;
  readonly abi: SeccompAbi | 'unknown';
  /** The syscall's name, or `syscall_<nr>` for a number the tables do not name. */
  readonly syscall: string;
  readonly nr: number;
  /** The six argument registers, as unsigned 64-bit values. */
  readonly args: readonly bigint[];
  readonly instructionPointer: bigint;
  /**
   * Reads the NUL-terminated string argument `index` points to (a path, say) from the
   * caller's memory, through /proc/<pid>/mem, and checks afterwards that the caller still
   * waits, so a recycled pid cannot answer. Good for logging and for denying; see
   * 'continue' for why it is no ground for allowing. Needs ptrace access to the caller
   * (the same user, or CAP_SYS_PTRACE). Throws ISO_SYSCALL_FAILED if it cannot read.
   */
  readString(index: number, maxBytes?: number): string;
}

/** Decides one notification. It may be async; until it settles, the caller waits. */
export type SeccompNotifyHandler = (notification: SeccompNotification) => SeccompDecision | Promise<SeccompDecision>;

/** The decision as applied, in one shape. */
export type AppliedDecision =
  | { kind: 'continue' }
  | { kind: 'allow'; value: bigint }
  | { kind: 'deny'; errno: number; errnoCode: string }
  | { kind: 'fd'; fd: number; cloexec: boolean };

/** One handled notification, for logs: the 'seccomp' and 'violation' events of a sandbox. */
export interface SeccompNotifyEvent {
  /** Date.now() when the notification arrived. */
  time: number;
  pid: number;
  abi: SeccompAbi | 'unknown';
  syscall: string;
  nr: number;
  args: readonly bigint[];
  decision: AppliedDecision;
  /** The call was denied: by the handler, or because the handler failed. */
  violation: boolean;
  /** Why the handler's answer was not used, when it threw or answered nonsense. */
  handlerError?: unknown;
  /** False when the caller was gone before the answer (killed meanwhile). */
  delivered: boolean;
}

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
    if (keys.length === 1 && keys[0] === 'allow') {
      const value = (decision as { allow: unknown }).allow;
      if ((typeof value === 'number' && Number.isSafeInteger(value)) || typeof value === 'bigint')
        return { kind: 'allow', value: BigInt.asIntN(64, BigInt(value)) };
    }
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
      fd = receiveFd(this.socket, false, 'seccomp.notify.listener');
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
        delivered,
      };
      if (handlerError !== undefined) event.handlerError = handlerError;
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
    if (typeof (pending as { then?: unknown } | null)?.then === 'function')
      Promise.resolve(pending).then(settle, (error: unknown) => {
        answer(DENIED_ON_FAILURE, error);
      });
    else settle(pending);
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
// the set of sessions changes.
const sessions = new Set<Session>();
let wakeFd: number | undefined;
let polling = false;

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

function pollLoop(): void {
  if (polling || sessions.size === 0 || wakeFd === undefined) return;
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
 * return channel, which this takes over and closes). `handler` decides every notified
 * call; `onEvent` hears each decision. Close it when the sandbox has exited.
 */
export function superviseNotifications(returnSocket: number, handler: SeccompNotifyHandler, onEvent: (event: SeccompNotifyEvent) => void): NotifySupervisor {
  if (wakeFd === undefined) {
    wakeFd = createEventFd();
    // Node joins its worker threads at exit; a poll blocked in one must return first.
    process.once('exit', wake);
  }
  const session = new Session(returnSocket, handler, onEvent);
  sessions.add(session);
  if (polling) wake();
  else pollLoop();
  return { close: () => { session.close(); } };
}
