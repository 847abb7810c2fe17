import { spawn } from 'node:child_process';
import type { ChildProcess, StdioNull, StdioPipe } from 'node:child_process';
import { closeSync, fstatSync, openSync, readFileSync, writeSync } from 'node:fs';
import { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Stream } from 'node:stream';
import { IsoError, invalidOptions, syscallError } from './errors.js';
import { sealedMemfd, sendFd, socketPair } from './sys.js';
import type { Program } from './program/build.js';
import { formatCall } from './program/explain.js';
import { STDIO_RECEIVE_STEP } from './plan.js';
import type { Arch } from './syscalls/index.js';
import { syscallName } from './syscalls/index.js';
import { ACK_SIZE, MESSAGE_SIZE, MessageType, protocolErrorName } from './wire.js';

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

/** The runner's side of a launch, before the program is followed. */
interface RunnerProcess {
  readonly child: ChildProcess;
  readonly source: string;
  /** Node's end of the control channel, a raw blocking fd until follow() wraps it. */
  readonly control: number;
  readonly returnSocket: number | undefined;
}

/** Spawns the runner; `prewrite` is written on the control channel first, so it finds it waiting. */
function spawnRunner(arch: Arch, runner: string | undefined, stdio: LaunchOptions['stdio'], returnChannel: boolean, prewrite?: (control: number) => void): RunnerProcess {
  const source = runner ?? runnerPath(arch);
  const sealed = sealedRunner(source);
  const control = socketPair('core.launch');
  let returned: [ours: number, theirs: number] | undefined;
  let child: ChildProcess;
  try {
    prewrite?.(control[0]);
    if (returnChannel) returned = socketPair('core.launch');
    const extra = returned ? [returned[1]] : [];
    child = spawn(sealed, [], { stdio: [...stdio, control[1], ...extra], env: {}, argv0: 'iso-runner' });
  } catch (error) {
    closeSync(control[0]);
    if (returned) closeSync(returned[0]);
    throw error;
  } finally {
    closeSync(control[1]);
    if (returned) closeSync(returned[1]);
  }
  return { child, source, control: control[0], returnSocket: returned?.[0] };
}

/** writeSync until every byte is out: a blocking socket may take a large program in parts. */
function writeAll(fd: number, data: Uint8Array): void {
  for (let done = 0; done < data.length; ) done += writeSync(fd, data, done);
}

/** The three bare bytes of a launch that keeps the runner's own fds 0 to 2 (see stdioSteps). */
const KEEP_STDIO = Buffer.alloc(3);

const stdioReceivers = new WeakMap<Program, boolean>();

/** The program takes its stdio from Node (prepareSteps): programs composed by hand may not. */
function receivesStdio(program: Program): boolean {
  let receives = stdioReceivers.get(program);
  if (receives === undefined) {
    receives = program.steps.some((step) => step.name === STDIO_RECEIVE_STEP);
    stdioReceivers.set(program, receives);
  }
  return receives;
}

/**
 * The spawn engine: starts the runner with child_process.spawn (so stdio, kill, exit and
 * reaping stay Node's), sends the program on fd 3, runs parent hooks at sync points and
 * maps the runner's report to typed errors. EOF on fd 3 means the target was exec'd.
 */
export function launch(program: Program, options: LaunchOptions): Launch {
  // A program that fits the socket buffer is written before the spawn, so the runner finds
  // it waiting instead of sleeping until Node's spawn() returns (about half a millisecond).
  const message = receivesStdio(program) ? [program.bytes, KEEP_STDIO] : [program.bytes];
  const early = program.bytes.length + KEEP_STDIO.length <= PREWRITE_LIMIT;
  const runner = spawnRunner(program.arch, options.runner, options.stdio, options.returnChannel === true, early ? (control) => {
    for (const part of message) writeAll(control, part);
  } : undefined);
  return follow(program, runner, options, early ? undefined : Buffer.concat(message));
}

/** A runner spawned ahead of its launch, blocked reading its program (see prespawnRunner). */
export interface IdleRunner {
  readonly child: ChildProcess;
  readonly arch: Arch;
  readonly returnChannel: boolean;
  /** Neither started nor gone: start() may be called. */
  readonly idle: boolean;
  /**
   * Hands it `program` and the launch's stdio. Entries other than 'pipe' reach the runner
   * as fds over the control channel; the ChildProcess's stream for each is then null.
   * Throws if the runner is not idle (it died, say): nothing was sent then.
   */
  start(program: Program, options: Omit<LaunchOptions, 'runner' | 'returnChannel'>): Launch;
  /** Ends an idle runner (it reads EOF and quits) and closes Node's ends; resolves at its exit. */
  dispose(): Promise<void>;
}

/** The fd Node sends for a stdio entry ('null' for a /dev/null to open), or undefined to keep the runner's pipe. */
function stdioFd(entry: StdioEntry, index: number): number | 'null' | undefined {
  if (entry === 'pipe' || entry === 'overlapped' || entry === undefined) return undefined;
  if (entry === 'ignore' || entry === null) return 'null';
  if (entry === 'inherit') return index;
  if (typeof entry === 'number') {
    if (!Number.isInteger(entry) || entry < 0) throw invalidOptions(`stdio[${index}]`, `expected an fd, got ${entry}`);
    checkOpen(entry, index);
    return entry;
  }
  const stream = entry as { fd?: unknown; _handle?: { fd?: unknown } | null };
  const fd = typeof stream.fd === 'number' ? stream.fd : stream._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) throw invalidOptions(`stdio[${index}]`, 'a stream with no fd of its own (a file, socket, pipe or tty) cannot be given to a sandbox');
  checkOpen(fd, index);
  return fd;
}

/** Checked before anything is sent, so that a bad fd never costs a waiting runner. */
function checkOpen(fd: number, index: number): void {
  try {
    fstatSync(fd);
  } catch {
    throw invalidOptions(`stdio[${index}]`, `fd ${fd} is not open`);
  }
}

type Unrefable = { ref?: () => unknown; unref?: () => unknown };

/**
 * Spawns a runner that waits for its program: Node's spawn, the costly part of a launch,
 * done ahead of time. Its stdio are pipes, and it is unref'd while idle, so it never keeps
 * Node alive; when Node exits, dies or disposes of it, the runner reads EOF and exits. It
 * runs nothing of a sandbox before start(): one runner serves one launch.
 */
export function prespawnRunner(arch: Arch, options: { returnChannel?: boolean; runner?: string } = {}): IdleRunner {
  const returnChannel = options.returnChannel === true;
  const runner = spawnRunner(arch, options.runner, ['pipe', 'pipe', 'pipe'], returnChannel);
  const { child } = runner;
  const handles = [child, child.stdin, child.stdout, child.stderr] as (Unrefable | null)[];
  for (const handle of handles) handle?.unref?.();
  let state: 'idle' | 'started' | 'gone' = 'idle';
  const closeOurs = () => {
    closeSync(runner.control);
    if (runner.returnSocket !== undefined) closeSync(runner.returnSocket);
  };
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      if (state === 'idle') {
        state = 'gone';
        closeOurs();
      }
      resolve();
    });
    child.once('error', () => {
      if (state === 'idle') {
        state = 'gone';
        closeOurs();
      }
      resolve();
    });
  });
  return {
    child,
    arch,
    returnChannel,
    get idle() {
      return state === 'idle' && child.exitCode === null && child.signalCode === null;
    },
    start(program, launchOptions) {
      if (state !== 'idle' || child.exitCode !== null || child.signalCode !== null)
        throw new IsoError('ISO_SETUP_FAILED', 'this prespawned runner is no longer idle', { phase: 'parent' });
      if (program.arch !== arch) throw new RangeError(`a ${program.arch} program for a ${arch} runner`);
      const fds = launchOptions.stdio.map((entry, i) => stdioFd(entry, i));
      const receives = receivesStdio(program);
      if (!receives && fds.some((fd) => fd !== undefined)) throw new RangeError('this program keeps the runner\'s stdio (no prepareSteps): only pipes can be given');
      // Sent before anything else can run: a runner that died meanwhile fails here (EPIPE).
      writeAll(runner.control, program.bytes);
      if (receives)
        for (const fd of fds) {
          if (fd !== 'null') {
            sendFd(runner.control, fd, 'core.launch');
            continue;
          }
          const devNull = openSync('/dev/null', 'r+');
          try {
            sendFd(runner.control, devNull, 'core.launch');
          } finally {
            closeSync(devNull);
          }
        }
      state = 'started';
      for (const handle of handles) handle?.ref?.();
      const streams = child.stdio as unknown as (Stream & { destroy(): void } | null)[];
      const named = child as unknown as Record<'stdin' | 'stdout' | 'stderr', unknown>;
      fds.forEach((fd, i) => {
        if (fd === undefined) return;
        streams[i]?.destroy();
        streams[i] = null;
        named[(['stdin', 'stdout', 'stderr'] as const)[i] ?? 'stdin'] = null;
      });
      return follow(program, runner, launchOptions);
    },
    async dispose() {
      if (state === 'idle') {
        state = 'gone';
        closeOurs();
        child.kill('SIGKILL');
        child.ref(); // so that Node waits for the exit it is awaiting
      }
      await exited;
    },
  };
}

/** Follows a spawned runner through its program: sync points, failures, and the EOF of its exec. */
function follow(program: Program, runner: RunnerProcess, options: Pick<LaunchOptions, 'onExecAnnounced'>, unsent?: Buffer): Launch {
  const { child, source } = runner;
  const channel = new Socket({ fd: runner.control, readable: true, writable: true });

  const ready = new Promise<void>((resolve, reject) => {
    let failure: IsoError | undefined;
    let pending: Buffer = Buffer.alloc(0);
    let hooksRunning = Promise.resolve();

    child.once('error', (error: NodeJS.ErrnoException) => {
      channel.destroy();
      reject(new IsoError('ISO_SETUP_FAILED', `could not start the runner ${source}: ${error.message}`, { phase: 'parent', cause: error }));
    });
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
    if (unsent) channel.write(unsent);
  });
  // Callers that only await the exit must not see an unhandled rejection.
  ready.catch(() => undefined);
  return { child, ready, returnSocket: runner.returnSocket };
}
