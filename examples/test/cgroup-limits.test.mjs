// Keeps examples/cgroup-limits.mjs working (a file of its own, beside examples.test.mjs):
// where cgroups are usable, three runs under limits with their exit reports; elsewhere the
// refusal and the report without a cgroup.
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { probe } from '@iso/sandbox';

test('cgroup-limits: a run within the limits, an OOM kill and a fork bomb, each with its exit report', () => {
  const out = execFileSync(process.execPath, [new URL('../cgroup-limits.mjs', import.meta.url).pathname], { encoding: 'utf8' });
  if (probe().features.cgroup.supported) {
    const [within, hog, bomb] = out.split(/^== /m).slice(1);
    assert.match(within, /^reason: +exit \(decided by process\)$/m);
    assert.match(within, /^cpu: +total \d+\.\d ms/m);
    assert.match(within, /^source: +cgroup v[12] \S+\/iso-\d+-\d+-[0-9a-f]+$/m);
    assert.match(within, /^unavailable: +-$/m);
    assert.match(hog, /^reason: +oomKilled \(decided by cgroup\)$/m);
    assert.match(hog, /^exit: +code null, signal SIGKILL$/m);
    assert.match(bomb, /^reason: +pidsLimit \(decided by cgroup\)$/m);
    assert.match(bomb, /refused by pids\.max \(32\)/);
  } else {
    assert.match(out, /^cgroups are not usable here/m);
    assert.match(out, /refused before anything runs: ISO_NEEDS_PRIVILEGE: .*Delegate=yes/m);
    assert.match(out, /^reason: +exit \(decided by process\)$/m);
    assert.match(out, /^source: +none \(no cgroup\)$/m);
    assert.match(out, /^unavailable: +cpu\.userUsec, cpu\.systemUsec, cpu\.totalUsec, memory\.peakBytes/m);
  }
});
