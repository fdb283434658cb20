// Reads a V8 CPU profile (node --cpu-prof output, or node:inspector's Profiler.stop) and lists the
// functions with the most self time, named by file:line relative to the project, for the report.

import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_DIR } from './args.js';
import { table } from './stats.js';

export interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples?: number[];
  timeDeltas?: number[];
  startTime: number;
  endTime: number;
}

export interface HotFunction {
  name: string;
  where: string;
  selfMs: number;
  percent: number;
}

function shortUrl(url: string): string {
  let u = url.replace(/^file:\/\//, '');
  if (u.startsWith(PROJECT_DIR)) u = u.slice(PROJECT_DIR.length + 1);
  u = u.replace(/^.*node_modules\//, 'node_modules/');
  return u === '' ? '(native)' : u;
}

export function hotFunctions(
  profile: CpuProfile,
  top = 15,
  filter?: (where: string) => boolean,
): HotFunction[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, { name: string; where: string; us: number }>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  let total = 0;
  for (let i = 0; i < samples.length; i++) {
    const node = byId.get(samples[i]!);
    const us = deltas[i + 1] ?? deltas[i] ?? 0;
    if (!node) continue;
    total += us;
    const cf = node.callFrame;
    const where = cf.url ? `${shortUrl(cf.url)}:${cf.lineNumber + 1}` : '(native)';
    const name = cf.functionName || '(anonymous)';
    const key = `${name}@${where}`;
    const entry = self.get(key) ?? { name, where, us: 0 };
    entry.us += us;
    self.set(key, entry);
  }
  return [...self.values()]
    .filter((e) => !filter || filter(e.where))
    .sort((a, b) => b.us - a.us)
    .slice(0, top)
    .map((e) => ({
      name: e.name,
      where: e.where,
      selfMs: e.us / 1000,
      percent: total ? (100 * e.us) / total : 0,
    }));
}

/** Self time per source file (project files and packages), to see whose code is hot. */
export function hotFiles(profile: CpuProfile, top = 10): HotFunction[] {
  const fns = hotFunctions(profile, Number.MAX_SAFE_INTEGER);
  const byFile = new Map<string, HotFunction>();
  for (const f of fns) {
    const file = f.where.replace(/:\d+$/, '').replace(/^(node_modules\/(@[^/]+\/)?[^/]+).*$/, '$1');
    const e = byFile.get(file) ?? { name: file, where: file, selfMs: 0, percent: 0 };
    e.selfMs += f.selfMs;
    e.percent += f.percent;
    byFile.set(file, e);
  }
  return [...byFile.values()].sort((a, b) => b.selfMs - a.selfMs).slice(0, top);
}

export function hotTable(rows: HotFunction[], fileLevel = false): string {
  return table(
    fileLevel ? ['file / package', 'self ms', 'self %'] : ['function', 'where', 'self ms', 'self %'],
    rows.map((r) =>
      fileLevel
        ? [r.where, r.selfMs.toFixed(0), r.percent.toFixed(1)]
        : [r.name, r.where, r.selfMs.toFixed(0), r.percent.toFixed(1)],
    ),
  );
}

/**
 * The main thread's profile in a --cpu-prof directory (`CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile`;
 * thread 0 is the main thread, others are e.g. the tsx module-loader thread).
 */
export function readProfileDir(dir: string): CpuProfile | undefined {
  const files = readdirSync(dir);
  const main = files.includes('run.cpuprofile')
    ? 'run.cpuprofile'
    : files
        .filter((f) => /\.0\.\d+\.cpuprofile$/.test(f))
        .sort()
        .pop();
  return main ? (JSON.parse(readFileSync(path.join(dir, main), 'utf8')) as CpuProfile) : undefined;
}
