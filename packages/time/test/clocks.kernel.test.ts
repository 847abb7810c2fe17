import { execFileSync } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { guardNoLeaks, isRoot, runScript } from '@iso/test-kit';
import { usernsFeature } from '@iso/userns';
import { describe, expect, it } from 'vitest';
import { clockNow, readTimeOffsets, timeFeature } from '../src/index.js';

const DAY = 86400;
/** Prints CLOCK_MONOTONIC and CLOCK_BOOTTIME in seconds, the offsets, the time namespace and the wall clock. */
const SCRIPT = [
  "python3 -c 'import time; print(time.clock_gettime(time.CLOCK_MONOTONIC)); print(time.clock_gettime(time.CLOCK_BOOTTIME)); print(time.time())'",
  "cut -d' ' -f1 /proc/uptime",
  'cat /proc/self/timens_offsets',
  'readlink /proc/self/ns/time',
].join('; ');

const seconds = (clock: 'monotonic' | 'boottime') => Number(clockNow(clock) / 1_000_000n) / 1000;

describe('@iso/time on the kernel', () => {
  guardNoLeaks();

  it('shifts CLOCK_MONOTONIC, CLOCK_BOOTTIME and /proc/uptime inside; the host clocks and the wall clock stay', async () => {
    const before = { monotonic: seconds('monotonic'), boottime: seconds('boottime'), wall: Date.now() / 1000 };
    const out = await runScript([timeFeature, usernsFeature], { time: { monotonic: DAY, boottime: 2 * DAY } }, SCRIPT);
    expect(out.error).toBeUndefined();
    const after = { monotonic: seconds('monotonic'), boottime: seconds('boottime'), wall: Date.now() / 1000 };
    const [monotonic, boottime, wall, uptime, offsetMonotonic, offsetBoottime, ns] = out.stdout.trim().split('\n');
    // Inside = the host's clock at that moment + the offset; the host's moved on only by the run.
    expect(Number(monotonic)).toBeGreaterThanOrEqual(before.monotonic + DAY);
    expect(Number(monotonic)).toBeLessThanOrEqual(after.monotonic + DAY);
    expect(Number(boottime)).toBeGreaterThanOrEqual(before.boottime + 2 * DAY);
    expect(Number(boottime)).toBeLessThanOrEqual(after.boottime + 2 * DAY);
    expect(Number(uptime)).toBeGreaterThanOrEqual(before.boottime + 2 * DAY - 1);
    expect(Number(wall)).toBeGreaterThanOrEqual(before.wall - 1);
    expect(Number(wall)).toBeLessThanOrEqual(after.wall + 1);
    expect(offsetMonotonic?.split(/\s+/)).toEqual(['monotonic', String(DAY), '0']);
    expect(offsetBoottime?.split(/\s+/)).toEqual(['boottime', String(2 * DAY), '0']);
    expect(ns).not.toBe(readlinkSync('/proc/self/ns/time'));
    expect(readTimeOffsets('self')).toEqual({ monotonic: 0, boottime: 0 });
    expect(after.monotonic - before.monotonic).toBeLessThan(DAY);
  });

  it('with true, a time namespace of its own with the host clocks', async () => {
    const out = await runScript([timeFeature, usernsFeature], { time: true }, 'cat /proc/self/timens_offsets; readlink /proc/self/ns/time');
    const [monotonic, boottime, ns] = out.stdout.trim().split('\n');
    expect([monotonic?.split(/\s+/), boottime?.split(/\s+/)]).toEqual([
      ['monotonic', '0', '0'],
      ['boottime', '0', '0'],
    ]);
    expect(ns).not.toBe(readlinkSync('/proc/self/ns/time'));
  });

  it("from a caller that is in a time namespace itself: inside reads the caller's clock plus the offset", () => {
    // Node runs under util-linux unshare with its own boot clock 100000 s ahead, and plans
    // from the built packages there (a sandbox's offsets are absolute in the kernel).
    const dist = (name: string) => JSON.stringify(new URL(`../../${name}/dist/index.js`, import.meta.url).href);
    const script = `
      const { readFileSync } = await import('node:fs');
      const core = await import(${dist('core')});
      const time = await import(${dist('time')});
      const userns = await import(${dist('userns')});
      const uptime = () => Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
      const before = uptime();
      const composition = core.composeFeatures([time.timeFeature, userns.usernsFeature], { time: { boottime: 60 } }, core.currentHost());
      const exec = core.corePlan({ file: '/bin/cat', args: ['/proc/uptime'], env: { PATH: '/usr/bin:/bin' }, cwd: '/', newSession: true }, process.pid);
      const program = core.buildProgram(core.orderSteps([exec, ...composition.enabled.map((e) => e.plan.steps)]), core.hostArch());
      const { child, ready } = core.launch(program, { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (chunk) => (out += chunk));
      await new Promise((resolve) => child.once('close', resolve));
      await ready;
      console.log(JSON.stringify({ before, inside: Number(out.split(' ')[0]), after: uptime() }));`;
    const userns = isRoot ? [] : ['--user', '--map-current-user'];
    const out = execFileSync('unshare', [...userns, '--time', '--boottime', '100000', '--fork', process.execPath, '--input-type=module', '-e', script], { encoding: 'utf8' });
    const { before, inside, after } = JSON.parse(out) as { before: number; inside: number; after: number };
    expect(before).toBeGreaterThan(seconds('boottime') + 90_000);
    expect(inside).toBeGreaterThanOrEqual(before + 60);
    expect(inside).toBeLessThanOrEqual(after + 60);
  });

  it('a negative offset that fits moves the clock back', async () => {
    const back = Math.floor(seconds('boottime') / 2);
    const out = await runScript([timeFeature, usernsFeature], { time: { boottime: -back } }, "cut -d' ' -f1 /proc/uptime");
    expect(Number(out.stdout)).toBeLessThan(seconds('boottime') - back + 5);
  });
});
