// Runs one contender as a child process under /usr/bin/time, so every tool (aws, rclone, our worker) is
// measured the same way: wall time from spawn to exit, client CPU (user + system) and peak RSS, plus the
// server's CPU over the same interval.

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** No single contender run takes this long on a working setup (10,000 files take about a minute). */
export const RUN_TIMEOUT_MS = 10 * 60_000;

export interface Timed {
  code: number | null;
  wallMs: number;
  cpuS: number;
  maxRssMB: number;
  serverCpuS: number;
  stdout: string;
  stderr: string;
}

export async function runTimed(
  cmd: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  serverCpu: () => number = () => 0,
  cwd?: string,
  timeoutMs = RUN_TIMEOUT_MS,
): Promise<Timed> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nj-bench-time-'));
  const timeFile = path.join(dir, 'time');
  const cpu0 = serverCpu();
  const t0 = performance.now();
  // Its own process group, so a run that hangs (a full memstore makes RGW stall requests) can be
  // stopped with everything it started.
  const child = spawn('/usr/bin/time', ['-f', '%U %S %M', '-o', timeFile, cmd, ...args], {
    env,
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    if (child.pid) process.kill(-child.pid, 'SIGKILL');
  }, timeoutMs);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (c) => resolve(c));
  });
  clearTimeout(timer);
  const wallMs = performance.now() - t0;
  if (timedOut) stderr += `\nkilled after ${timeoutMs / 1000} s`;
  const serverCpuS = serverCpu() - cpu0;
  let cpuS = Number.NaN;
  let maxRssMB = Number.NaN;
  try {
    const last = readFileSync(timeFile, 'utf8').trim().split('\n').pop() ?? '';
    const [u, s, m] = last.split(' ').map(Number);
    cpuS = u! + s!;
    maxRssMB = m! / 1024;
  } catch {
    // time did not write (killed): leave NaN
  }
  rmSync(dir, { recursive: true, force: true });
  return { code, wallMs, cpuS, maxRssMB, serverCpuS, stdout, stderr };
}

/** The environment minus every AWS_/RCLONE_ variable and proxy, plus `extra`: peers see only what we give them. */
export function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(AWS_|RCLONE_)/.test(k) || /_proxy$/i.test(k)) continue;
    env[k] = v;
  }
  return { ...env, NO_PROXY: '127.0.0.1,localhost', no_proxy: '127.0.0.1,localhost', ...extra };
}
