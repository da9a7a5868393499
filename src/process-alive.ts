/**
 * Whether a process of that id runs: signal 0 checks without sending anything. EPERM says it
 * does, under another user; ESRCH that none does. For the owners of a dataDir's lock, of a
 * hub's socket and of a temporary profile directory.
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
