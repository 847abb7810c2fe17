// Test helper: runs the runner binary directly (no engine), feeds it bytes on fd 3 and
// collects what it says back. Shared by the runner's protocol, fuzz and build tests.
import { spawn } from 'node:child_process';
import type { StdioOptions, StdioPipe } from 'node:child_process';
import type { Duplex } from 'node:stream';
import { hostArch, runnerPath } from '../src/index.js';
import { MESSAGE_SIZE, MessageType } from '../src/wire.js';

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Everything the runner wrote back on fd 3 (empty when fd 3 was not a pipe). */
  control: Buffer;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  args?: readonly string[];
  /** The runner binary; defaults to the host's build. */
  runner?: string;
  /** Start the runner through this program, such as qemu-aarch64. */
  via?: string;
  /** Pipe and collect stdout and stderr; otherwise they are /dev/null (a faster spawn). */
  capture?: boolean;
  /** fd 3 of the runner: a pipe carrying `input` (the default), an open fd, or none at all. */
  control?: 'pipe' | number | 'none';
  /** More fds, passed to the runner as fds 4, 5 and so on. */
  extraFds?: readonly number[];
}

/**
 * Spawns the runner, writes `input` to its fd 3, half-closes it and waits for the exit.
 * With `input` null nothing is written: for a runner that exits before reading (usage
 * errors), since Node drops unread replies when a write to the channel fails with EPIPE.
 */
export function runRunner(input: Uint8Array | null, options: RunOptions = {}): Promise<RunResult> {
  const runner = options.runner ?? runnerPath(hostArch());
  const args = options.args ?? [];
  const file = options.via ?? runner;
  const argv = options.via === undefined ? [...args] : [runner, ...args];
  const out: StdioPipe | 'ignore' = options.capture ? 'pipe' : 'ignore';
  const control = options.control ?? 'pipe';
  const stdio: StdioOptions = control === 'none' ? ['ignore', out, out] : ['ignore', out, out, control, ...(options.extraFds ?? [])];
  const child = spawn(file, argv, { stdio });
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    child.stderr?.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      resolve({ code, signal, control: Buffer.concat(chunks), stdout, stderr });
    });
    const channel = control === 'pipe' ? (child.stdio[3] as Duplex | null) : null;
    if (!channel) return;
    channel.on('data', (chunk: Buffer) => chunks.push(chunk));
    // The runner stops reading as soon as it finds a fault, so writes may hit EPIPE.
    channel.on('error', () => undefined);
    if (input) channel.end(Buffer.from(input.buffer, input.byteOffset, input.byteLength));
  });
}

/** The 16-byte message the runner sends when it rejects a program. */
export function protocolMessage(code: number, index = 0): Buffer {
  const message = Buffer.alloc(MESSAGE_SIZE);
  message.writeUInt32LE(MessageType.protocol, 0);
  message.writeUInt32LE(code, 4);
  message.writeUInt32LE(index, 8);
  return message;
}

/** The 16-byte message the runner sends when a step fails. */
export function stepFailedMessage(index: number, nr: number, errno: number): Buffer {
  const message = Buffer.alloc(MESSAGE_SIZE);
  message.writeUInt32LE(MessageType.stepFailed, 0);
  message.writeUInt32LE(index, 4);
  message.writeUInt32LE(nr, 8);
  message.writeInt32LE(errno, 12);
  return message;
}

/** A message as readable text, for assertion output. */
export function describeControl(control: Buffer): string {
  if (control.length !== MESSAGE_SIZE) return `${control.length} bytes: ${control.toString('hex')}`;
  const words = [0, 4, 8, 12].map((at) => control.readInt32LE(at));
  return `{type ${words[0]}, ${words[1]}, ${words[2]}, ${words[3]}}`;
}

// A second spawner. Node spends about 2 ms of its own CPU time on each spawn, so a single
// process cannot keep 2 cores busy with short-lived runners; a lean helper process that
// spawns runners too roughly doubles the fuzz test's rate. It speaks one line per run:
// in: `<id> <args as JSON> <input hex>`; out: `<id> <code> <signal> <fd 3 reply hex>`.
const SPAWNER = `
const { spawn } = require('node:child_process');
const readline = require('node:readline');
const runner = process.argv[1];
const lines = readline.createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const [id, args, hex] = line.split(' ');
  const child = spawn(runner, JSON.parse(args), { stdio: ['ignore', 'ignore', 'ignore', 'pipe'] });
  const chunks = [];
  const channel = child.stdio[3];
  channel.on('data', (chunk) => chunks.push(chunk));
  channel.on('error', () => undefined);
  channel.end(Buffer.from(hex, 'hex'));
  child.once('close', (code, signal) => {
    process.stdout.write(id + ' ' + code + ' ' + signal + ' ' + Buffer.concat(chunks).toString('hex') + '\\n');
  });
});
lines.on('close', () => undefined);
`;

export interface Spawner {
  /** Like runRunner(input, { args }) without capture, run by the helper process. */
  run: (input: Uint8Array, args: readonly string[]) => Promise<RunResult>;
  close(): Promise<void>;
}

/** Starts the helper process that spawns runners on request. */
export function startSpawner(runner = runnerPath(hostArch())): Spawner {
  const helper = spawn(process.execPath, ['-e', SPAWNER, runner], { stdio: ['pipe', 'pipe', 'inherit'], env: {} });
  const pending = new Map<number, (result: RunResult) => void>();
  let nextId = 0;
  let buffered = '';
  helper.stdout?.setEncoding('utf8').on('data', (text: string) => {
    buffered += text;
    let end: number;
    while ((end = buffered.indexOf('\n')) >= 0) {
      const [id = '', code = '', signal = '', hex = ''] = buffered.slice(0, end).split(' ');
      buffered = buffered.slice(end + 1);
      const done = pending.get(Number(id));
      pending.delete(Number(id));
      done?.({
        code: code === 'null' ? null : Number(code),
        signal: signal === 'null' ? null : (signal as NodeJS.Signals),
        control: Buffer.from(hex, 'hex'),
        stdout: '',
        stderr: '',
      });
    }
  });
  const exited = new Promise<void>((resolve) => {
    helper.once('close', () => {
      resolve();
    });
  });
  void exited.then(() => {
    for (const [, done] of pending) done({ code: null, signal: null, control: Buffer.alloc(0), stdout: '', stderr: 'the spawner helper exited' });
    pending.clear();
  });
  return {
    run: (input, args) => {
      const id = nextId++;
      return new Promise((resolve) => {
        pending.set(id, resolve);
        helper.stdin?.write(`${id} ${JSON.stringify(args)} ${Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString('hex')}\n`);
      });
    },
    close: () => {
      helper.stdin?.end();
      return exited;
    },
  };
}
