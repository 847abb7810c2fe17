import { constants } from 'node:os';
import { formatFlags } from '../consts.js';
import { FixedFd, HEADER_SIZE, STEP_SIZE, StepField, WIRE_VERSION } from '../wire.js';
import type { Program } from './build.js';
import type { ArgSpec, ProgramStep } from './types.js';

const signalNames = new Map(Object.entries(constants.signals).map(([name, n]) => [n, name]));

export function signalName(signal: number): string {
  return signalNames.get(signal) ?? String(signal);
}

// Long enough for the paths an error names; longer strings are cut so a listing stays readable.
function quote(text: string, limit = 200): string {
  const shown = text.length > limit ? `${text.slice(0, limit)}...` : text;
  return JSON.stringify(shown);
}

function formatArg(arg: ArgSpec): string {
  switch (arg.kind) {
    case 'immediate': {
      const format = arg.format ?? { as: 'number' };
      switch (format.as) {
        case 'number':
          return String(arg.value);
        case 'octal':
          return `0${arg.value.toString(8)}`;
        case 'hex':
          return `0x${arg.value.toString(16)}`;
        case 'signal':
          return signalName(Number(arg.value));
        case 'flags':
          return formatFlags(arg.value, format.table);
        case 'enum': {
          const hit = Object.entries(format.table).find(([, v]) => BigInt(v) === BigInt(arg.value));
          return hit ? hit[0] : String(arg.value);
        }
      }
      break;
    }
    case 'string':
      return quote(arg.value);
    case 'bytes':
      return arg.label ?? `<${arg.value.length} bytes>`;
    case 'strings':
      return arg.label ?? `[${arg.value.map((s) => quote(s, 24)).join(', ')}]`;
    case 'result':
      return `$${arg.name}`;
    case 'block':
      return arg.label ?? `{${arg.value.length} bytes}`;
  }
}

/** One step as strace would print the call, without the result. `helperSteps`: as encoded, stores included. */
export function formatCall(step: ProgramStep, helperSteps?: number): string {
  switch (step.op) {
    case 'syscall':
      return `${step.syscall}(${step.args.map(formatArg).join(', ')})`;
    case 'fork':
      return step.helper === undefined
        ? 'fork(); the parent supervises: forwards signals, reaps, exits like the child'
        : `fork() a helper that runs the next ${helperSteps ?? step.helper.length} steps and exits; this process skips them`;
    case 'sync':
      return `sync with Node: ${step.hook.name}`;
    case 'dieWithParent':
      return `prctl(PR_SET_PDEATHSIG, ${signalName(step.signal)}); exit if the parent is gone`;
    case 'announceExec':
      return `write(${FixedFd.control}, {execNext}, 16); tells Node that only the last steps and execve are left`;
    case 'store':
      return `store $${step.result} (${step.size} bytes) into ${step.into}, for the next step`;
  }
}

/** `skip`: the encoded count, which includes the store steps the listing shows. */
function annotations(step: ProgramStep, skip: number): string {
  if (step.op === 'fork') return step.saveAs === undefined ? '' : `  = $${step.saveAs}`;
  if (step.op !== 'syscall') return '';
  const notes: string[] = [];
  if (step.saveAs !== undefined) notes.push(`= $${step.saveAs}`);
  if (step.tolerate?.length) notes.push(`tolerate ${step.tolerate.join(',')}`);
  if (step.skipOnTolerated) notes.push(`then skip ${skip}`);
  return notes.length ? `  ${notes.join('; ')}` : '';
}

/** The program strace-style, one numbered step a line, as the runner will run it. */
export function explainProgram(program: Program): string {
  const width = Math.max(...program.steps.map((s) => s.name.length));
  const digits = String(program.steps.length - 1).length;
  const count = `${program.steps.length} step${program.steps.length === 1 ? '' : 's'}`;
  const head = `# iso child program: ${count}, ${program.bytes.length} bytes, wire v${WIRE_VERSION}, ${program.arch}`;
  // Counts as the runner sees them: the listing shows the store steps the encoder added.
  const field = (i: number, at: number, size: 2 | 4) => (size === 2 ? program.bytes.readUInt16LE(HEADER_SIZE + i * STEP_SIZE + at) : program.bytes.readUInt32LE(HEADER_SIZE + i * STEP_SIZE + at));
  const lines = program.steps.map(
    (step, i) =>
      `${String(i).padStart(digits)}  ${step.name.padEnd(width)}  ${formatCall(step, field(i, StepField.nr, 4))}${annotations(step, field(i, StepField.skip, 2))}`,
  );
  return [head, ...lines].join('\n') + '\n';
}
