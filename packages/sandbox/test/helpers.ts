// What the sandbox suites share beyond the test kit: waiting on a process tree's output.
import { readFileSync } from 'node:fs';
import { processTree, waitFor } from '@iso/test-kit';

export { childrenOf, isAlive, isRoot, processTree, uid as callerUid, gid as callerGid, waitFor } from '@iso/test-kit';

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
