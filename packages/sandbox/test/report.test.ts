// The exit report (result.report): one run per reason, as docs/sandbox.md shows them, with
// the usage from the cgroup where cgroups are usable (root here) and without it elsewhere.
import { isIsoError } from '@iso/core';
import { guardNoLeaks } from '@iso/test-kit';
import { describe, expect, it } from 'vitest';
import { probe, run, spawn } from '../src/index.js';
import type { ExitReport, ExitReportField } from '../src/index.js';

const cgroupsUsable = probe().features.cgroup.supported;
const USAGE: ExitReportField[] = ['cpu.userUsec', 'cpu.systemUsec', 'cpu.totalUsec', 'memory.peakBytes', 'pids.peak', 'io.readBytes', 'io.writeBytes', 'io.readOps', 'io.writeOps'];

/** Every field is in exactly one of the three lists. */
function expectAccounted(report: ExitReport): void {
  const all = [...report.exact, ...report.approximate, ...report.unavailable].sort();
  expect(all).toEqual(['exitCode', 'signal', 'wallMs', ...USAGE].sort());
}

describe('the exit report without a cgroup', () => {
  guardNoLeaks();

  it('exit: the code, the wall time, and every usage field unavailable', async () => {
    const { report } = await run('sh', ['-c', 'exit 3']);
    expect(report).toMatchObject({ reason: 'exit', decidedBy: 'process', detail: 'exited with code 3', exitCode: 3, signal: null, source: undefined, cpu: { totalUsec: undefined }, memory: { peakBytes: undefined } });
    expect(report.wallMs).toBeGreaterThanOrEqual(0);
    expect(report.unavailable).toEqual(USAGE);
    expect(report.exact).toEqual(['exitCode', 'signal']);
    expectAccounted(report);
  });

  it('signal, killed, timeout, aborted and maxBuffer are the handle’s reasons', async () => {
    expect((await run('sh', ['-c', 'kill -USR1 $$'])).report).toMatchObject({ reason: 'signal', decidedBy: 'process', signal: 'SIGUSR1', detail: expect.stringContaining('did not send') });

    const handle = spawn('sleep', ['5']);
    await handle.ready;
    handle.kill('SIGINT');
    expect((await handle).report).toMatchObject({ reason: 'killed', signal: 'SIGINT', detail: 'ended by kill(): it died of SIGINT' });

    expect((await run('sleep', ['5'], { timeout: 300 })).report).toMatchObject({ reason: 'timeout', signal: 'SIGTERM', detail: 'timed out after 300 ms: it died of SIGTERM' });

    const controller = new AbortController();
    const aborted = spawn('sleep', ['5'], { signal: controller.signal });
    await aborted.ready;
    controller.abort();
    expect((await aborted).report).toMatchObject({ reason: 'aborted', signal: 'SIGTERM' });

    expect((await run('cat', ['/dev/zero'], { maxBuffer: 100_000 })).report).toMatchObject({ reason: 'maxBuffer', detail: expect.stringContaining('maxBuffer (100000 bytes)') });
  });

  it('the handle’s reason stands when the target exits after being asked to end', async () => {
    const { report } = await run('sh', ['-c', 'trap "exit 7" TERM; sleep 5 & wait'], { timeout: 300 });
    expect(report).toMatchObject({ reason: 'timeout', exitCode: 7, signal: null, detail: 'timed out after 300 ms: it exited with code 7' });
  });

  it('seccompKill: a kill action of the filter', async () => {
    const seccomp = { defaultAction: 'allow', rules: [{ names: ['uname'], action: 'kill-process' }] } as const;
    const r = await run('uname', [], { seccomp });
    expect(r.reason).toBe('signal');
    expect(r.report).toMatchObject({ reason: 'seccompKill', decidedBy: 'seccomp', signal: 'SIGSYS', detail: expect.stringContaining('seccomp filter') });
  });

  it('cpuTimeLimit: RLIMIT_CPU’s soft limit sends SIGXCPU', async () => {
    const { report } = await run('sh', ['-c', 'while :; do :; done'], { rlimits: { cpu: { soft: 1, hard: 5 } }, timeout: 20_000 });
    expect(report).toMatchObject({ reason: 'cpuTimeLimit', decidedBy: 'rlimits', signal: 'SIGXCPU', detail: expect.stringContaining('soft limit of 1 s') });
  }, 30_000);

  it('a SIGKILL at RLIMIT_CPU’s hard limit is not claimed without a measured CPU time', async () => {
    const { report } = await run('sh', ['-c', 'while :; do :; done'], { rlimits: { cpu: 1 }, timeout: 20_000 });
    expect(report).toMatchObject({ reason: 'signal', decidedBy: 'process', signal: 'SIGKILL' });
  }, 30_000);

  it('outputLimit: a write past RLIMIT_FSIZE', async () => {
    const { report } = await run('sh', ['-c', 'exec head -c 100000 /dev/zero > /tmp/out'], { rlimits: { fsize: 4096 } });
    expect(report).toMatchObject({ reason: 'outputLimit', decidedBy: 'rlimits', signal: 'SIGXFSZ', detail: expect.stringContaining('4096 bytes') });
  });
});

describe.runIf(!cgroupsUsable)('the exit report where cgroups are not usable', () => {
  it('asking for a limit is refused with ISO_NEEDS_PRIVILEGE before anything runs', async () => {
    const error: unknown = await run('true', [], { cgroup: { memory: { max: '64M' } } }).catch((e: unknown) => e);
    expect(isIsoError(error) && error.isoCode).toBe('ISO_NEEDS_PRIVILEGE');
  });
});

describe.runIf(cgroupsUsable)('the exit report with a cgroup', () => {
  guardNoLeaks(15_000);

  it('exit: the usage comes from the cgroup, each field exact, estimated or unavailable', async () => {
    const { report } = await run('sh', ['-c', 'head -c 20000000 /dev/urandom | md5sum >/dev/null'], { cgroup: { pids: { max: 64 } } });
    expect(report).toMatchObject({ reason: 'exit', decidedBy: 'process', exitCode: 0, source: expect.stringMatching(/^cgroup v[12] \S*\/iso-\d+-\d+-[0-9a-f]+$/) });
    expect(report.cpu.totalUsec).toBeGreaterThan(0);
    expect(report.memory.peakBytes).toBeGreaterThan(0);
    expect(report.exact).toContain('cpu.totalUsec');
    expect(report.approximate).toEqual(expect.arrayContaining(['cpu.userUsec', 'cpu.systemUsec', 'memory.peakBytes']));
    for (const field of report.unavailable) expect(USAGE).toContain(field);
    expectAccounted(report);
  });

  it('oomKilled: a hog above memory.max', async () => {
    const { report } = await run('sh', ['-c', 'exec tail /dev/zero'], { cgroup: { memory: { max: '32M' } } });
    expect(report).toMatchObject({ reason: 'oomKilled', decidedBy: 'cgroup', signal: 'SIGKILL', detail: expect.stringMatching(/OOM killer killed \d+ process.*33554432 bytes/) });
    expect(report.memory.peakBytes).toBeGreaterThan(16 * 1024 * 1024);
  });

  it('pidsLimit: forks refused by pids.max, and the target failed', async () => {
    const bomb = 'i=0; while [ $i -lt 100 ]; do sleep 5 & i=$((i+1)); done';
    const { report, exitCode } = await run('sh', ['-c', bomb], { cgroup: { pids: { max: 16 } } });
    expect(exitCode).not.toBe(0);
    expect(report).toMatchObject({ reason: 'pidsLimit', decidedBy: 'cgroup', detail: expect.stringMatching(/refused by pids.max \(16\)/) });
  });

  it('a pids hit the target survives (exit 0) is no verdict', async () => {
    const { report } = await run('sh', ['-c', 'i=0; while [ $i -lt 40 ]; do (sleep 5 &) 2>/dev/null; i=$((i+1)); done; exit 0'], { cgroup: { pids: { max: 16 } } });
    expect(report).toMatchObject({ reason: 'exit', exitCode: 0 });
  });

  it('cpuTimeLimit: a SIGKILL at RLIMIT_CPU’s hard limit, confirmed by the cgroup’s CPU time', async () => {
    const { report } = await run('sh', ['-c', 'while :; do :; done'], { rlimits: { cpu: 1 }, cgroup: true, timeout: 20_000 });
    expect(report).toMatchObject({ reason: 'cpuTimeLimit', decidedBy: 'rlimits', signal: 'SIGKILL', detail: expect.stringContaining('hard limit of 1 s') });
    expect(report.cpu.totalUsec).toBeGreaterThanOrEqual(1_000_000);
  }, 30_000);

  it('the caller’s own reasons win over the features’: a timeout under a cgroup', async () => {
    const { report } = await run('sleep', ['5'], { cgroup: true, timeout: 200 });
    expect(report).toMatchObject({ reason: 'timeout', decidedBy: 'process', signal: 'SIGTERM', source: expect.stringMatching(/^cgroup/) });
  });
});
