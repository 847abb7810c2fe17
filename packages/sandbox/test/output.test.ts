// The caller is protected from the target's output: it is kept up to maxBuffer per
// stream, as bytes or text, and a target that writes without end cannot crash Node.
import { PassThrough } from 'node:stream';
import { guardNoLeaks } from '@iso/test-kit';
import { describe, expect, it } from 'vitest';
import { run, spawn } from '../src/index.js';

describe('output', () => {
  guardNoLeaks();

  it('cat /dev/zero: Node stays alive, the target is ended and the result says why', async () => {
    const r = await run('cat', ['/dev/zero'], { pid: true, maxBuffer: 1_000_000 });
    expect(r).toMatchObject({ reason: 'maxBuffer', isMaxBuffer: true, failed: true, signal: 'SIGTERM', signalSource: 'caller' });
    expect(r.stdout.length).toBe(1_000_000);
    expect(r.stdout).toMatch(/^\0+$/);
  });

  it('the default limit holds too (100 MB), with no option at all', async () => {
    const r = await run('cat', ['/dev/zero'], { pid: true });
    expect(r).toMatchObject({ reason: 'maxBuffer', isMaxBuffer: true });
    expect(r.stdout.length).toBe(100_000_000);
  }, 60_000);

  it("onMaxBuffer: 'truncate' keeps the first bytes and lets the target finish", async () => {
    const r = await run('sh', ['-c', 'head -c 300000 /dev/zero; echo done >&2'], { maxBuffer: 1000, onMaxBuffer: 'truncate' });
    expect(r).toMatchObject({ reason: 'exit', exitCode: 0, isMaxBuffer: true, failed: false, stderr: 'done\n' });
    expect(r.stdout).toHaveLength(1000);
  });

  it("encoding: 'buffer' gives the bytes as they are", async () => {
    const r = await run('printf', ['\\377\\000a'], { encoding: 'buffer' });
    expect(Buffer.isBuffer(r.stdout)).toBe(true);
    expect([...r.stdout]).toEqual([0xff, 0x00, 0x61]);
    expect(Buffer.isBuffer(r.stderr)).toBe(true);
    // As text, the invalid byte is U+FFFD.
    expect((await run('printf', ['\\377'])).stdout).toBe('\ufffd');
  });

  it('all: stdout and stderr interleaved as they came', async () => {
    const r = await run('sh', ['-c', 'echo 1; sleep 0.05; echo 2 >&2; sleep 0.05; echo 3'], { all: true });
    expect(r.all).toBe('1\n2\n3\n');
    expect(r.stdout).toBe('1\n3\n');
    expect((await run('true')).all).toBeUndefined();
  });

  it('buffer: false keeps nothing and still drains, so the target never blocks', async () => {
    const r = await run('head', ['-c', '5000000', '/dev/zero'], { buffer: false, maxBuffer: 10 });
    expect(r).toMatchObject({ reason: 'exit', exitCode: 0, stdout: '', isMaxBuffer: false });
  });

  it('a stream the caller pipes is the destination’s, not kept twice; one it watches is kept', async () => {
    const handle = spawn('sh', ['-c', 'echo out; echo err >&2']);
    const sink = new PassThrough();
    let piped = '';
    sink.on('data', (chunk: Buffer) => (piped += chunk.toString()));
    handle.stdout!.pipe(sink);
    let watched = '';
    handle.stderr!.on('data', (chunk: Buffer) => (watched += chunk.toString()));
    const r = await handle;
    expect(piped).toBe('out\n');
    expect(r.stdout).toBe('');
    expect(watched).toBe('err\n');
    expect(r.stderr).toBe('err\n');
  });
});
