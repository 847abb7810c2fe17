/*
 * iso-runner: runs a child program written by @iso/core between spawn and execve.
 *
 * Why it exists. Node cannot do this part itself: V8 marks its heap MADV_DONTFORK, so no
 * JavaScript runs in a forked child, and a Node process is always multi-threaded, so the
 * kernel refuses unshare(CLONE_NEWUSER) and setns() into a user namespace from it. PID
 * namespaces only take effect for children, and capabilities, no_new_privs and seccomp
 * are per-thread. So the code between clone and execve must be native, as runc's nsexec.c
 * is for Go. This file is that code, and nothing more.
 *
 * What it knows. Nothing about sandboxes or features. TypeScript decides every syscall,
 * its order and its arguments, and sends them as a program on fd 3 (wire.h, rendered from
 * src/wire.ts with the rules of every op). The whole program is validated before any step
 * runs. Five ops: syscall; fork (the parent supervises: forwards signals, reaps, exits
 * like the child; or, flagged helper, the child runs the next steps and exits); sync with
 * Node; die-with-parent; store (a saved fd into a struct in the arena). A new need is
 * written as syscall steps in TypeScript, never as a new op here.
 *
 * The order of setup (decided in TypeScript, recorded here because it shapes the ops):
 *   die-with-parent, close inherited fds, user namespace and id maps, the other
 *   namespaces, fork into PID 1 (which mounts /proc from inside), mounts, hostname, fork
 *   into the target under a tiny init, credentials, capabilities, no_new_privs, LSMs,
 *   seccomp last, execve.
 *
 * Failure. A failing step writes {step, syscall, errno} to fd 3, which is close-on-exec,
 * and exits 127. A successful execve closes fd 3, so EOF tells Node that setup finished.
 * Built freestanding: no libc, raw syscalls, static, for x86_64 and aarch64.
 */
#include <stddef.h>
#include <asm/unistd.h>
#include <asm/errno.h>
#include <asm/signal.h>
#include <linux/fcntl.h>
#include <linux/mman.h>
#include <linux/prctl.h>
#include <linux/signalfd.h>
#include <linux/wait.h>
#include "wire.h"

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;

#define PAGE 4096u

#if defined(__x86_64__)
static long sys6(long n, long a, long b, long c, long d, long e, long f) {
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  register long r9 __asm__("r9") = f;
  long ret;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                   : "rcx", "r11", "memory");
  return ret;
}
__asm__(".text\n.global _start\n_start:\n"
        "  xor %rbp, %rbp\n  mov %rsp, %rdi\n  and $-16, %rsp\n  call runner_main\n  hlt\n");
#elif defined(__aarch64__)
static long sys6(long n, long a, long b, long c, long d, long e, long f) {
  register long x8 __asm__("x8") = n;
  register long x0 __asm__("x0") = a;
  register long x1 __asm__("x1") = b;
  register long x2 __asm__("x2") = c;
  register long x3 __asm__("x3") = d;
  register long x4 __asm__("x4") = e;
  register long x5 __asm__("x5") = f;
  __asm__ volatile("svc #0"
                   : "+r"(x0)
                   : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
                   : "memory");
  return x0;
}
__asm__(".text\n.global _start\n_start:\n"
        "  mov x29, #0\n  mov x30, #0\n  mov x0, sp\n  and sp, x0, #-16\n  bl runner_main\n  b .\n");
#else
#error "iso-runner supports x86_64 and aarch64"
#endif

#define sys0(n) sys6(n, 0, 0, 0, 0, 0, 0)
#define sys1(n, a) sys6(n, (long)(a), 0, 0, 0, 0, 0)
#define sys2(n, a, b) sys6(n, (long)(a), (long)(b), 0, 0, 0, 0)
#define sys3(n, a, b, c) sys6(n, (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define sys4(n, a, b, c, d) sys6(n, (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)

struct status_page {
  volatile int set;
  volatile int status;
};

static long slots[MAX_SLOTS];
static long expected_parent;
static struct status_page *shared_status;

/* The compiler may emit calls to these for struct copies even when freestanding. */
void *memset(void *dst, int c, size_t n) {
  for (volatile u8 *d = dst; n--;) *d++ = (u8)c;
  return dst;
}
void *memcpy(void *dst, const void *src, size_t n) {
  const u8 *s = src;
  for (volatile u8 *d = dst; n--;) *d++ = *s++;
  return dst;
}

static __attribute__((noreturn)) void exit_now(int code) {
  for (;;) sys1(__NR_exit_group, code);
}

/* One 16-byte message on fd 3. The runner installs no signal handler: no call gets EINTR. */
static long send_message(u32 type, u32 a, u32 b, int32_t c) {
  u32 msg[4] = {type, a, b, (u32)c};
  return sys3(__NR_write, FD_CONTROL, msg, MESSAGE_SIZE);
}

static __attribute__((noreturn)) void protocol_error(u32 code, u32 index) {
  static const char hint[] = "iso-runner: invalid or missing program on fd 3 (this binary is started by @iso/core)\n";
  if (send_message(MSG_PROTOCOL, code, index, 0) != MESSAGE_SIZE) sys3(__NR_write, 2, hint, sizeof hint - 1);
  exit_now(EXIT_PROTOCOL);
}

static __attribute__((noreturn)) void step_failed(u32 index, u32 nr, long err) {
  send_message(MSG_STEP_FAILED, index, nr, (int32_t)err);
  exit_now(EXIT_STEP_FAILED);
}

/* Reads up to n bytes; returns the count read before EOF, or a negative errno. */
static long read_full(int fd, u8 *buf, u32 n) {
  u32 got = 0;
  while (got < n) {
    long r = sys3(__NR_read, fd, buf + got, n - got);
    if (r <= 0) return r < 0 ? r : got;
    got += (u32)r;
  }
  return got;
}

/* Structural checks that need only the header. Mirrored by validateProgram() in TS. */
static u32 check_header(const struct header *h) {
  if (h->magic != WIRE_MAGIC) return PROTO_MAGIC;
  if (h->version != WIRE_VERSION) return PROTO_VERSION;
  if (h->header_size != HEADER_SIZE) return PROTO_HEADER;
  if (h->total_size < HEADER_SIZE || h->total_size > MAX_PROGRAM_SIZE) return PROTO_SIZE;
  if (h->step_count == 0 || h->step_count > MAX_STEPS) return PROTO_LAYOUT;
  if (h->reloc_offset != HEADER_SIZE + h->step_count * STEP_SIZE) return PROTO_LAYOUT;
  if (h->reloc_count > MAX_PROGRAM_SIZE / 4) return PROTO_LAYOUT;
  u64 relocs_end = (u64)h->reloc_offset + (u64)h->reloc_count * 4;
  if (h->arena_offset != ((relocs_end + 7) & ~(u64)7)) return PROTO_LAYOUT;
  if ((u64)h->arena_offset + h->arena_size != h->total_size) return PROTO_LAYOUT;
  return 0;
}

/* The rules of OP_RULES, then those across steps (slots, skips, helper ranges), in the
 * order validateProgram() checks them; for every step before the first one runs. */
static u32 check_body(const u8 *prog, const struct header *h, u32 *bad) {
  const u32 *relocs = (const u32 *)(prog + h->reloc_offset);
  const u8 *arena = prog + h->arena_offset;
  for (u32 i = 0; i < h->reloc_count; i++) {
    u32 off = relocs[i];
    *bad = i;
    if (off % 8 || h->arena_size < 8 || off > h->arena_size - 8) return PROTO_RELOC;
    if (i > 0 && off <= relocs[i - 1]) return PROTO_RELOC;
    if (*(const u64 *)(arena + off) >= h->arena_size) return PROTO_RELOC;
  }
  const struct step *steps = (const struct step *)(prog + HEADER_SIZE);
  u32 defined = 0;
  u32 helper_end = 0; /* last step of the helper range being checked, or 0 */
  for (u32 i = 0; i < h->step_count; i++) {
    const struct step *s = &steps[i];
    u32 left = h->step_count - 1 - i;
    *bad = i;
    if (helper_end && i > helper_end) helper_end = 0;
    if (s->op >= OP_LIMIT || !OP_RULES[s->op].known) return PROTO_OP;
    const struct op_rule *r = &OP_RULES[s->op];
    if (s->flags & ~(u32)r->flags) return PROTO_STEP;
    if (helper_end && !r->in_helper) return PROTO_STEP;
    if (s->nr < r->nr_min || s->nr > r->nr_max) return PROTO_STEP;
    if (!r->saves && s->result_slot != NO_SLOT) return PROTO_STEP;
    if (!r->tolerates && (s->skip || s->tolerated[0])) return PROTO_STEP;
    if (s->flags & FLAG_HELPER) {
      if (s->nr == 0 || s->nr > left) return PROTO_STEP;
      helper_end = i + s->nr;
    } else if (s->op == OP_FORK && s->nr) {
      return PROTO_STEP;
    }
    if (s->arg_kinds >> 24) return PROTO_ARG;
    for (int a = 0; a < 6; a++) {
      u32 kind = (s->arg_kinds >> (4 * a)) & 0xf;
      u64 v = s->args[a];
      if (!((r->args[a] >> kind) & 1)) return PROTO_ARG;
      if (kind == ARG_NONE && v != 0) return PROTO_ARG;
      if (kind == ARG_ARENA && (v >= h->arena_size || (r->writes_nr && s->nr > h->arena_size - v))) return PROTO_ARG;
      if (kind == ARG_SLOT && (v >= MAX_SLOTS || !(defined & (1u << v)))) return PROTO_SLOT;
    }
    if (s->result_slot != NO_SLOT && s->result_slot >= MAX_SLOTS) return PROTO_SLOT;
    int ended = 0;
    for (int t = 0; t < MAX_TOLERATED; t++) {
      u16 e = s->tolerated[t];
      if (e == 0) ended = 1;
      else if (ended || e > MAX_ERRNO) return PROTO_STEP;
    }
    if (s->skip && (s->tolerated[0] == 0 || s->skip > left)) return PROTO_STEP;
    if (s->skip && helper_end && i + s->skip > helper_end) return PROTO_STEP;
    if (s->result_slot != NO_SLOT) defined |= 1u << s->result_slot;
  }
  return 0;
}

static int is_tolerated(const struct step *s, long err) {
  for (int t = 0; t < MAX_TOLERATED && s->tolerated[t]; t++)
    if (s->tolerated[t] == err) return 1;
  return 0;
}

/* Exit like the status: the same code, or the same signal re-raised on ourselves. */
static __attribute__((noreturn)) void exit_like(int status) {
  if ((status & 0x7f) == 0) exit_now((status >> 8) & 0xff);
  int sig = status & 0x7f;
  /* PID 1 cannot be killed by its own signal; the outer supervisor re-raises it. */
  if (sys0(__NR_getpid) == 1) exit_now(128 + sig);
  sys2(__NR_prctl, PR_SET_DUMPABLE, 0); /* no core file from the re-raise */
  u64 dfl[4] = {0, 0, 0, 0};            /* struct sigaction with SIG_DFL */
  sys4(__NR_rt_sigaction, sig, dfl, 0, 8);
  u64 one = (u64)1 << (sig - 1);
  sys4(__NR_rt_sigprocmask, SIG_UNBLOCK, &one, 0, 8);
  sys2(__NR_kill, sys0(__NR_getpid), sig);
  exit_now(128 + sig);
}

/* Reaps exited children (as PID 1 that includes orphans); exits once `child` has ended. */
static void reap(long child, int flags) {
  for (;;) {
    int status = 0;
    long w = sys4(__NR_wait4, -1, &status, flags, 0);
    if (w <= 0) return;
    if (w != child) continue;
    if (!shared_status->set) {
      shared_status->status = status;
      shared_status->set = 1;
    }
    exit_like(shared_status->status);
  }
}

/*
 * In a new child: remember the parent for dieWithParent. If it died between the clone and
 * here, we were reparented already and no PDEATHSIG will ever come, so stop now. Across a
 * new PID namespace the parent shows as 0 and cannot be checked this way.
 */
static void note_parent(long parent_pid) {
  long seen = sys0(__NR_getppid);
  if (seen != parent_pid && seen != 0) exit_now(EXIT_ABORTED);
  expected_parent = seen;
}

static long fork_child(u32 index) {
  long self = sys0(__NR_getpid);
  long child = sys6(__NR_clone, SIGCHLD, 0, 0, 0, 0, 0);
  if (child < 0) step_failed(index, __NR_clone, -child);
  if (child == 0) note_parent(self);
  return child;
}

/* Forks. Returns 0 in the child; the parent supervises until the child ends, then exits. */
static long fork_supervise(u32 index) {
  if (!shared_status) {
    long p = sys6(__NR_mmap, 0, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p < 0 && p >= -MAX_ERRNO) step_failed(index, __NR_mmap, -p);
    shared_status = (struct status_page *)p;
  }
  u64 all = ~(u64)0, old = 0;
  sys4(__NR_rt_sigprocmask, SIG_SETMASK, &all, &old, 8);
  long sfd = sys4(__NR_signalfd4, -1, &all, 8, SFD_CLOEXEC);
  if (sfd < 0) step_failed(index, __NR_signalfd4, -sfd);
  long child = fork_child(index);
  if (child == 0) {
    sys1(__NR_close, sfd);
    sys4(__NR_rt_sigprocmask, SIG_SETMASK, &old, 0, 8);
    return 0;
  }
  /* The supervisor keeps no fd but its signalfd: no copy of stdio or of a channel, so
   * EOFs reach Node on time. */
  if (sfd > 0) sys3(__NR_close_range, 0, sfd - 1, 0);
  sys3(__NR_close_range, sfd + 1, ~0u, 0);
  for (;;) {
    u8 info[128]; /* struct signalfd_siginfo */
    long r = sys3(__NR_read, sfd, info, sizeof info);
    if (r != (long)sizeof info) {
      reap(child, 0); /* cannot happen, but never leave the child unwatched */
      exit_now(EXIT_ABORTED);
    }
    u32 signo = *(u32 *)info;
    if (signo == SIGCHLD) reap(child, WNOHANG);
    else sys2(__NR_kill, child, signo);
  }
}

static void sync_with_parent(u32 id) {
  send_message(MSG_SYNC, id, (u32)sys0(__NR_getpid), 0);
  u32 ack[2] = {0, 0};
  if (read_full(FD_CONTROL, (u8 *)ack, ACK_SIZE) != ACK_SIZE || ack[0] != id || ack[1] != 0)
    exit_now(EXIT_ABORTED); /* Node gave up on us, and already knows why. */
}

static void die_with_parent(u32 index, const struct step *s) {
  long expected = (s->arg_kinds & 0xf) == ARG_IMMEDIATE ? (long)s->args[0] : expected_parent;
  sys2(__NR_prctl, PR_SET_PDEATHSIG, s->nr);
  /* The parent may have died before prctl took effect; then nobody waits for us. */
  if (sys0(__NR_getppid) != expected) step_failed(index, __NR_getppid, ESRCH);
}

static __attribute__((noreturn)) void run(const u8 *prog, const struct header *h, u8 *arena) {
  const struct step *steps = (const struct step *)(prog + HEADER_SIZE);
  u32 helper_end = 0; /* in a helper child: its last step, after which it exits */
  for (u32 i = 0; i < MAX_SLOTS; i++) slots[i] = -1;
  for (u32 i = 0; i < h->step_count; i++) {
    const struct step *s = &steps[i];
    if (helper_end && i > helper_end) exit_now(0);
    switch (s->op) {
      case OP_SYSCALL: {
        long a[6];
        for (int k = 0; k < 6; k++) {
          u32 kind = (s->arg_kinds >> (4 * k)) & 0xf;
          u64 v = s->args[k];
          a[k] = kind == ARG_ARENA ? (long)(arena + v) : kind == ARG_SLOT ? slots[v] : (long)v;
        }
        long r = sys6(s->nr, a[0], a[1], a[2], a[3], a[4], a[5]);
        if (r < 0 && r >= -MAX_ERRNO) {
          if (!is_tolerated(s, -r)) step_failed(i, s->nr, -r);
          i += s->skip;
        }
        if (s->result_slot != NO_SLOT) slots[s->result_slot] = r;
        break;
      }
      case OP_FORK: {
        long child = s->flags & FLAG_HELPER ? fork_child(i) : fork_supervise(i);
        if (s->result_slot != NO_SLOT) slots[s->result_slot] = child;
        /* A helper child runs the next nr steps and exits; its parent skips them. */
        if (child == 0) helper_end = s->flags & FLAG_HELPER ? i + s->nr : 0;
        else i += s->nr;
        break;
      }
      case OP_SYNC:
        sync_with_parent(s->nr);
        break;
      case OP_DIE_WITH_PARENT:
        die_with_parent(i, s);
        break;
      case OP_STORE: {
        u64 value = (u64)slots[s->args[0]];
        for (u32 b = 0; b < s->nr; b++) arena[s->args[1] + b] = (u8)(value >> (8 * b));
        break;
      }
    }
  }
  exit_now(0);
}

__attribute__((used, noreturn)) void runner_main(long *sp) {
  long argc = sp[0];
  char **argv = (char **)(sp + 1);
  const char *arg = argc == 2 ? argv[1] : "";
  const char *check = "--check";
  int k = 0;
  while (arg[k] && arg[k] == check[k]) k++;
  int check_only = argc == 2 && !arg[k] && !check[k];
  if (argc > 1 && !check_only) protocol_error(PROTO_USAGE, 0);
  expected_parent = sys0(__NR_getppid);
  if (sys3(__NR_fcntl, FD_CONTROL, F_SETFD, FD_CLOEXEC) < 0) protocol_error(PROTO_IO, 0);
  long fl = sys2(__NR_fcntl, FD_CONTROL, F_GETFL); /* reads below must block */
  if (fl >= 0 && (fl & O_NONBLOCK)) sys3(__NR_fcntl, FD_CONTROL, F_SETFL, fl & ~O_NONBLOCK);

  struct header h;
  long got = read_full(FD_CONTROL, (u8 *)&h, HEADER_SIZE);
  if (got != HEADER_SIZE) protocol_error(got < 0 ? PROTO_IO : PROTO_TRUNCATED, 0);
  u32 err = check_header(&h);
  if (err) protocol_error(err, 0);

  /* One zeroed guard page after the arena: a string missing its NUL still ends there. */
  u64 map_size = ((u64)h.total_size + PAGE + PAGE - 1) & ~(u64)(PAGE - 1);
  long mem = sys6(__NR_mmap, 0, (long)map_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem < 0 && mem >= -MAX_ERRNO) protocol_error(PROTO_IO, 0);
  u8 *prog = (u8 *)mem;
  memcpy(prog, &h, HEADER_SIZE);
  got = read_full(FD_CONTROL, prog + HEADER_SIZE, h.total_size - HEADER_SIZE);
  if (got != (long)(h.total_size - HEADER_SIZE)) protocol_error(got < 0 ? PROTO_IO : PROTO_TRUNCATED, 0);

  u32 bad = 0;
  err = check_body(prog, &h, &bad);
  if (err) protocol_error(err, bad);
  if (check_only) exit_now(0);

  const u32 *relocs = (const u32 *)(prog + h.reloc_offset);
  u8 *arena = prog + h.arena_offset;
  for (u32 i = 0; i < h.reloc_count; i++) *(u64 *)(arena + relocs[i]) += (u64)arena;
  run(prog, &h, arena);
}
