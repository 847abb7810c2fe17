// Resource limits and the exit report: runs commands in a cgroup of their own with memory,
// CPU and pids limits, and prints `result.report`, which says why each ended and what it
// used. Run it with `node examples/cgroup-limits.mjs` from the repository root after setup.
//
// As root (or with a delegated cgroup subtree: see docs/cgroup.md) it runs three commands:
// one that stays within the limits, a memory hog (OOM-killed) and a fork bomb (held at the
// pids limit). Rootless without delegation, cgroups cannot be created: iso refuses a limit
// with ISO_NEEDS_PRIVILEGE before anything runs, and the report without a cgroup has only
// the exit status and the wall time. The script shows both and still exits 0.
import { probe, run } from '@iso/sandbox';

const limits = { memory: { max: '64M' }, cpu: { cpus: 0.5 }, pids: { max: 32 } };

const ms = (n) => `${n.toFixed(1)} ms`;
const us = (n) => (n === undefined ? 'unavailable' : `${(n / 1000).toFixed(1)} ms`);
const bytes = (n) => (n === undefined ? 'unavailable' : `${(n / 1024 / 1024).toFixed(1)} MiB`);
const plain = (n, unit = '') => (n === undefined ? 'unavailable' : `${n}${unit}`);

function show(title, { report }) {
  console.log(`\n== ${title}`);
  console.log(`reason:      ${report.reason} (decided by ${report.decidedBy})`);
  console.log(`detail:      ${report.detail}`);
  console.log(`exit:        code ${String(report.exitCode)}, signal ${String(report.signal)}`);
  console.log(`wall:        ${ms(report.wallMs)}`);
  console.log(`cpu:         total ${us(report.cpu.totalUsec)}, user ${us(report.cpu.userUsec)}, system ${us(report.cpu.systemUsec)}`);
  console.log(`memory peak: ${bytes(report.memory.peakBytes)}`);
  console.log(`pids peak:   ${plain(report.pids.peak)}`);
  console.log(`io:          read ${plain(report.io.readBytes, ' B')}, written ${plain(report.io.writeBytes, ' B')}`);
  console.log(`source:      ${report.source ?? 'none (no cgroup)'}`);
  console.log(`exact:       ${report.exact.join(', ')}`);
  console.log(`approximate: ${report.approximate.join(', ')}`);
  console.log(`unavailable: ${report.unavailable.join(', ') || '-'}`);
}

const cgroup = probe().features.cgroup;
if (cgroup.supported) {
  console.log(`cgroups are usable here (cgroup v${String(cgroup.version)}, ${cgroup.mode}); limits: ${JSON.stringify(limits)}`);
  show('within the limits: 20 MB through md5sum', await run('sh', ['-c', 'head -c 20000000 /dev/urandom | md5sum'], { cgroup: limits }));
  show('a memory hog above memory.max', await run('sh', ['-c', 'exec tail /dev/zero'], { cgroup: limits }));
  show('a fork bomb under pids.max', await run('sh', ['-c', 'i=0; while [ $i -lt 100 ]; do sleep 5 & i=$((i+1)); done'], { cgroup: limits }));
} else {
  console.log(`cgroups are not usable here (uid ${String(process.getuid?.())}): ${cgroup.reasons.join('; ')}`);
  try {
    await run('true', [], { cgroup: limits });
    console.log('unexpected: the limits were accepted');
    process.exitCode = 1;
  } catch (error) {
    console.log(`asking for limits is refused before anything runs: ${error.isoCode}: ${error.message}`);
  }
  show('the same command without a cgroup (no limits; the report falls back to what Node knows)', await run('sh', ['-c', 'head -c 20000000 /dev/urandom | md5sum']));
}
