// As root, gives root and nobody (uid 65534, the rootless run) subordinate ids if they have
// none, so the multi-range tests can run: the same lines scripts/setup.sh adds. As another
// user it changes nothing; the tests then fail with the line to add.
import { appendFileSync, readFileSync } from 'node:fs';

export const SUBORDINATE_LINES = [
  { user: 'root', uid: 0, start: 300000, count: 65536 },
  { user: 'nobody', uid: 65534, start: 200000, count: 65536 },
] as const;

function ensure(file: string): void {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    // created below
  }
  const entries = text.split('\n').map((line) => line.trim().split(':')).filter((f) => f.length === 3);
  for (const want of SUBORDINATE_LINES) {
    if (entries.some(([who]) => who === want.user || who === String(want.uid))) continue;
    const clash = entries.find(([, start, count]) => Number(start) < want.start + want.count && want.start < Number(start) + Number(count));
    if (clash) throw new Error(`${file}: cannot add ${want.user}:${want.start}:${want.count}, it overlaps ${clash.join(':')}`);
    const line = `${want.user}:${want.start}:${want.count}\n`;
    appendFileSync(file, text === '' || text.endsWith('\n') ? line : `\n${line}`);
    text += line;
  }
}

export function setup(): void {
  if (process.getuid?.() !== 0) return;
  ensure('/etc/subuid');
  ensure('/etc/subgid');
}
