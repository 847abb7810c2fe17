// cgroup v2's no-internal-processes rule, for a caller whose own cgroup is not the root and
// holds processes (Node itself): kernel-lab runs this from such a cgroup.
import { readFileSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { createCgroup, detectLayout } from '../src/index.js';

const layout = detectLayout();
const unified = layout.mode === 'unified' ? layout.hierarchies[0] : undefined;
const own = unified?.own ?? '/';
const ownDir = unified === undefined ? '' : `${unified.mount}${own === '/' ? '' : own}`;
const children = () => readdirSync(ownDir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();

describe.runIf(unified === undefined)('callerLeaf on cgroup v1', () => {
  it('is refused: the rule it answers is v2\'s', () => {
    expect(() => createCgroup({ callerLeaf: 'node' })).toThrow(expect.objectContaining({ isoCode: 'ISO_INVALID_OPTIONS', path: 'callerLeaf' }));
  });
});

describe.runIf(unified !== undefined && own !== '/')('cgroup v2 from a cgroup that holds processes', () => {
  afterAll(() => {
    // Everything back where it was, and the leaf gone, so the lab's cgroup is as it was:
    // the controllers off first, or the rule keeps processes out of it.
    for (const controller of readFileSync(`${ownDir}/cgroup.subtree_control`, 'utf8').trim().split(/\s+/).filter(Boolean).reverse())
      writeFileSync(`${ownDir}/cgroup.subtree_control`, `-${controller}`);
    for (const pid of readFileSync(`${ownDir}/node/cgroup.procs`, 'utf8').split('\n').filter(Boolean)) writeFileSync(`${ownDir}/cgroup.procs`, pid);
    rmdirSync(`${ownDir}/node`);
  });

  it('without a leaf or a parent, a limit needs what the rule forbids: ISO_NEEDS_PRIVILEGE saying so, nothing created', () => {
    const before = children();
    expect(() => createCgroup({ limits: { memory: { max: '64M' } } })).toThrow(
      expect.objectContaining({ isoCode: 'ISO_NEEDS_PRIVILEGE', message: expect.stringMatching(/no-internal-processes.*callerLeaf/) }),
    );
    expect(children()).toEqual(before);
  });

  it("with callerLeaf, the caller's processes move into a leaf and the sandbox's cgroup sits beside it with its limits", async () => {
    const cgroup = createCgroup({ callerLeaf: 'node', limits: { memory: { max: '64M' }, pids: { max: 16 } } });
    expect(readFileSync('/proc/self/cgroup', 'utf8').trim()).toBe(`0::${own === '/' ? '' : own}/node`);
    expect(cgroup.path.startsWith(`${own}/iso-`)).toBe(true);
    expect(readFileSync(`${cgroup.dirs[0]!}/memory.max`, 'utf8').trim()).toBe(String(64 * 1024 * 1024));
    expect(readFileSync(`${cgroup.dirs[0]!}/pids.max`, 'utf8').trim()).toBe('16');
    expect(readFileSync(`${ownDir}/cgroup.procs`, 'utf8')).toBe('');
    await cgroup.remove();
    expect(children()).toEqual(['node']);
  });
});
