/**
 * The @example of every main entry point is a real program: each file in test/api-examples/ is compiled
 * (tsconfig.test.json), run here, and its `console.log` output must equal its `// →` lines; and the JSDoc
 * @example of the entry point must show exactly the file's `#region doc` code, imports included.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const DIR = path.join(__dirname, 'api-examples');

/** example file → where its JSDoc lives (file, and the declaration the @example belongs to). */
const EXAMPLES: readonly [string, string, RegExp][] = [
  ['hypervisor', 'packages/core/src/hypervisor.ts', /^export class Hypervisor\b/m],
  ['vm', 'packages/core/src/vm/vm.ts', /^export class Vm\b/m],
  ['vcpu', 'packages/core/src/vm/vcpu.ts', /^export class Vcpu\b/m],
  ['irqchip-flow', 'packages/core/src/flow/irqchip-flow.ts', /^export interface IrqchipFlow\b/m],
  ['guest-asm', 'packages/core/src/guest/guest-asm.ts', /^export class GuestAsm\b/m],
  ['run-workload', 'packages/examples/src/workloads/harness.ts', /^export function runWorkload\b/m],
  ['vgic-plugin', 'packages/vgic/src/plugin.ts', /^export const VgicPlugin\b/m],
  ['rvic-plugin', 'packages/rvic/src/plugin.ts', /^export const RvicPlugin\b/m],
  ['timer-plugin', 'packages/timer/src/timer-extension.ts', /^export const TimerPlugin\b/m],
  ['pic-plugin', 'packages/examples/src/third-party/pic-plugin.ts', /^export const PicPlugin\b/m],
];

function region(file: string): string {
  const text = fs.readFileSync(file, 'utf8');
  const m = /\/\/ #region doc\n([\s\S]*?)\/\/ #endregion doc/.exec(text);
  if (!m) throw new Error(`${file}: no #region doc`);
  if (m[1].includes('*/')) throw new Error(`${file}: '*/' would end the JSDoc comment it is copied into`);
  return m[1].trimEnd();
}

/** The fenced ts code of the @example in the JSDoc right above the declaration matching `decl`. */
function jsdocExample(file: string, decl: RegExp): string {
  const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
  const at = text.search(decl);
  if (at < 0) throw new Error(`${file}: declaration ${decl} not found`);
  const before = text.slice(0, at);
  const start = before.lastIndexOf('/**');
  const doc = before.slice(start);
  if (!/\*\/\s*(@\w+\([^)]*\)\s*)*$/.test(doc)) throw new Error(`${file}: no JSDoc right above ${decl}`);
  const m = /@example\s*\n\s*\* ```ts\n([\s\S]*?)\n\s*\* ```/.exec(doc);
  if (!m) throw new Error(`${file}: the JSDoc above ${decl} has no @example with a ts block`);
  return m[1]
    .split('\n')
    .map((l) => l.replace(/^\s*\* ?/, ''))
    .join('\n')
    .trimEnd();
}

describe.each(EXAMPLES)('@example %s', (name, src, decl) => {
  const file = path.join(DIR, `${name}.example.ts`);

  it('runs and prints what its // → lines say', () => {
    const logs: string[] = [];
    const spy = jest.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void logs.push(a.map(String).join(' ')));
    try {
      jest.isolateModules(() => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports -- runs each example file, found at run time, in isolation
        require(file);
      });
    } finally {
      spy.mockRestore();
    }
    const expected = region(file)
      .split('\n')
      .filter((l) => l.startsWith('// → '))
      .map((l) => l.slice('// → '.length));
    expect(expected.length).toBeGreaterThan(0);
    expect(logs).toEqual(expected);
  });

  it(`is the @example in ${src}`, () => {
    expect(jsdocExample(src, decl)).toBe(region(file));
  });
});
