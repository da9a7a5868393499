/** Node's permission model, as a process run under it sees it. */
export interface PermissionModel {
  has(scope: string, reference?: string): boolean;
}

/**
 * The permission model when the process runs under it (`--permission`, before Node 22.13
 * `--experimental-permission`), in any of its threads; undefined otherwise.
 */
export function permissionModel(): PermissionModel | undefined {
  return (process as { permission?: PermissionModel }).permission;
}
