import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';

/** Kills the servers a suite started (as a crash would: SIGKILL), waits for each to exit, then removes their data. */
export async function killAndRemove(procs: Map<number, ChildProcess>, dir: string): Promise<void> {
  for (const proc of procs.values()) {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGKILL');
      await new Promise((r) => proc.once('exit', r));
    }
  }
  procs.clear();
  rmSync(dir, { recursive: true, force: true });
}
