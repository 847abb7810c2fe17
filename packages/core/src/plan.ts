import { constants } from 'node:os';
import { withHint } from './errors.js';
import type { IsoError } from './errors.js';
import { AT_FDCWD, O } from './consts.js';
import { bytes, flags, imm, result, str, strings } from './program/build.js';
import type { ChildStep, StagedSteps, SyscallStep } from './program/types.js';
import { iovecStruct, msghdrStruct, rightsCmsgStruct } from './structs.js';
import { FixedFd } from './wire.js';

export interface ExecSpec {
  file: string;
  args: readonly string[];
  env: Readonly<Record<string, string>>;
  /** Working directory of the target; missing → the step fails, unless `cwdOptional`. */
  cwd: string;
  /** When the cwd may not exist in the sandbox: fall back to '/' instead of failing. */
  cwdOptional?: boolean;
  /** setsid() before exec, so the target cannot reach the caller's terminal (TIOCSTI). */
  newSession: boolean;
  /** The program sends fds back on the return channel (sendFdStep): keep it, close-on-exec. */
  returnChannel?: boolean;
}

const NOT_HERE = ['ENOENT', 'ENOTDIR', 'EACCES'] as const;

/** The PATH search execvp would do, as candidate paths tried in order. */
export function execCandidates(file: string, path: string | undefined): string[] {
  if (file.includes('/')) return [file];
  const dirs = (path ?? '').split(':').filter((dir) => dir !== '');
  return dirs.map((dir) => `${dir.replace(/\/+$/, '')}/${file}`);
}

const F_SETFD = 2;
const FD_CLOEXEC = 1;

/**
 * Steps every program starts with: die with Node, and keep no fd beyond stdio and the
 * runner's channels. With `returnChannel`, FixedFd.returnChannel stays, made close-on-exec.
 */
export function prepareSteps(parentPid: number, returnChannel = false): ChildStep[] {
  const firstInherited = returnChannel ? FixedFd.returnChannel + 1 : FixedFd.control + 1;
  const steps: ChildStep[] = [
    { op: 'dieWithParent', name: 'core.dieWithParent', signal: constants.signals.SIGKILL, expectedParent: parentPid },
    // fd 3 is the runner's channel and close-on-exec; everything above it is inherited noise.
    { op: 'syscall', name: 'core.closeFds', syscall: 'close_range', args: [imm(firstInherited), imm(0xffffffff), imm(0)] },
  ];
  if (returnChannel)
    steps.push({ op: 'syscall', name: 'core.returnChannel', syscall: 'fcntl', args: [imm(FixedFd.returnChannel), imm(F_SETFD), imm(FD_CLOEXEC)] });
  steps.push(...stdioSteps(firstInherited));
  return steps;
}

/**
 * Node's say on fds 0 to 2, sent after the program as one byte per fd on the control
 * channel (sendStdio): a byte alone keeps the runner's own fd, a byte with SCM_RIGHTS
 * replaces it. A cold launch sends three bare bytes; a runner started ahead of time (a
 * pool's) gets the launch's stdio this way. The fds above `first` were just closed, so a
 * received fd lands at `first`: a saved result cannot name it, as it comes in a control
 * message. With no fd sent, dup3 fails with EBADF and the close is skipped.
 */
export const STDIO_RECEIVE_STEP = 'core.stdio.receive';

function stdioSteps(first: number): ChildStep[] {
  const steps: ChildStep[] = [];
  for (const target of [0, 1, 2]) {
    const control = rightsCmsgStruct.asBlock({}, {}, '{SCM_RIGHTS?}');
    const iov = iovecStruct.asBlock({ iov_len: 1n }, { iov_base: bytes(new Uint8Array(1), 'byte') }, '{byte, 1}');
    // Each call has its own msghdr: the kernel writes msg_controllen back into it.
    const message = msghdrStruct.asBlock(
      { msg_iovlen: 1n, msg_controllen: BigInt(rightsCmsgStruct.size) },
      { msg_iov: iov, msg_control: control },
      '{iov=[{byte, 1}], control={SCM_RIGHTS?}}',
    );
    steps.push(
      { op: 'syscall', name: STDIO_RECEIVE_STEP, syscall: 'recvmsg', args: [imm(FixedFd.control), message, imm(0)] },
      { op: 'syscall', name: 'core.stdio.replace', syscall: 'dup3', args: [imm(first), imm(target), imm(0)], tolerate: ['EBADF'], skipOnTolerated: 1 },
      { op: 'syscall', name: 'core.stdio.close', syscall: 'close', args: [imm(first)] },
    );
  }
  return steps;
}

/**
 * The target's last steps before the LSM and seccomp stages: die with the parent again
 * (credential changes clear PDEATHSIG), a new session, the working directory, and the
 * announcement that only the last steps are left.
 */
export function sessionSteps(spec: ExecSpec): ChildStep[] {
  const steps: ChildStep[] = [{ op: 'dieWithParent', name: 'core.dieWithParent', signal: constants.signals.SIGKILL }];
  if (spec.newSession) steps.push({ op: 'syscall', name: 'core.setsid', syscall: 'setsid', args: [] });
  if (spec.cwdOptional) {
    steps.push({ op: 'syscall', name: 'core.chdir', syscall: 'chdir', args: [str('/')] });
    steps.push({ op: 'syscall', name: 'core.chdir', syscall: 'chdir', args: [str(spec.cwd)], tolerate: NOT_HERE });
  } else {
    steps.push({ op: 'syscall', name: 'core.chdir', syscall: 'chdir', args: [str(spec.cwd)] });
  }
  // Setup is over but for LSMs, seccomp and execve: from here an EOF means exec'd.
  steps.push({ op: 'announceExec', name: 'core.announceExec' });
  return steps;
}

/** execve over the PATH candidates, as execvp would try them. Comes right after seccomp. */
export function execveSteps(spec: ExecSpec): ChildStep[] {
  const steps: ChildStep[] = [];
  const candidates = execCandidates(spec.file, spec.env.PATH);
  if (candidates.length === 0) candidates.push(spec.file);
  const argv = strings([spec.file, ...spec.args]);
  const envp = strings(
    Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
    `[${Object.keys(spec.env).length} vars]`,
  );
  candidates.forEach((candidate, i) => {
    const last = i === candidates.length - 1;
    steps.push({
      op: 'syscall',
      name: 'core.exec',
      syscall: 'execve',
      args: [str(candidate), argv, envp],
      ...(last ? {} : { tolerate: NOT_HERE }),
    });
  });
  return steps;
}

/** Session steps then execve, for programs composed by hand. */
export function execSteps(spec: ExecSpec): ChildStep[] {
  return [...sessionSteps(spec), ...execveSteps(spec)];
}

/** Core's share of a program: the prepare, session and exec stages. */
export function corePlan(spec: ExecSpec, parentPid: number): StagedSteps {
  return { prepare: prepareSteps(parentPid, spec.returnChannel), session: sessionSteps(spec), exec: execveSteps(spec) };
}

/**
 * Writes `content` to `path` from the child in one write(2), as /proc files such as
 * uid_map need: openat, write, close. `name` prefixes the three step names.
 */
export function writeFileSteps(name: string, path: string, content: string): ChildStep[] {
  const data = Buffer.from(content, 'utf8');
  const fd = `${name}.fd`;
  return [
    {
      op: 'syscall',
      name: `${name}.open`,
      syscall: 'openat',
      args: [flags(AT_FDCWD, { AT_FDCWD }), str(path), flags(O.O_WRONLY | O.O_CLOEXEC, O)],
      saveAs: fd,
    },
    { op: 'syscall', name: `${name}.write`, syscall: 'write', args: [result(fd), bytes(data, JSON.stringify(content)), imm(data.length)] },
    { op: 'syscall', name: `${name}.close`, syscall: 'close', args: [result(fd)] },
  ];
}

const SOL_SOCKET = 1;
const SCM_RIGHTS = 1;
const MSG_NOSIGNAL = 0x4000;

/**
 * sendmsg(socket, one byte with SCM_RIGHTS [fd]): hands the fd saved as `fd` to Node,
 * which holds the other end of `socket` (the return channel, which a launch with
 * `returnChannel: true` passes, and @iso/core/native's receiveFd reads). A plain syscall
 * step: the fd reaches the control message through a store step right before it.
 */
export function sendFdStep(name: string, fd: string, socket: number = FixedFd.returnChannel): SyscallStep {
  const control = rightsCmsgStruct.asBlock(
    { cmsg_len: 20n, cmsg_level: SOL_SOCKET, cmsg_type: SCM_RIGHTS }, // CMSG_LEN(sizeof(int))
    {},
    `{SOL_SOCKET, SCM_RIGHTS, [$${fd}]}`,
    { fd },
  );
  const iov = iovecStruct.asBlock({ iov_len: 1n }, { iov_base: bytes(new Uint8Array(1), '"\\0"') }, '{"\\0", 1}');
  const message = msghdrStruct.asBlock(
    { msg_iovlen: 1n, msg_controllen: BigInt(rightsCmsgStruct.size) },
    { msg_iov: iov, msg_control: control },
    `{iov=[{"\\0", 1}], control={SOL_SOCKET, SCM_RIGHTS, [$${fd}]}}`,
  );
  return { op: 'syscall', name, syscall: 'sendmsg', args: [imm(socket), message, flags(MSG_NOSIGNAL, { MSG_NOSIGNAL })] };
}

/**
 * Adds what the caller can act on to a failed core step: close_range missing (Linux before
 * 5.9), or a program name that is not in the sandbox's PATH. Others come back unchanged.
 */
export function refineCoreError(error: IsoError, exec: { file: string; path: string }): IsoError {
  if (error.step === 'core.closeFds' && error.code === 'ENOSYS') return withHint(error, 'ISO_UNSUPPORTED_KERNEL', 'iso needs Linux 5.9 or newer (close_range)');
  if (error.step === 'core.exec' && error.code === 'ENOENT' && !exec.file.includes('/'))
    return withHint(error, 'ISO_SETUP_FAILED', `${JSON.stringify(exec.file)} is not in the sandbox's PATH (${exec.path})`);
  return error;
}
