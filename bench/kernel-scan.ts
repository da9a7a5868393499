/**
 * Whether the kernel's DAMON runs a scheme over this machine's memory, for a benchmark's header.
 * On the VMs this project is measured on, kdamond samples physical memory and pages out what
 * stays idle for a minute (no swap: nothing leaves, but the pages' accessed bits are cleared and
 * the TLBs flushed over and over). A process that runs for minutes pays for it: the hub's CPU
 * rose from 26-31 ms a second at 1-2 minutes to 43-54 at 7-8 minutes with it on, and fell to
 * 16-22 with it off (docs/cluster.md, "The hub over its first minutes"). A figure from a run of
 * minutes says which it ran under.
 */
import { readdirSync, readFileSync } from 'node:fs';

const ROOT = '/sys/kernel/mm/damon/admin/kdamonds';

function read(path: string): string | null {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return null;
  }
}

/** "DAMON on (paddr: pageout)", "DAMON off", or "no DAMON" where the kernel has none to read. */
export function kernelScan(): string {
  let ids: string[];
  try {
    ids = readdirSync(ROOT).filter((d) => /^\d+$/.test(d));
  } catch {
    return 'no DAMON';
  }
  const on: string[] = [];
  for (const id of ids) {
    if (read(`${ROOT}/${id}/state`) !== 'on') continue;
    const ctx = `${ROOT}/${id}/contexts/0`;
    let actions: string[] = [];
    try {
      actions = readdirSync(`${ctx}/schemes`).filter((d) => /^\d+$/.test(d)).map((s) => read(`${ctx}/schemes/${s}/action`) ?? '?');
    } catch {
      // A kdamond with no schemes only monitors.
    }
    on.push(`${read(`${ctx}/operations`) ?? '?'}: ${actions.join(', ') || 'monitoring only'}`);
  }
  return on.length > 0 ? `DAMON on (${on.join('; ')})` : 'DAMON off';
}
