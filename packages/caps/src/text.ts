// libcap's text form of capability sets (cap_from_text(3), cap_to_text(3)): clauses like
// `cap_net_bind_service+ep`, `=ep cap_chown-e` or `cap_a,cap_b=eip`, separated by spaces.
// Parsing and formatting follow libcap 2.x rule for rule, so text round-trips with capsh.
import { invalidOptions } from '@iso/core';
import { CAP_NAMES, fullCapMask, lastCap } from './names.js';

/**
 * A process's three capability sets, as 64-bit masks: bit n is capability n. Masks
 * rather than name lists because they are what the kernel reads and writes (capset,
 * /proc/<pid>/status), they compare and combine exactly, and they keep capabilities
 * that a newer kernel has and this table does not name. capNames() gives the names.
 */
export interface CapSets {
  effective: bigint;
  permitted: bigint;
  inheritable: bigint;
}

export interface CapTextOptions {
  /**
   * The highest capability that `all`, a bare `=` and the base clause of formatted text
   * cover. libcap uses the running kernel's, and so does iso.
   * @defaultValue lastCap(), or CAP_LAST_KNOWN where /proc cannot tell
   */
  lastCap?: number;
  /** The option path errors name. @defaultValue 'capText' */
  path?: string;
}

// libcap 2.x numbers the combinations by cap_flag_t (CAP_EFFECTIVE 0, CAP_PERMITTED 1,
// CAP_INHERITABLE 2); the numbers decide the base clause on ties and the clause order.
const EFF = 1 << 0;
const PER = 1 << 1;
const INH = 1 << 2;

function defaultLastCap(): number {
  try {
    return lastCap();
  } catch {
    return CAP_NAMES.length - 1;
  }
}

const lowerNames = new Map<string, number>(CAP_NAMES.map((name, n) => [name.toLowerCase(), n]));

function flagsOf(sets: CapSets, n: number): number {
  const bit = 1n << BigInt(n);
  return (sets.effective & bit ? EFF : 0) | (sets.permitted & bit ? PER : 0) | (sets.inheritable & bit ? INH : 0);
}

function flagLetters(flags: number): string {
  return `${flags & EFF ? 'e' : ''}${flags & INH ? 'i' : ''}${flags & PER ? 'p' : ''}`;
}

/** libcap names capabilities it knows, and numbers the others. */
function textName(n: number): string {
  return CAP_NAMES[n]?.toLowerCase() ?? String(n);
}

// isspace(3) and friends in the C locale, as libcap sees the text.
const isSpace = (c: string | undefined) => c !== undefined && /[ \t\n\v\f\r]/.test(c);
const isAlpha = (c: string | undefined) => c !== undefined && /[A-Za-z]/.test(c);
const startsName = (c: string | undefined) => c !== undefined && /[A-Za-z0-9_]/.test(c);

/**
 * Parses libcap's text form into masks, as cap_from_text(3) does. Names are libcap's
 * (`cap_chown`, any case) or numbers (`41`, `0x29`); `all` and an empty list mean every
 * capability up to `lastCap`. Throws ISO_INVALID_OPTIONS naming the column on bad text.
 */
export function parseCapText(text: string, options: CapTextOptions = {}): CapSets {
  const path = options.path ?? 'capText';
  const all = fullCapMask(options.lastCap ?? defaultLastCap());
  const sets: CapSets = { effective: 0n, permitted: 0n, inheritable: 0n };
  let i = 0;
  const bad = (problem: string): never => {
    throw invalidOptions(path, `${problem} at column ${i + 1} of ${JSON.stringify(text)}`);
  };
  const apply = (list: bigint, flags: number, raise: boolean) => {
    const change = (mask: bigint) => (raise ? mask | list : mask & ~list);
    if (flags & EFF) sets.effective = change(sets.effective);
    if (flags & PER) sets.permitted = change(sets.permitted);
    if (flags & INH) sets.inheritable = change(sets.inheritable);
  };

  for (;;) {
    while (isSpace(text[i])) i++;
    if (i >= text.length) return sets;

    let list = 0n;
    let listed = false;
    if (startsName(text[i])) {
      for (;;) {
        const rest = text.slice(i);
        const word = /^all(?![A-Za-z0-9_])/i.exec(rest);
        if (word) {
          list |= all;
          i += 3;
        } else if (/^[0-9]/.test(rest)) {
          // strtoul(3) with base 0: hex, octal or decimal.
          const digits = /^(?:0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)/.exec(rest)?.[0] ?? '0';
          const octal = digits.length > 1 && /^0[0-7]/.test(digits);
          const n = BigInt(octal ? `0o${digits.slice(1)}` : digits);
          if (n >= 64n) bad('capability number out of range');
          list |= 1n << n;
          i += digits.length;
        } else {
          const token = /^[A-Za-z_]*/.exec(rest)?.[0] ?? '';
          const n = lowerNames.get(token.toLowerCase());
          if (n === undefined) bad(`unknown capability ${JSON.stringify(token)}`);
          list |= 1n << BigInt(n ?? 0);
          i += token.length;
        }
        if (text[i] !== ',') break;
        i++;
        if (!startsName(text[i])) bad('expected a capability after ","');
      }
      listed = true;
    } else if (text[i] === '+' || text[i] === '-') {
      bad(`"${text[i]}" needs a list of capabilities`);
    } else {
      list = all;
    }

    // The first operator; "=+" and "=-" clear the list before raising or lowering.
    let op = text[i] ?? '';
    i++;
    if (op === '=' && (text[i] === '+' || text[i] === '-')) {
      if (!listed) bad(`"=${text[i]}" needs a list of capabilities`);
      op = text[i] === '+' ? 'P' : 'M';
      i++;
    } else if (op !== '+' && op !== '-' && op !== '=') {
      i--;
      bad('expected "=", "+" or "-"');
    }

    let flags = 0;
    do {
      const c = text[i];
      if (c !== undefined && !isSpace(c)) {
        i++;
        if (c === 'e') flags |= EFF;
        else if (c === 'i') flags |= INH;
        else if (c === 'p') flags |= PER;
        else {
          i--;
          bad(`unknown flag ${JSON.stringify(c)} (expected e, i or p)`);
        }
      } else if (op !== '=') {
        bad(`"${op === 'P' ? '=+' : op === 'M' ? '=-' : op}" needs flags (e, i, p)`);
      }
      if (op === '=' || op === 'P' || op === 'M') {
        apply(list, EFF | PER | INH, false);
        apply(list, flags, op !== 'M');
      } else {
        apply(list, flags, op === '+');
      }
      if (text[i] === '+' || text[i] === '-') {
        if (!listed) bad('"+" and "-" need a list of capabilities');
        flags = 0;
        op = text[i] ?? '';
        i++;
        if (!isAlpha(text[i])) bad(`"${op}" needs flags (e, i, p)`);
      }
    } while (i < text.length && !isSpace(text[i]));
  }
}

/**
 * Formats masks in libcap's text form, exactly as cap_to_text(3) does: the most common
 * flag combination among capabilities 0..lastCap becomes the base clause (`=ep`, or `=`),
 * then one clause per other combination, then capabilities past lastCap by number.
 */
export function formatCapText(sets: CapSets, options: Pick<CapTextOptions, 'lastCap'> = {}): string {
  const count = (options.lastCap ?? defaultLastCap()) + 1;
  const histogram = [0, 0, 0, 0, 0, 0, 0, 0];
  for (let n = 0; n < count; n++) histogram[flagsOf(sets, n)] = (histogram[flagsOf(sets, n)] ?? 0) + 1;
  const seen = (t: number) => histogram[t] ?? 0;
  // Ties go to the lower combination, so "no flags" wins them, as in libcap.
  let base = 7;
  for (let t = 6; t >= 0; t--) if (seen(t) >= seen(base)) base = t;

  const clauses: string[] = [`=${flagLetters(base)}`];
  let baseClauseDropped = false;
  for (let t = 7; t >= 0; t--) {
    if (t === base || seen(t) === 0) continue;
    const names: string[] = [];
    for (let n = 0; n < count; n++) if (flagsOf(sets, n) === t) names.push(textName(n));
    let clause = names.join(',');
    const raised = t & ~base;
    if (raised) {
      // A bare "=" base followed by "foo+eip" reads shorter as "foo=eip".
      let op = '+';
      if (base === 0 && !baseClauseDropped && clauses.length === 1) {
        clauses.shift();
        baseClauseDropped = true;
        op = '=';
      }
      clause += `${op}${flagLetters(raised)}`;
    }
    const lowered = ~t & base;
    if (lowered) clause += `-${flagLetters(lowered)}`;
    clauses.push(clause);
  }

  for (let t = 7; t >= 1; t--) {
    const numbers: string[] = [];
    for (let n = count; n < 64; n++) if (flagsOf(sets, n) === t) numbers.push(textName(n));
    if (numbers.length) clauses.push(`${numbers.join(',')}+${flagLetters(t)}`);
  }
  return clauses.join(' ');
}
