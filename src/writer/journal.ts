import { closeSync, fdatasync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

/** An owner file whose heartbeat is older than this belongs to a dead instance, wherever it ran. */
export const STALE_OWNER_MS = 30_000;
const HEARTBEAT_MS = 1000;

/** What a segment file holds: its batch id (first line) and its records, one per line. */
export interface SegmentContent {
  id: string;
  lines: string[];
}

/**
 * The files of one instance's journal in a directory that several instances may share.
 *
 * Each instance writes `<instance>.owner` (pid, host) and touches it every second, and appends to its own
 * segment files `<instance>.<n>.log`, whose first line is the batch id the segment is written to the
 * database under. A segment is deleted once its batch has committed. Files whose owner is gone (the owner
 * file is missing, names a process that no longer runs on this host, or has not been touched for
 * STALE_OWNER_MS) are claimed by renaming them into the claimer's own name: a rename succeeds for one
 * claimer only, so two live instances never replay the same file, and a claimer that dies while replaying
 * leaves files that the next one claims in turn. The batch id travels inside the file, so a segment
 * replayed twice is applied once.
 */
export class JournalFiles {
  private heartbeat?: NodeJS.Timeout;
  private claimed = 0;
  private readonly ownerFile: string;

  constructor(
    readonly dir: string,
    readonly instance: string,
  ) {
    this.ownerFile = join(dir, `${instance}.owner`);
  }

  start(): void {
    mkdirSync(this.dir, { recursive: true });
    writeFileSync(this.ownerFile, JSON.stringify({ pid: process.pid, host: hostname(), startedAt: new Date().toISOString() }));
    this.heartbeat = setInterval(() => {
      const now = new Date();
      try {
        utimesSync(this.ownerFile, now, now);
      } catch {
        // Removed by a claimer that took this instance for dead (its event loop was blocked for long): say so.
        try {
          writeFileSync(this.ownerFile, JSON.stringify({ pid: process.pid, host: hostname(), startedAt: now.toISOString() }));
        } catch {
          /* the directory is gone; nothing to announce */
        }
      }
    }, HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  stop(): void {
    clearInterval(this.heartbeat);
    try {
      unlinkSync(this.ownerFile);
    } catch {
      /* already gone */
    }
  }

  segmentPath(seq: number): string {
    return join(this.dir, `${this.instance}.${seq}.log`);
  }

  /** Creates a segment file holding its batch id; returns its descriptor. */
  create(path: string, id: string): number {
    const fd = openSync(path, 'a');
    writeSync(fd, `#\t${id}\n`);
    return fd;
  }

  /** Replaces a segment file by `id` and `body` (complete lines), atomically; returns the new size. */
  rewrite(path: string, id: string, body: string, durable: boolean): number {
    const tmp = `${path}.tmp`;
    const fd = openSync(tmp, 'w');
    const text = `#\t${id}\n${body}`;
    writeSync(fd, text);
    if (durable) fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, path);
    return Buffer.byteLength(text);
  }

  remove(path: string): void {
    try {
      unlinkSync(path);
    } catch {
      /* already gone */
    }
  }

  /** Flushes a descriptor to the device in the background (the power-loss policy). */
  sync(fd: number): Promise<void> {
    return new Promise((ok) => fdatasync(fd, () => ok()));
  }

  /**
   * Renames every segment of a dead owner into this instance's name; returns the claimed paths. Files this
   * instance claimed earlier and has not finished are not returned again.
   */
  claimDead(now = Date.now()): string[] {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return [];
    }
    const owners = new Set(names.filter((n) => n.endsWith('.owner')).map((n) => n.slice(0, -'.owner'.length)));
    const out: string[] = [];
    const deadOwners = new Set<string>();
    for (const name of names) {
      if (!name.endsWith('.log')) continue;
      const owner = name.slice(0, name.indexOf('.'));
      if (owner === this.instance) continue;
      if (owners.has(owner) && !this.isDead(owner, now)) continue;
      const to = join(this.dir, `${this.instance}.r${++this.claimed}-${process.pid}.log`);
      try {
        renameSync(join(this.dir, name), to);
        out.push(to);
        deadOwners.add(owner);
      } catch {
        // Another instance claimed it first.
      }
    }
    for (const owner of deadOwners) this.remove(join(this.dir, `${owner}.owner`));
    // Owner files of dead instances that left no segments.
    for (const owner of owners) if (owner !== this.instance && !deadOwners.has(owner) && this.isDead(owner, now)) this.remove(join(this.dir, `${owner}.owner`));
    return out;
  }

  /** Reads a segment: its batch id and its complete lines (a line cut short by a crash never got its answer out). */
  read(path: string): SegmentContent | null {
    const text = readFileSync(path, 'utf8');
    const end = text.lastIndexOf('\n');
    if (end < 0) return null;
    const lines = text.slice(0, end).split('\n');
    const header = lines.shift()!;
    if (!header.startsWith('#\t')) return null;
    return { id: header.slice(2), lines: lines.filter(Boolean) };
  }

  private isDead(owner: string, now: number): boolean {
    const file = join(this.dir, `${owner}.owner`);
    try {
      const stat = statSync(file);
      if (now - stat.mtimeMs > STALE_OWNER_MS) return true;
      const { pid, host } = JSON.parse(readFileSync(file, 'utf8')) as { pid: number; host: string };
      if (host !== hostname()) return false;
      // A container restarted with the same pid: an owner other than this instance with our pid is gone.
      if (pid === process.pid) return true;
      try {
        process.kill(pid, 0);
        return false;
      } catch (err) {
        return (err as NodeJS.ErrnoException).code === 'ESRCH';
      }
    } catch {
      return true;
    }
  }
}
