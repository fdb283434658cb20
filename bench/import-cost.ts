// What starting costs a user, as whole processes (node start included), median of many runs each: node
// alone, node importing nunjucks alone, node importing the built package, and the CLI answering --help
// and `url` (neither needs the AWS SDK). The CLI's upload runs are timed whole in the upload part.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { PROJECT_DIR } from './args.js';
import { cleanEnv, runTimed, type Timed } from './proc.js';
import { median, num, table } from './stats.js';

export interface ImportCostRow {
  label: string;
  command: string;
  wallMs: number;
  cpuMs: number;
  maxRssMB: number;
}

/** One process per case, `runs` times each, interleaved so load swings hit every case alike. */
export async function measureImportCost(runs: number): Promise<ImportCostRow[]> {
  const dist = pathToFileURL(path.join(PROJECT_DIR, 'dist/index.js')).href;
  const cli = path.join(PROJECT_DIR, 'dist/cli/main.js');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nj-bench-import-'));
  mkdirSync(path.join(dir, 'static'));
  writeFileSync(
    path.join(dir, 'nunjucks-s3.config.json'),
    JSON.stringify({ config: { bucketName: 'bench-bucket' } }),
  );
  const imports = (what: string) => ['--input-type=module', '-e', `await import(${JSON.stringify(what)});`];
  const cases = [
    { label: 'node alone', args: ['-e', '0'], command: 'node -e 0' },
    { label: 'import nunjucks', args: imports('nunjucks'), command: 'node -e "await import(\'nunjucks\')"' },
    {
      label: 'import nunjucks-s3 (dist/index.js)',
      args: imports(dist),
      command: 'node -e "await import(\'nunjucks-s3\')"',
    },
    { label: 'CLI --help', args: [cli, '--help'], command: 'node dist/cli/main.js --help' },
    {
      label: 'CLI url',
      args: [cli, 'url', 'static', 'css/a.css'],
      command: 'node dist/cli/main.js url static css/a.css',
    },
  ];
  const times = cases.map(() => [] as Timed[]);
  try {
    for (let i = 0; i < runs; i++) {
      for (const [k, c] of cases.entries()) {
        const r = await runTimed(
          process.execPath,
          c.args,
          cleanEnv({}),
          undefined,
          c.label.startsWith('CLI') ? dir : PROJECT_DIR,
        );
        if (r.code !== 0) throw new Error(`${c.command} exited ${r.code}: ${r.stderr.trim().slice(-300)}`);
        times[k]!.push(r);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return cases.map((c, k) => ({
    label: c.label,
    command: c.command,
    wallMs: median(times[k]!.map((t) => t.wallMs)),
    cpuMs: median(times[k]!.map((t) => t.cpuS * 1000)),
    maxRssMB: median(times[k]!.map((t) => t.maxRssMB)),
  }));
}

export function importCostSection(rows: ImportCostRow[], runs: number): string {
  const node = rows[0]!;
  return (
    `Whole processes, median of ${runs} runs each (interleaved).\n\n` +
    table(
      ['process', 'command', 'wall ms', 'over node alone ms', 'CPU ms', 'peak RSS MB'],
      rows.map((r) => [
        r.label,
        `\`${r.command}\``,
        num(r.wallMs),
        num(r.wallMs - node.wallMs),
        num(r.cpuMs),
        num(r.maxRssMB),
      ]),
    ) +
    '\n'
  );
}
