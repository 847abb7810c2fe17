import { spawn } from 'node:child_process';
import type { ChildProcess, StdioNull, StdioPipe } from 'node:child_process';
import { closeSync, fstatSync, openSync, readFileSync, writeSync } from 'node:fs';
import { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Readable, Stream, Writable } from 'node:stream';
import { IsoError, syscallError } from './errors.js';
import { sealedMemfd, socketPair } from './sys.js';
import type { Program } from './program/build.js';
import { formatCall } from './program/explain.js';
import type { Arch } from './syscalls/index.js';
import { syscallName } from './syscalls/index.js';
import { ACK_SIZE, FixedFd, MESSAGE_SIZE, MessageType, protocolErrorName } from './wire.js';

/** Well below any AF_UNIX socket buffer, so the early write never blocks. */
const PREWRITE_LIMIT = 32 * 1024;

const builtRunners = new Map<Arch, string>();

/** Where the runner binary for `arch` lives; ISO_RUNNER overrides it. */
export function runnerPath(arch: Arch): string {
  const fromEnv = process.env.ISO_RUNNER;
  if (fromEnv) return fromEnv;
  // Converting the URL costs about 0.1 ms, on every launch; the answer never changes.
  let path = builtRunners.get(arch);
  if (path === undefined) {
    path = fileURLToPath(new URL(`../build/iso-runner-${arch}`, import.meta.url));
    builtRunners.set(arch, path);
  }
  return path;
}

const sealedRunners = new Map<string, string>();

/**
 * Who may own the runner file: root and this user. Inside a user namespace a file of an
 * unmapped owner (host root's, most often) shows as the overflow uid; no sandbox of this
 * process can have written it, since every id a sandbox has is mapped here.
 */
function trustedOwners(): Set<number> {
  const owners = new Set([0, process.geteuid?.() ?? 0]);
  try {
    const initial = readFileSync('/proc/self/uid_map', 'utf8').trim().split(/\s+/).join(' ') === '0 0 4294967295';
    if (!initial) owners.add(Number(readFileSync('/proc/sys/kernel/overflowuid', 'utf8')));
  } catch {
    // no /proc: only root and this user
  }
  return owners;
}

/**
 * The runner to execute: a sealed in-memory copy of `source`, made once per Node process
 * (as runc does since CVE-2019-5736). A sandbox that can write the runner's file, through
 * a writable bind of the project say, changes only the file: no later launch of this
 * process runs what it wrote. The copy is refused unless root or this user owns the file
 * and no one else can write it.
 */
export function sealedRunner(source: string): string {
  let sealed = sealedRunners.get(source);
  if (sealed !== undefined) return sealed;
  let fd: number;
  try {
    fd = openSync(source, 'r');
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new IsoError(
      missing ? 'ISO_RUNNER_MISSING' : 'ISO_SETUP_FAILED',
      missing ? `the runner ${source} is missing; build @iso/core (pnpm build)` : `could not open the runner ${source}: ${String(error)}`,
      { phase: 'parent', path: source, cause: error },
    );
  }
  try {
    // Checked on the open file, so that what is checked is what is copied.
    const stat = fstatSync(fd);
    const owners = trustedOwners();
    const problem = !stat.isFile()
      ? 'is not a regular file'
      : !owners.has(stat.uid)
        ? `is owned by uid ${stat.uid}, neither root nor this user`
        : (stat.mode & 0o022) !== 0
          ? `is writable by ${stat.mode & 0o002 ? 'everyone' : 'its group'} (mode 0${(stat.mode & 0o7777).toString(8)})`
          : undefined;
    if (problem !== undefined)
      throw new IsoError('ISO_RUNNER_UNSAFE', `the runner ${source} ${problem}; rebuild it (pnpm build) or fix its owner and mode`, { phase: 'parent', path: source });
    const memfd = sealedMemfd('iso-runner', readFileSync(fd), 'core.sealRunner');
    sealed = `/proc/self/fd/${memfd}`;
  } finally {
    closeSync(fd);
  }
  sealedRunners.set(source, sealed);
  return sealed;
}

export type StdioEntry = StdioPipe | StdioNull | 'inherit' | number | Stream;

export interface LaunchOptions {
  /** fds 0, 1 and 2 of the target, as for child_process.spawn. */
  stdio: readonly [StdioEntry, StdioEntry, StdioEntry];
  /** Defaults to runnerPath(program.arch). */
  runner?: string;
  /**
   * Give the runner FixedFd.returnChannel, a socket on which its sendFdStep steps hand fds
   * to Node. The program must keep it (corePlan's returnChannel).
   */
  returnChannel?: boolean;
  /**
   * Called when the runner says it is about to exec the target (its announceExec step):
   * from then on only the last steps are left, so the target is as good as running, even
   * before `ready` settles (its output may reach Node first).
   */
  onExecAnnounced?: () => void;
}

export interface Launch {
  readonly child: ChildProcess;
  /**
   * With `returnChannel`: Node's end of it, a raw fd the caller owns and must close. Read
   * it with recvmsg (see @iso/seccomp); Node's streams would drop the fds.
   */
  readonly returnSocket: number | undefined;
  /** Settles when setup is over: resolves once the target was exec'd, or rejects with why not. */
  readonly ready: Promise<void>;
}

/** Turns a runner message into the error it reports. */
function decodeFailure(program: Program, message: Buffer): IsoError {
  const type = message.readUInt32LE(0);
  const a = message.readUInt32LE(4);
  const b = message.readUInt32LE(8);
  const errno = message.readInt32LE(12);
  if (type === MessageType.stepFailed) {
    const step = program.steps[a];
    if (step) {
      const syscall = syscallName(program.arch, b) ?? `syscall_${b}`;
      const call = step.op === 'syscall' ? formatCall(step) : `${syscall}()`;
      return syscallError(errno, { step: step.name, stepIndex: a, syscall, call, phase: 'child' });
    }
  }
  const what = type === MessageType.protocol ? `${protocolErrorName(a)} (at ${b})` : `unexpected message ${type}`;
  return new IsoError('ISO_RUNNER_PROTOCOL', `the runner rejected the program: ${what}`, { phase: 'child' });
}

/** The runner ended without a report before its last steps: killed, most likely. */
async function diedDuringSetup(child: ChildProcess): Promise<IsoError> {
  if (child.exitCode === null && child.signalCode === null) await new Promise((resolve) => child.once('exit', resolve));
  const how = child.signalCode ? `was killed by ${child.signalCode}` : `exited with code ${child.exitCode ?? '?'}`;
  return new IsoError('ISO_SETUP_FAILED', `the runner ${how} during setup, before execve; nothing was run`, { phase: 'child' });
}

/** The runner stopped reading its program: killed (say by an early abort), or it gave up. */
async function quitEarly(child: ChildProcess): Promise<IsoError> {
  if (child.exitCode === null && child.signalCode === null) await new Promise((resolve) => child.once('exit', resolve));
  if (child.signalCode !== null) return diedDuringSetup(child);
  return new IsoError('ISO_RUNNER_PROTOCOL', 'the runner quit before reading the whole program', { phase: 'child' });
}

/**
 * The spawn engine: starts the runner with child_process.spawn (so stdio, kill, exit and
 * reaping stay Node's), sends the program on fd 3, runs parent hooks at sync points and
 * maps the runner's report to typed errors. EOF on fd 3 means the target was exec'd.
 */
export function launch(program: Program, options: LaunchOptions): Launch {
  const source = options.runner ?? runnerPath(program.arch);
  const runner = sealedRunner(source);
  // A program that fits the socket buffer is written before the spawn, so the runner finds
  // it waiting instead of sleeping until Node's spawn() returns (about half a millisecond).
  let early: [ours: number, theirs: number] | undefined;
  if (program.bytes.length <= PREWRITE_LIMIT) {
    early = socketPair('core.launch');
    writeSync(early[0], program.bytes);
  }
  let returned: [ours: number, theirs: number] | undefined;
  let child: ChildProcess;
  try {
    if (options.returnChannel) returned = socketPair('core.launch');
    const extra = returned ? [returned[1]] : [];
    child = spawn(runner, [], { stdio: [...options.stdio, early ? early[1] : 'pipe', ...extra], env: {}, argv0: 'iso-runner' });
  } catch (error) {
    if (early) closeSync(early[0]);
    if (returned) closeSync(returned[0]);
    throw error;
  } finally {
    if (early) closeSync(early[1]);
    if (returned) closeSync(returned[1]);
  }
  const channel = early
    ? new Socket({ fd: early[0], readable: true, writable: true })
    : (child.stdio[FixedFd.control] as (Readable & Writable) | null | undefined);

  const ready = new Promise<void>((resolve, reject) => {
    let failure: IsoError | undefined;
    let pending: Buffer = Buffer.alloc(0);
    let hooksRunning = Promise.resolve();

    child.once('error', (error: NodeJS.ErrnoException) => {
      if (early) channel?.destroy();
      reject(new IsoError('ISO_SETUP_FAILED', `could not start the runner ${source}: ${error.message}`, { phase: 'parent', cause: error }));
    });
    if (!channel) return;

    const answer = (id: number, verdict: number) => {
      const ack = Buffer.alloc(ACK_SIZE);
      ack.writeUInt32LE(id, 0);
      ack.writeUInt32LE(verdict, 4);
      if (channel.writable) channel.write(ack);
    };

    const onSync = (id: number, reportedPid: number) => {
      const hook = program.hooks.get(id);
      hooksRunning = hooksRunning.then(async () => {
        if (failure) return;
        try {
          if (!hook) throw new IsoError('ISO_RUNNER_PROTOCOL', `the runner asked for unknown sync point ${id}`, { phase: 'parent' });
          await hook.run({ runnerPid: child.pid ?? 0, reportedPid });
          answer(id, 0);
        } catch (error) {
          failure =
            error instanceof IsoError
              ? error
              : new IsoError('ISO_SETUP_FAILED', `${hook?.name ?? 'sync'}: ${String(error)}`, { phase: 'parent', cause: error });
          answer(id, 1);
        }
      });
    };

    let announced = false;
    channel.on('data', (chunk: Buffer) => {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      while (pending.length >= MESSAGE_SIZE) {
        const message = pending.subarray(0, MESSAGE_SIZE);
        pending = pending.subarray(MESSAGE_SIZE);
        const type = message.readUInt32LE(0);
        if (type === MessageType.sync) onSync(message.readUInt32LE(4), message.readUInt32LE(8));
        else if (type === MessageType.execNext) {
          announced = true;
          options.onExecAnnounced?.();
        }
        else failure ??= decodeFailure(program, message);
      }
    });
    // A runner that exec'd or finished read the whole program and every ack, so a broken
    // pipe means it quit early; its report, when it got one out, says why.
    let broken = false;
    channel.on('error', () => {
      broken = true;
    });
    channel.once('close', () => {
      void hooksRunning.then(async () => {
        if (failure) reject(failure);
        else if (broken) reject(await quitEarly(child));
        else if (program.announcesExec && !announced) reject(await diedDuringSetup(child));
        else resolve();
      });
    });
    // Not end(): the runner may still read acks from us at sync points.
    if (!early) channel.write(program.bytes);
  });
  // Callers that only await the exit must not see an unhandled rejection.
  ready.catch(() => undefined);
  return { child, ready, returnSocket: returned?.[0] };
}
