// Parent hooks: what Node does at the runner's sync points. Each runs with the runner's
// host pid, while the runner waits; a throw fails the setup with the error thrown.
import { execFile } from 'node:child_process';
import { AT_FDCWD, CLONE, IsoError, O, buildProgram, flags, hostArch, launch, prepareSteps, result, str, writeFileSteps } from '@iso/core';
import type { ChildStep, ParentHook } from '@iso/core';
import type { IdRange } from './options.js';
import { formatIdMap } from './maps.js';
import { helperPrivilegeHint, probeUserns } from './probe.js';

/** _IO(0xb7, 0x2): an fd of the parent of a namespace (Linux 4.9+). */
export const NS_GET_PARENT = 0xb702;

export interface IdMapPair {
  uid: readonly IdRange[];
  gid: readonly IdRange[];
}

/** "0 65534 1, 1 300000 65536": a map on one line, for hook names that explain() shows. */
const inline = (ranges: readonly IdRange[]) => ranges.map((r) => `${r.inside} ${r.outside} ${r.count}`).join(', ');
const helperArgs = (ranges: readonly IdRange[]) => ranges.map((r) => `${r.inside} ${r.outside} ${r.count}`).join(' ');


function runHelper(file: string, args: readonly string[]): Promise<{ code: number | string | null; stderr: string } | undefined> {
  return new Promise((resolve) => {
    execFile(file, args, { env: { LC_ALL: 'C' }, timeout: 60_000, encoding: 'utf8' }, (error, _stdout, stderr) => {
      if (!error) resolve(undefined);
      else resolve({ code: error.code ?? error.signal ?? null, stderr: stderr.trim() || error.message });
    });
  });
}

/**
 * newuidmap and newgidmap (setuid root, from shadow's uidmap package) write a non-root
 * caller's multi-range maps: they check every host id against the caller's own and its
 * lines in /etc/subuid and /etc/subgid. newgidmap leaves setgroups allowed when a
 * subordinate range is mapped. Both run at once; they write different files.
 */
export function newidmapHook(maps: IdMapPair, helpers: { newuidmap: string; newgidmap: string }): ParentHook {
  return {
    name: `Node runs ${helpers.newuidmap} <pid> ${helperArgs(maps.uid)} and ${helpers.newgidmap} <pid> ${helperArgs(maps.gid)}`,
    run: async ({ runnerPid }) => {
      const jobs = [
        { step: 'userns.newuidmap', file: helpers.newuidmap, ranges: maps.uid },
        { step: 'userns.newgidmap', file: helpers.newgidmap, ranges: maps.gid },
      ];
      const outcomes = await Promise.all(
        jobs.map(async (job) => {
          const argv = [String(runnerPid), ...job.ranges.flatMap((r) => [String(r.inside), String(r.outside), String(r.count)])];
          return { job, argv, failure: await runHelper(job.file, argv) };
        }),
      );
      for (const { job, argv, failure } of outcomes) {
        if (!failure) continue;
        const missing = failure.code === 'ENOENT';
        const hint = missing
          ? 'it is not installed: apt-get install uidmap (Debian, Ubuntu), dnf install shadow-utils (Fedora)'
          : (helperPrivilegeHint() ?? (probeUserns().reasons.join('; ') || undefined));
        const how = typeof failure.code === 'number' ? `exit ${failure.code}` : String(failure.code);
        throw new IsoError(
          missing || hint !== undefined ? 'ISO_NEEDS_PRIVILEGE' : 'ISO_SETUP_FAILED',
          `${job.step}: ${[job.file, ...argv].join(' ')} failed (${how}): ${failure.stderr}${hint === undefined ? '' : `; ${hint}`}`,
          { step: job.step, phase: 'parent', path: job.file },
        );
      }
    },
  };
}

/**
 * The program of the helper that maps the nested namespace of `disableNested`. Only a
 * process in the parent namespace may write a multi-range map of its child, and neither
 * Node nor newuidmap is in it (nor may a multi-threaded Node join it). So a second runner
 * opens the runner's namespace, takes its parent (NS_GET_PARENT), joins it (it holds
 * CAP_SYS_ADMIN there: its owner, or root) and writes the child's maps from there, with
 * the parent's inside ids mapped onto themselves.
 */
export function nestedHelperSteps(runnerPid: number, identity: IdMapPair): ChildStep[] {
  const proc = `/proc/${runnerPid}`;
  return [
    ...prepareSteps(process.pid),
    {
      op: 'syscall',
      name: 'userns.nested.helper.open',
      syscall: 'openat',
      args: [flags(AT_FDCWD, { AT_FDCWD }), str(`${proc}/ns/user`), flags(O.O_RDONLY | O.O_CLOEXEC, O)],
      saveAs: 'userns.nested.child',
    },
    {
      op: 'syscall',
      name: 'userns.nested.helper.parent',
      syscall: 'ioctl',
      args: [result('userns.nested.child'), flags(NS_GET_PARENT, { NS_GET_PARENT })],
      saveAs: 'userns.nested.parent',
    },
    { op: 'syscall', name: 'userns.nested.helper.setns', syscall: 'setns', args: [result('userns.nested.parent'), flags(CLONE.CLONE_NEWUSER, CLONE)] },
    ...writeFileSteps('userns.nested.helper.uidMap', `${proc}/uid_map`, formatIdMap(identity.uid)),
    ...writeFileSteps('userns.nested.helper.gidMap', `${proc}/gid_map`, formatIdMap(identity.gid)),
  ];
}

/** Runs the nested-maps helper; resolves once it wrote both maps and exited. */
export function nestedMapsHook(identity: IdMapPair): ParentHook {
  return {
    name: `a helper runner joins the parent namespace and writes the nested uid_map "${inline(identity.uid)}" and gid_map "${inline(identity.gid)}"`,
    run: async ({ runnerPid }) => {
      const { child, ready } = launch(buildProgram(nestedHelperSteps(runnerPid, identity), hostArch()), { stdio: ['ignore', 'ignore', 'ignore'] });
      const exited = new Promise<number | null>((resolve) => child.once('close', (code) => { resolve(code); }));
      try {
        await ready;
      } catch (error) {
        if (child.pid !== undefined) await exited; // no zombie; a runner that never started never closes
        throw error;
      }
      await exited;
    },
  };
}
