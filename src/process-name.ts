/**
 * A default name for this process, for a hub member's `instance` and an exporter's `instance`
 * label: under PM2 (its daemon sets pm_id) the host, the app's name and the instance number
 * PM2 gives it, which it keeps across restarts, reloads and scaling (NODE_APP_INSTANCE, or
 * pm_id when an app renames that variable); else the host and pid. A name that changes at each
 * restart is a new set of series wherever it lands (a hub's store, Prometheus), until their
 * cardinality limits refuse the next ones.
 */
import { hostname } from 'node:os';

/** The PM2 part of the name, or undefined outside PM2. */
export function pm2Name(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.pm_id === undefined) return undefined;
  return `${env.name || 'pm2'}-${env.NODE_APP_INSTANCE ?? env.pm_id}`;
}

/** The `instance` label an exporter gives the series it pushes: export.instance, else this process's name. */
export function exportInstance(given: string | undefined): string {
  return given ?? processName(256);
}

/** `host:app-N` under PM2, `host:pid` otherwise; at most `max` characters (the host's end cut). */
export function processName(max: number, env: NodeJS.ProcessEnv = process.env): string {
  const own = pm2Name(env) ?? String(process.pid);
  return `${hostname().slice(0, Math.max(1, max - own.length - 1))}:${own}`.slice(0, max);
}
