#!/usr/bin/env node
// Generates the syscall number tables in packages/core/src/syscalls/ from a kernel source
// tree's own syscall tables (.tbl files), and checks them against installed UAPI headers.
//
// Why the .tbl files and not the installed headers: distributions ship UAPI headers that lag
// the running kernel by years, so tables built from them miss every newer syscall. The kernel
// generates its own headers from these .tbl files, so they are the source of truth.
//
// Usage:
//   node packages/core/scripts/gen-syscalls.mjs --linux <kernel-tree> [--version 6.18] [--out <dir>]
//       [--check-headers [<include-dir>]]
//   node packages/core/scripts/gen-syscalls.mjs --check-headers [<include-dir>]
//
// --linux reads arch/x86/entry/syscalls/syscall_{64,32}.tbl, scripts/syscall.tbl and
// arch/arm64/kernel/Makefile.syscalls and writes x86_64.ts, x32.ts, i386.ts and aarch64.ts.
// --check-headers (default dir /usr/include) verifies that every __NR_* in the installed
// headers names a syscall with the same number in the tables (freshly generated ones with
// --linux, else the committed .ts files). Names only in the tables are fine: they are newer
// than the headers. Any disagreement is printed and the exit status is 1.

import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SCRIPT = 'packages/core/scripts/gen-syscalls.mjs';
const DEFAULT_OUT = resolve(dirname(fileURLToPath(import.meta.url)), '../src/syscalls');
const X32_SYSCALL_BIT = 0x40000000;

const TBL_64 = 'arch/x86/entry/syscalls/syscall_64.tbl';
const TBL_32 = 'arch/x86/entry/syscalls/syscall_32.tbl';
const TBL_GENERIC = 'scripts/syscall.tbl';
const ARM64_ABIS = 'arch/arm64/kernel/Makefile.syscalls';

/** One generated table: which .tbl file, which ABI column values it keeps, where it goes. */
const SPECS = [
  { abi: 'x86_64', file: 'x86_64.ts', constName: 'SYSCALLS_X86_64', source: TBL_64, abis: ['common', '64'] },
  // x32 shares the x86_64 table; its numbers are used with X32_SYSCALL_BIT set, which the
  // table leaves out so that the numbers read the same as in the kernel source.
  { abi: 'x32', file: 'x32.ts', constName: 'SYSCALLS_X32', source: TBL_64, abis: ['common', 'x32'] },
  { abi: 'i386', file: 'i386.ts', constName: 'SYSCALLS_I386', source: TBL_32, abis: ['i386'] },
  // arm64 uses the generic table since Linux 6.11; its extra ABIs come from Makefile.syscalls.
  { abi: 'aarch64', file: 'aarch64.ts', constName: 'SYSCALLS_AARCH64', source: TBL_GENERIC, abis: ['common', '64'] },
];

function fail(message) {
  console.error(`gen-syscalls: ${message}`);
  process.exit(2);
}

function parseCliArgs(argv) {
  const opts = { linux: undefined, version: undefined, out: DEFAULT_OUT, checkHeaders: undefined };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    // --check-headers takes an optional directory, so a following "--flag" is not its value.
    const next = argv[i + 1] !== undefined && !argv[i + 1].startsWith('--') ? argv[i + 1] : undefined;
    const value = () => {
      if (next === undefined) fail(`${arg} needs a value`);
      i++;
      return next;
    };
    switch (arg) {
      case '--linux':
        opts.linux = resolve(value());
        break;
      case '--version':
        opts.version = value();
        break;
      case '--out':
        opts.out = resolve(value());
        break;
      case '--check-headers':
        opts.checkHeaders = next ?? '/usr/include';
        if (next !== undefined) i++;
        break;
      case '--help':
      case '-h':
        console.log(
          `usage: node ${SCRIPT} --linux <kernel-tree> [--version X.Y] [--out <dir>] [--check-headers [<dir>]]\n` +
            `       node ${SCRIPT} --check-headers [<dir>]`,
        );
        process.exit(0);
        break;
      default:
        fail(`unknown argument: ${arg}`);
    }
  }
  if (opts.linux === undefined && opts.checkHeaders === undefined) fail('give --linux <kernel-tree> and/or --check-headers');
  return opts;
}

// ---------------------------------------------------------------------------------------------
// Reading the kernel tree

/** Parses a .tbl file into rows of { nr, abi, name }. Rows with no name are reserved slots. */
function parseTbl(text, path) {
  const rows = [];
  text.split('\n').forEach((raw, index) => {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') return;
    const [nrText, abi, name] = line.split(/\s+/);
    if (!/^\d+$/.test(nrText) || abi === undefined) throw new Error(`${path}:${index + 1}: cannot parse: ${raw}`);
    if (name === undefined) return;
    rows.push({ nr: Number(nrText), abi, name });
  });
  return rows;
}

/** The extra ABIs arm64 takes from the generic table (syscall_abis_64 += ...). */
function readArm64Abis(tree) {
  const path = join(tree, ARM64_ABIS);
  if (!existsSync(path)) throw new Error(`${ARM64_ABIS} not found: the kernel tree must be Linux 6.11 or newer`);
  const extra = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const match = /^\s*syscall_abis_64\s*:?\+?=\s*(.*)$/.exec(line);
    if (match) extra.push(...match[1].trim().split(/\s+/).filter(Boolean));
  }
  return extra;
}

function readKernelVersion(tree) {
  const path = join(tree, 'Makefile');
  if (!existsSync(path)) return undefined;
  const text = readFileSync(path, 'utf8');
  const version = /^VERSION\s*=\s*(\d+)/m.exec(text)?.[1];
  const patchlevel = /^PATCHLEVEL\s*=\s*(\d+)/m.exec(text)?.[1];
  return version !== undefined && patchlevel !== undefined ? `${version}.${patchlevel}` : undefined;
}

/** Picks the rows of the wanted ABIs, sorted by number; names and numbers must be unique. */
function selectTable(rows, abis, label) {
  const wanted = new Set(abis);
  const byName = new Map();
  const byNr = new Map();
  for (const row of rows) {
    if (!wanted.has(row.abi)) continue;
    if (byName.has(row.name)) throw new Error(`${label}: ${row.name} appears twice (${byName.get(row.name)} and ${row.nr})`);
    if (byNr.has(row.nr)) throw new Error(`${label}: ${row.nr} is both ${byNr.get(row.nr)} and ${row.name}`);
    byName.set(row.name, row.nr);
    byNr.set(row.nr, row.name);
  }
  if (byName.size === 0) throw new Error(`${label}: no rows for ABIs ${abis.join(', ')}`);
  return [...byName].map(([name, nr]) => ({ name, nr })).sort((a, b) => a.nr - b.nr);
}

function buildTables(tree) {
  const arm64Extra = readArm64Abis(tree);
  const cache = new Map();
  const tables = new Map();
  for (const spec of SPECS) {
    const path = join(tree, spec.source);
    if (!existsSync(path)) throw new Error(`${spec.source} not found under ${tree}`);
    if (!cache.has(path)) cache.set(path, parseTbl(readFileSync(path, 'utf8'), spec.source));
    const abis = spec.abi === 'aarch64' ? [...spec.abis, ...arm64Extra] : spec.abis;
    tables.set(spec.abi, { spec, abis, entries: selectTable(cache.get(path), abis, spec.abi) });
  }
  return tables;
}

// ---------------------------------------------------------------------------------------------
// Writing TypeScript

function propertyKey(name) {
  return /^[A-Za-z_$][\w$]*$/.test(name) ? name : `'${name}'`;
}

function render({ spec, abis, entries }, version) {
  const lines = [
    `// Generated by ${SCRIPT} from Linux ${version} (${spec.source}). Do not edit.`,
    `// ABIs: ${abis.join(', ')}.`,
    '',
  ];
  if (spec.abi === 'x32') {
    lines.push(
      '/** Set in every x32 syscall number; SYSCALLS_X32 leaves it out. */',
      `export const X32_SYSCALL_BIT = 0x${X32_SYSCALL_BIT.toString(16)};`,
      '',
    );
  }
  lines.push(`export const ${spec.constName}_KERNEL = '${version}';`, '', `export const ${spec.constName} = {`);
  for (const { name, nr } of entries) lines.push(`  ${propertyKey(name)}: ${nr},`);
  lines.push('} as const satisfies Readonly<Record<string, number>>;', '');
  return lines.join('\n');
}

/** Reads back a committed table, for --check-headers without --linux. */
function readGenerated(out) {
  const tables = new Map();
  for (const spec of SPECS) {
    const path = join(out, spec.file);
    if (!existsSync(path)) throw new Error(`${path} not found: generate it first with --linux`);
    const text = readFileSync(path, 'utf8');
    const body = new RegExp(`export const ${spec.constName} = \\{([^}]*)\\}`).exec(text)?.[1];
    if (body === undefined) throw new Error(`${path}: no ${spec.constName} object`);
    const entries = [...body.matchAll(/^\s*'?([\w$]+)'?:\s*(\d+),/gm)].map((m) => ({ name: m[1], nr: Number(m[2]) }));
    tables.set(spec.abi, { spec, abis: [], entries });
  }
  return tables;
}

// ---------------------------------------------------------------------------------------------
// Checking against installed headers
//
// The x86 headers are flat lists of #defines, but the generic (arm64) header of Linux < 6.11
// picks numbers with #if on __ARCH_WANT_* and __BITS_PER_LONG, so this carries a small C
// preprocessor: object-like macros, #include, and #if/#ifdef/#elif/#else with integer
// expressions. It is only as much of cpp as those headers need.

function tokenize(expr) {
  const tokens = [];
  const re = /\s*(0[xX][0-9a-fA-F]+|\d+|[A-Za-z_]\w*|&&|\|\||==|!=|<=|>=|<<|>>|[-+*/%()!~<>&|^?:])[uUlL]*/y;
  let pos = 0;
  while (pos < expr.length) {
    if (/^\s*$/.test(expr.slice(pos))) break;
    re.lastIndex = pos;
    const match = re.exec(expr);
    if (!match) throw new Error(`cannot tokenize: ${expr}`);
    tokens.push(match[1]);
    pos = re.lastIndex;
  }
  return tokens;
}

/** Replaces defined(X) and macro names; unknown names are 0, as in cpp. */
function expandTokens(tokens, macros, seen = new Set()) {
  const out = [];
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    if (token === 'defined') {
      let name = tokens[++i];
      if (name === '(') {
        name = tokens[++i];
        i++; // ')'
      }
      out.push(macros.has(name) ? '1' : '0');
    } else if (/^[A-Za-z_]/.test(token)) {
      const body = macros.get(token);
      if (body === undefined || seen.has(token)) out.push('0');
      else out.push('(', ...expandTokens(tokenize(body), macros, new Set([...seen, token])), ')');
    } else {
      out.push(token);
    }
  }
  return out;
}

const BINARY = [
  ['||'],
  ['&&'],
  ['|'],
  ['^'],
  ['&'],
  ['==', '!='],
  ['<', '>', '<=', '>='],
  ['<<', '>>'],
  ['+', '-'],
  ['*', '/', '%'],
];

function evaluate(expr, macros) {
  const tokens = expandTokens(tokenize(expr), macros);
  let pos = 0;
  const peek = () => tokens[pos];
  const take = () => tokens[pos++];
  const unary = () => {
    const token = take();
    if (token === '(') {
      const value = ternary();
      if (take() !== ')') throw new Error(`missing ) in: ${expr}`);
      return value;
    }
    if (token === '!') return unary() ? 0 : 1;
    if (token === '-') return -unary();
    if (token === '+') return unary();
    if (token === '~') return ~unary();
    if (token !== undefined && /^(0[xX][0-9a-fA-F]+|\d+)$/.test(token)) return Number(token);
    throw new Error(`unexpected ${token ?? 'end'} in: ${expr}`);
  };
  const binary = (level) => {
    if (level === BINARY.length) return unary();
    let left = binary(level + 1);
    while (BINARY[level].includes(peek())) {
      const op = take();
      const right = binary(level + 1);
      left = applyBinary(op, left, right);
    }
    return left;
  };
  const ternary = () => {
    const cond = binary(0);
    if (peek() !== '?') return cond;
    take();
    const a = ternary();
    if (take() !== ':') throw new Error(`missing : in: ${expr}`);
    const b = ternary();
    return cond ? a : b;
  };
  const value = ternary();
  if (pos !== tokens.length) throw new Error(`trailing tokens in: ${expr}`);
  return value;
}

function applyBinary(op, a, b) {
  switch (op) {
    case '||': return a || b ? 1 : 0;
    case '&&': return a && b ? 1 : 0;
    case '|': return a | b;
    case '^': return a ^ b;
    case '&': return a & b;
    case '==': return a === b ? 1 : 0;
    case '!=': return a !== b ? 1 : 0;
    case '<': return a < b ? 1 : 0;
    case '>': return a > b ? 1 : 0;
    case '<=': return a <= b ? 1 : 0;
    case '>=': return a >= b ? 1 : 0;
    case '<<': return a << b;
    case '>>': return a >> b;
    case '+': return a + b;
    case '-': return a - b;
    case '*': return a * b;
    case '/': return Math.trunc(a / b);
    case '%': return a % b;
    default: throw new Error(`unknown operator ${op}`);
  }
}

/**
 * Runs the directives of a header and returns its object-like macros. `skip` names includes
 * that must not be read because `macros` already holds what they would define.
 */
function preprocess(file, { includeDirs, macros = new Map(), skip = new Set(), depth = 0 }) {
  if (depth > 20) throw new Error(`includes nested too deep at ${file}`);
  const text = readFileSync(file, 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, ' ')
    .replace(/\\\n/g, ' ')
    .replace(/\/\/.*$/gm, '');
  // Each frame: is this branch live, has an earlier branch of this #if been taken, was the parent live.
  const stack = [];
  const live = () => stack.every((frame) => frame.active);
  for (const raw of text.split('\n')) {
    const match = /^\s*#\s*(\w+)\s*(.*?)\s*$/.exec(raw);
    if (!match) continue;
    const [, directive, rest] = match;
    switch (directive) {
      case 'if':
      case 'ifdef':
      case 'ifndef': {
        let active = false;
        if (live()) {
          if (directive === 'if') active = evaluate(rest, macros) !== 0;
          else active = macros.has(rest.split(/\s+/)[0]) === (directive === 'ifdef');
        }
        stack.push({ active, taken: active });
        break;
      }
      case 'elif': {
        const frame = stack.at(-1);
        if (!frame) throw new Error(`${file}: #elif without #if`);
        frame.active = false;
        if (!frame.taken && stack.slice(0, -1).every((f) => f.active) && evaluate(rest, macros) !== 0) {
          frame.active = true;
          frame.taken = true;
        }
        break;
      }
      case 'else': {
        const frame = stack.at(-1);
        if (!frame) throw new Error(`${file}: #else without #if`);
        frame.active = !frame.taken;
        frame.taken = true;
        break;
      }
      case 'endif':
        if (!stack.pop()) throw new Error(`${file}: #endif without #if`);
        break;
      case 'define': {
        if (!live()) break;
        const def = /^([A-Za-z_]\w*)(\()?\s*(.*)$/.exec(rest);
        if (!def) throw new Error(`${file}: bad #define ${rest}`);
        // Function-like macros (__SYSCALL etc.) never give a syscall number; keep only the name.
        macros.set(def[1], def[2] ? '' : def[3]);
        break;
      }
      case 'undef':
        if (live()) macros.delete(rest.split(/\s+/)[0]);
        break;
      case 'include': {
        if (!live()) break;
        const inc = /^[<"]([^>"]+)[>"]/.exec(rest);
        if (!inc) throw new Error(`${file}: bad #include ${rest}`);
        if (skip.has(inc[1])) break;
        const dirs = rest.startsWith('"') ? [dirname(file), ...includeDirs] : includeDirs;
        const found = dirs.map((dir) => join(dir, inc[1])).find((path) => existsSync(path));
        if (!found) throw new Error(`${file}: cannot find #include ${rest}`);
        preprocess(found, { includeDirs, macros, skip, depth: depth + 1 });
        break;
      }
      default:
        break; // #error, #warning, #pragma and the like do not define numbers
    }
  }
  if (stack.length !== 0) throw new Error(`${file}: unterminated #if`);
  return macros;
}

/** The __NR_<name> numbers a header defines, minus `bias` (the x32 bit). */
function headerNumbers(macros, bias = 0) {
  const numbers = new Map();
  for (const name of macros.keys()) {
    if (!name.startsWith('__NR_')) continue;
    const syscall = name.slice('__NR_'.length);
    // Not syscalls: the table size and the start of the arch-private range.
    if (syscall === 'syscalls' || syscall === 'arch_specific_syscall') continue;
    numbers.set(syscall, evaluate(name, macros) - bias);
  }
  return numbers;
}

/** The header sets to compare, for include dir `dir`; absent ones are reported and skipped. */
function headerSources(dir) {
  const first = (paths) => paths.find((path) => existsSync(path));
  const x86 = (file) => first([join(dir, 'x86_64-linux-gnu/asm', file), join(dir, 'asm', file)]);
  const sources = [];
  const add = (abi, path, load) => sources.push({ abi, path, load });
  const flat = (path, macros = new Map()) => () => preprocess(path, { includeDirs: [dir], macros });

  const h64 = x86('unistd_64.h');
  const h32 = x86('unistd_32.h');
  const hx32 = x86('unistd_x32.h');
  add('x86_64', h64, h64 && flat(h64));
  add('i386', h32, h32 && flat(h32));
  add('x32', hx32, hx32 && flat(hx32, new Map([['__X32_SYSCALL_BIT', String(X32_SYSCALL_BIT)]])));

  // The cross sysroot sits next to the host include dir (/usr/aarch64-linux-gnu/include).
  const sysroot = join(dir, '..', 'aarch64-linux-gnu', 'include');
  const cross = join(sysroot, 'asm/unistd.h');
  if (existsSync(cross)) add('aarch64', cross, () => preprocess(cross, { includeDirs: [sysroot] }));
  // The host's own asm-generic header, read as arm64 would: 64-bit longs and the
  // __ARCH_WANT_* set of arm64's asm/unistd.h (Linux 6.1 to 6.10).
  const generic = join(dir, 'asm-generic/unistd.h');
  if (existsSync(generic)) {
    const arm64 = new Map([
      ['__BITS_PER_LONG', '64'],
      ['__ARCH_WANT_RENAMEAT', ''],
      ['__ARCH_WANT_NEW_STAT', ''],
      ['__ARCH_WANT_SET_GET_RLIMIT', ''],
      ['__ARCH_WANT_TIME32_SYSCALLS', ''],
      ['__ARCH_WANT_SYS_CLONE3', ''],
      ['__ARCH_WANT_MEMFD_SECRET', ''],
    ]);
    add('aarch64', generic, () =>
      preprocess(generic, { includeDirs: [dir], macros: arm64, skip: new Set(['asm/bitsperlong.h']) }),
    );
  }
  if (!existsSync(cross) && !existsSync(generic)) add('aarch64', undefined, undefined);
  return sources;
}

function checkHeaders(dir, tables) {
  let problems = 0;
  let checked = 0;
  for (const { abi, path, load } of headerSources(dir)) {
    if (path === undefined) {
      console.log(`${abi}: no header under ${dir}, skipped`);
      continue;
    }
    checked++;
    const table = new Map(tables.get(abi).entries.map(({ name, nr }) => [name, nr]));
    const header = headerNumbers(load(), abi === 'x32' ? X32_SYSCALL_BIT : 0);
    const disagreements = [];
    for (const [name, nr] of header) {
      const ours = table.get(name);
      if (ours === undefined) disagreements.push(`${name} = ${nr} in the header is missing from the table`);
      else if (ours !== nr) disagreements.push(`${name} is ${nr} in the header but ${ours} in the table`);
    }
    const newer = [...table.keys()].filter((name) => !header.has(name));
    if (header.size === 0) disagreements.push('the header defines no syscall numbers');
    for (const line of disagreements) console.log(`${abi}: ${path}: ${line}`);
    console.log(
      `${abi}: ${path}: ${header.size} header names, ${disagreements.length} disagreements, ` +
        `${newer.length} names only in the table${newer.length ? ` (${newer.join(' ')})` : ''}`,
    );
    problems += disagreements.length;
  }
  // A check that found nothing to compare is more likely a wrong directory than a pass.
  if (checked === 0) {
    console.log(`no UAPI headers found under ${dir}`);
    problems++;
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------

function main() {
  const opts = parseCliArgs(process.argv.slice(2));
  let tables;
  if (opts.linux !== undefined) {
    const version = opts.version ?? readKernelVersion(opts.linux);
    if (version === undefined) fail(`no Makefile with VERSION/PATCHLEVEL under ${opts.linux}; pass --version`);
    if (!/^\d+\.\d+$/.test(version)) fail(`--version must look like 6.18, got ${version}`);
    tables = buildTables(opts.linux);
    mkdirSync(opts.out, { recursive: true });
    for (const table of tables.values()) {
      writeFileSync(join(opts.out, table.spec.file), render(table, version));
      console.log(`wrote ${join(opts.out, table.spec.file)}: ${table.entries.length} syscalls`);
    }
  } else {
    tables = readGenerated(opts.out);
  }
  if (opts.checkHeaders !== undefined && checkHeaders(opts.checkHeaders, tables) > 0) process.exit(1);
}

try {
  main();
} catch (error) {
  fail(error instanceof Error ? error.message : String(error));
}
