import { describe, expect, it } from 'vitest';
import { buildProgram, bytes, hostArch, imm, launch } from '../src/index.js';

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
