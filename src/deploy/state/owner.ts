// Who a deploy is, as the state objects it writes (lease, generation) name it: a unique id, the host,
// the process id and when it started. A deploy on this same host whose process no longer exists was
// killed: its lease and its in-flight generation are abandoned at once, instead of after their expiry
// (a rerun right after a SIGKILL would otherwise wait out the lease's time to live). Two hosts with the
// same name whose process ids collide would be mistaken for each other only when the other process is
// gone, which is then the right call anyway.

import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

/** A deploy's identity in the state it writes. */
export interface DeployOwner {
  /** Unique per run: time-sortable (ISO time) and random. */
  id: string;
  host: string;
  pid: number;
  /** ISO time the run started. */
  started: string;
}

/** The identity of a new run of this process. */
export function newDeployOwner(now = new Date()): DeployOwner {
  const started = now.toISOString();
  const id = `${started.replace(/[-:.]/g, '')}-${randomBytes(4).toString('hex')}`;
  return { id, host: hostname(), pid: process.pid, started };
}

/** Whether a state object names a process of this host that no longer runs (killed, or crashed). */
export function isDeadLocalProcess(owner: { host?: unknown; pid?: unknown }): boolean {
  if (owner.host !== hostname() || typeof owner.pid !== 'number' || owner.pid === process.pid) return false;
  try {
    process.kill(owner.pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
