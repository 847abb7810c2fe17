import { closeSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildProgram, bytes, hostArch, imm, launch, runnerPath, sealedRunner, sendFdStep, str } from '../src/index.js';
import { receiveFd } from '../src/native.js';

/** Writes `size` bytes to stdout from the runner; returns what Node read. */
async function echoThroughRunner(size: number): Promise<{ out: number; code: number | null }> {
  const data = new Uint8Array(size).fill(0x61);
  const program = buildProgram([{ op: 'syscall', name: 't.write', syscall: 'write', args: [imm(1), bytes(data), imm(size)] }], hostArch());
  const { child, ready } = launch(program, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = 0;
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.length));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  await ready;
  return { out, code };
}

describe('the spawn engine hands the program over', () => {
  it('before the spawn when it is small, and after it when it is large', async () => {
    expect(await echoThroughRunner(1000)).toEqual({ out: 1000, code: 0 });
    // Larger than the early-write limit, so it goes through the spawned pipe.
    expect(await echoThroughRunner(48 * 1024)).toEqual({ out: 48 * 1024, code: 0 });
  });
});

describe('a spawn that throws', () => {
  it('leaves no socket of the launch open in Node', () => {
    const program = buildProgram([{ op: 'syscall', name: 't.getpid', syscall: 'getpid', args: [] }], hostArch());
    // An fd number that is not open (and above any the launch opens): child_process.spawn throws EBADF at once.
    sealedRunner(runnerPath(hostArch())); // the process's sealed copy, kept by design
    const open = readdirSync('/proc/self/fd').map(Number);
    const closed = Math.max(...open) + 100;
    const before = open.length;
    for (const returnChannel of [false, true]) expect(() => launch(program, { stdio: [closed, 'ignore', 'ignore'], returnChannel })).toThrow(/EBADF/);
    expect(readdirSync('/proc/self/fd').length).toBe(before);
  });
});

describe('the return channel', () => {
  it('brings an fd the program opened back to Node', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iso-return-'));
    const path = join(dir, 'marker');
    writeFileSync(path, 'sent back');
    const program = buildProgram(
      [
        { op: 'syscall', name: 't.open', syscall: 'openat', args: [imm(-100), str(path), imm(0)], saveAs: 'file' },
        sendFdStep('t.send', 'file'),
      ],
      hostArch(),
    );
    const { child, ready, returnSocket } = launch(program, { stdio: ['ignore', 'ignore', 'inherit'], returnChannel: true });
    expect(returnSocket).toBeTypeOf('number');
    try {
      const fd = receiveFd(returnSocket!, true, 'test.receive');
      expect(fd).toBeTypeOf('number');
      expect(readlinkSync(`/proc/self/fd/${fd}`)).toBe(path);
      expect(readFileSync(fd!, 'utf8')).toBe('sent back');
      closeSync(fd!);
      // Once every runner process is gone, the channel reads EOF.
      expect(await new Promise((resolve) => child.once('close', resolve))).toBe(0);
      await ready;
      expect(receiveFd(returnSocket!, false, 'test.receive')).toBeNull();
    } finally {
      closeSync(returnSocket!);
      rmSync(dir, { recursive: true });
    }
  });

  it('fails the step with the errno when the socket is not there', async () => {
    const program = buildProgram(
      [
        { op: 'syscall', name: 't.open', syscall: 'openat', args: [imm(-100), str('/'), imm(0)], saveAs: 'file' },
        sendFdStep('t.send', 'file', 200),
      ],
      hostArch(),
    );
    const { ready } = launch(program, { stdio: ['ignore', 'ignore', 'inherit'] });
    await expect(ready).rejects.toMatchObject({ code: 'EBADF', step: 't.send', syscall: 'sendmsg' });
  });
});

describe('a runner that dies during setup', () => {
  const nap = { op: 'syscall', name: 't.nap', syscall: 'nanosleep', args: [bytes(new Uint8Array(new BigUint64Array([5n, 0n]).buffer)), imm(0)] } as const;
  const exit = { op: 'syscall', name: 't.exit', syscall: 'exit_group', args: [imm(0)] } as const;

  it('rejects ready, naming the signal, when the program announces its exec', async () => {
    const program = buildProgram([nap, { op: 'announceExec', name: 't.announce' }, exit], hostArch());
    expect(program.announcesExec).toBe(true);
    const { child, ready } = launch(program, { stdio: ['ignore', 'ignore', 'inherit'] });
    setTimeout(() => child.kill('SIGKILL'), 100);
    await expect(ready).rejects.toMatchObject({ code: 'ISO_SETUP_FAILED', message: expect.stringContaining('killed by SIGKILL during setup') });
  });

  it('a runner killed before it read a large program is reported as killed, as for a small one', async () => {
    // Larger than the early write, so the program goes through the spawned pipe after the spawn.
    const big = { op: 'syscall', name: 't.big', syscall: 'write', args: [imm(1), bytes(new Uint8Array(200_000)), imm(0)] } as const;
    const program = buildProgram([big, { op: 'announceExec', name: 't.announce' }, exit], hostArch());
    // Node may write the whole program in one go while the runner reads it on another CPU,
    // and the runner may then get past its announcement before the kill lands: that one
    // counts as started, as documented. Anything else must say killed, never a protocol error.
    const outcomes = new Set<string>();
    for (let round = 0; round < 20; round++) {
      const { child, ready } = launch(program, { stdio: ['ignore', 'ignore', 'inherit'] });
      child.kill('SIGKILL');
      outcomes.add(
        await ready.then(
          () => 'started',
          (error: unknown) => {
            const { code, message } = error as { code?: string; message?: string };
            return `${code}: ${/killed by SIGKILL/.test(message ?? '') ? 'killed' : message}`;
          },
        ),
      );
    }
    expect([...outcomes].filter((o) => o !== 'started' && o !== 'ISO_SETUP_FAILED: killed')).toEqual([]);
    expect(outcomes.has('ISO_SETUP_FAILED: killed')).toBe(true);
  });

  it('resolves once the announcement came, and without one cannot tell (the old contract)', async () => {
    const announced = launch(buildProgram([{ op: 'announceExec', name: 't.announce' }, exit], hostArch()), { stdio: ['ignore', 'ignore', 'inherit'] });
    await expect(announced.ready).resolves.toBeUndefined();
    const silent = buildProgram([nap, exit], hostArch());
    expect(silent.announcesExec).toBe(false);
    const { child, ready } = launch(silent, { stdio: ['ignore', 'ignore', 'inherit'] });
    setTimeout(() => child.kill('SIGKILL'), 100);
    await expect(ready).resolves.toBeUndefined();
  });
});
