// A sandbox that can write iso's runner file (a writable bind of the project, as
// examples/readonly-host.mjs makes) must not change what the next launch runs: each Node
// process launches a sealed in-memory copy (runc's answer to CVE-2019-5736).
import { chmodSync, copyFileSync, existsSync, linkSync, mkdtempSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostArch, runnerPath, sealedRunner } from '@iso/core';
import { SEALED_RUNNER, guardNoLeaks } from '@iso/test-kit';
import { afterAll, describe, expect, it } from 'vitest';
import { run, spawn } from '../src/index.js';
import { isRoot } from './helpers.js';

// Its own copy of the runner, so that the attack never touches the build other suites use.
// The directory is writable by the sandbox's backing uid (nobody, for a root caller).
const project = mkdtempSync(join(tmpdir(), 'iso-integrity-'));
chmodSync(project, 0o777);
const runner = join(project, 'iso-runner');
copyFileSync(runnerPath(hostArch()), runner);
chmodSync(runner, 0o755);
process.env.ISO_RUNNER = runner;
afterAll(() => {
  delete process.env.ISO_RUNNER;
  rmSync(project, { recursive: true, force: true });
});

const withProjectWritable = {
  pid: true,
  mount: { root: 'host-readonly', entries: [{ type: 'bind', source: project, target: '/project' }] },
} as const;

// What the hostile target puts in place of the runner: no namespace, no seccomp, and a mark.
const replaceRunner = [
  `printf '#!/bin/sh\\necho escaped > ${project}/marker\\n' > /project/wrapper`,
  'chmod 755 /project/wrapper',
  'mv /project/wrapper /project/iso-runner',
].join(' && ');

describe('runner integrity', () => {
  guardNoLeaks();

  it('launches a sealed memfd copy, not the file', async () => {
    const handle = spawn('sleep', ['5'], { pid: true });
    await handle.ready;
    expect(readlinkSync(`/proc/${handle.pid}/exe`)).toBe(SEALED_RUNNER);
    handle.kill('SIGKILL');
    await handle;
  });

  it('a sandbox that replaces the runner file does not change the next launch', async () => {
    const attack = await run('sh', ['-c', replaceRunner], withProjectWritable);
    expect(attack).toMatchObject({ exitCode: 0, stderr: '' });
    expect(readFileSync(runner, 'utf8')).toMatch(/^#!\/bin\/sh/); // the file is the wrapper now

    const next = await run('sh', ['-c', 'grep -E "^(NoNewPrivs|Seccomp):" /proc/self/status; echo $$'], { ...withProjectWritable, cwd: '/project' });
    expect(next.exitCode).toBe(0);
    expect(next.stdout).toBe('NoNewPrivs:\t1\nSeccomp:\t2\n2\n');
    expect(existsSync(join(project, 'marker'))).toBe(false);
  });

  it.runIf(isRoot)("refuses a runner file that root or this user does not own: the replaced one, in a new process", async () => {
    await run('sh', ['-c', replaceRunner], withProjectWritable);
    // A new path is what a new Node process would copy; the file is the sandbox's (nobody's).
    const fresh = join(project, 'fresh-process-view');
    linkSync(runner, fresh);
    expect(() => sealedRunner(fresh)).toThrow(expect.objectContaining({ code: 'ISO_RUNNER_UNSAFE', message: expect.stringMatching(/owned by uid 65534, neither root nor this user/) }));
  });

  it('refuses a runner file that others can write, and names a missing one', () => {
    const open = join(project, 'group-writable');
    copyFileSync(runnerPath(hostArch()), open);
    chmodSync(open, 0o775);
    expect(() => sealedRunner(open)).toThrow(expect.objectContaining({ code: 'ISO_RUNNER_UNSAFE', message: expect.stringMatching(/writable by its group \(mode 0775\)/) }));
    chmodSync(open, 0o757);
    expect(() => sealedRunner(open)).toThrow(expect.objectContaining({ code: 'ISO_RUNNER_UNSAFE', message: expect.stringMatching(/writable by everyone/) }));
    expect(() => sealedRunner(join(project, 'missing'))).toThrow(expect.objectContaining({ code: 'ISO_RUNNER_MISSING' }));
  });
});
