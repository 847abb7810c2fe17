import { existsSync, readFileSync, readdirSync } from 'node:fs';

export const isRoot = process.getuid?.() === 0;
export const callerUid = process.getuid?.() ?? 0;
export const callerGid = process.getgid?.() ?? 0;

/** Direct children of a process, from /proc/<pid>/task/<tid>/children. */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tasks) {
    try {
      const text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
      if (text) out.push(...text.split(/\s+/).map(Number));
    } catch {
      // the task ended
    }
  }
  return out;
}

/** A process and all its descendants, parents first. */
export function processTree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) out.push(...childrenOf(out[i]!));
  return out;
}

/** True while the pid exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  if (!existsSync(`/proc/${pid}`)) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

export async function waitFor(check: () => boolean, what: string, limitMs = 10_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Resolves with the first stdout line matching `pattern`. */
export function lineMatching(stream: NodeJS.ReadableStream | null, pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    if (!stream) {
      reject(new Error('no stream'));
      return;
    }
    let seen = '';
    const onData = (chunk: Buffer | string) => {
      seen += chunk.toString();
      const line = seen.split('\n').find((l) => pattern.test(l));
      if (line !== undefined) {
        stream.off('data', onData);
        resolve(line);
      }
    };
    stream.on('data', onData);
    stream.once('end', () => { reject(new Error(`stream ended before ${String(pattern)}; saw ${JSON.stringify(seen)}`)); });
  });
}

/** The deepest process under `pid` once its command is `comm` (the target after its exec). */
export async function descendantRunning(pid: number, comm: string): Promise<number> {
  let found: number | undefined;
  await waitFor(() => {
    const last = processTree(pid).at(-1);
    try {
      if (last !== undefined && readFileSync(`/proc/${last}/comm`, 'utf8').trim() === comm) found = last;
    } catch {
      // it just ended
    }
    return found !== undefined;
  }, `${comm} under ${pid}`);
  return found!;
}
