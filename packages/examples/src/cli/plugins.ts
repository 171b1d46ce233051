/**
 * `--plugin <path-or-package>` for every command: {@link addPluginOption} adds the repeatable option, and
 * {@link scanPluginArgs} reads its values before commander parses (the controllers a plugin registers are the
 * valid `--irqchip` choices). Loading is {@link loadPlugin} (plugin-loader.ts).
 *
 * @module
 */
import { Option, type Command } from 'commander';

/** commander argParser collecting a repeatable option. */
function collect(value: string, prev: string[] | undefined): string[] {
  return [...(prev ?? []), value];
}

/** Adds the repeatable `--plugin <path-or-package>` option to `cmd` and returns it. */
export function addPluginOption(cmd: Command): Command {
  return cmd.addOption(
    new Option('--plugin <path-or-package>', 'load an IrqflowPlugin module (repeatable): its default export or export `plugin`').argParser(
      collect,
    ),
  );
}

/** The `--plugin` values in a command line (before commander has parsed it): `--plugin X` and `--plugin=X`. */
export function scanPluginArgs(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') break;
    if (a === '--plugin' && i + 1 < argv.length) out.push(argv[++i]);
    else if (a.startsWith('--plugin=')) out.push(a.slice('--plugin='.length));
  }
  return out;
}
