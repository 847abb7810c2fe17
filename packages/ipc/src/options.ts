/**
 * Options of the `ipc` key: a new IPC namespace (Linux 2.6.19+), so SysV shared memory,
 * semaphores and message queues and POSIX message queues are the sandbox's own.
 */
export interface IpcOptions {
  /**
   * Mount a fresh mqueue filesystem on /dev/mqueue, so the POSIX queues listed there are
   * the new namespace's. Needs a mount namespace; skipped when /dev/mqueue is missing.
   * @defaultValue true
   */
  mqueue?: boolean;
  /**
   * Where to mount it. A path given here must exist inside the sandbox (the step fails
   * otherwise); the default is skipped quietly when the host has no /dev/mqueue.
   * @defaultValue '/dev/mqueue'
   */
  mqueueMountPoint?: string;
}

export type IpcOption = boolean | IpcOptions;

/** The `ipc` option after checking. */
export type IpcSettings = Required<IpcOptions>;
