/* Generated from packages/core/src/wire.ts by renderWireHeader(); do not edit. */
#pragma once
#include <stdint.h>
#define WIRE_MAGIC 0x314f5349u
#define WIRE_VERSION 2
#define HEADER_SIZE 32
#define STEP_SIZE 72
#define MESSAGE_SIZE 16
#define ACK_SIZE 8
#define MAX_PROGRAM_SIZE 16777216u
#define MAX_STEPS 4096u
#define MAX_SLOTS 32u
#define MAX_TOLERATED 4
#define MAX_SYSCALL_NR 1024u
#define MAX_ERRNO 4095
#define NO_SLOT 0xffffu
#define FD_CONTROL 3
#define FD_RETURN_CHANNEL 4
#define FD_BY_PATH 100
#define OP_SYSCALL 1
#define OP_FORK 2
#define OP_SYNC 3
#define OP_DIE_WITH_PARENT 4
#define OP_STORE 5
#define FLAG_HELPER 1
#define ARG_NONE 0
#define ARG_IMMEDIATE 1
#define ARG_ARENA 2
#define ARG_SLOT 3
#define MSG_SYNC 1
#define MSG_STEP_FAILED 2
#define MSG_PROTOCOL 3
#define MSG_EXEC_NEXT 4
#define PROTO_TRUNCATED 1
#define PROTO_MAGIC 2
#define PROTO_VERSION 3
#define PROTO_HEADER 4
#define PROTO_SIZE 5
#define PROTO_LAYOUT 6
#define PROTO_RELOC 7
#define PROTO_OP 8
#define PROTO_STEP 9
#define PROTO_ARG 10
#define PROTO_SLOT 11
#define PROTO_IO 12
#define PROTO_USAGE 13
#define EXIT_STEP_FAILED 127
#define EXIT_PROTOCOL 125
#define EXIT_ABORTED 126
struct header {
  uint32_t magic;
  uint16_t version;
  uint16_t header_size;
  uint32_t total_size;
  uint32_t step_count;
  uint32_t reloc_offset;
  uint32_t reloc_count;
  uint32_t arena_offset;
  uint32_t arena_size;
};
_Static_assert(sizeof(struct header) == 32, "header layout");
struct step {
  uint16_t op;
  uint16_t flags;
  uint16_t result_slot;
  uint16_t skip;
  uint32_t nr;
  uint32_t arg_kinds;
  uint16_t tolerated[4];
  uint64_t args[6];
};
_Static_assert(sizeof(struct step) == 72, "step layout");
struct op_rule {
  unsigned nr_min, nr_max;
  unsigned char args[6];
  unsigned char known, saves, tolerates, flags, in_helper, writes_nr;
};
static const struct op_rule OP_RULES[6] = {
  [OP_SYSCALL] = {0u, 1023u, {15, 15, 15, 15, 15, 15}, 1, 1, 1, 0, 1, 0}, /* 1 */
  [OP_FORK] = {0u, 4096u, {1, 1, 1, 1, 1, 1}, 1, 1, 0, 1, 0, 0}, /* 2 */
  [OP_SYNC] = {0u, 65535u, {1, 1, 1, 1, 1, 1}, 1, 0, 0, 0, 0, 0}, /* 3 */
  [OP_DIE_WITH_PARENT] = {1u, 64u, {3, 1, 1, 1, 1, 1}, 1, 0, 0, 0, 1, 0}, /* 4 */
  [OP_STORE] = {1u, 8u, {8, 4, 1, 1, 1, 1}, 1, 0, 0, 0, 1, 1}, /* 5 */
};
#define OP_LIMIT 6u
