import type { HostSpec } from './types.js';

/** Stable error codes, for scripts and tests that should not depend on wording. */
export type OrgalorgErrorCode =
  | 'usage'
  | 'hosts.parse'
  | 'hosts.file'
  | 'key.read'
  | 'input.read'
  | 'files.list'
  | 'files.read'
  | 'upload'
  | 'sync'
  | 'connect'
  | 'connect.cluster'
  | 'lock.held'
  | 'lock.failed'
  | 'heartbeat.lost'
  | 'exec.start'
  | 'exec.exit'
  | 'exec.lost'
  | 'exec.cluster'
  | 'hostkey'
  | 'hostkey.changed'
  | 'hostkey.unknown'
  | 'hostkey.revoked'
  | 'ssh-config'
  | 'auth.prompt';

export interface OrgalorgErrorConfig {
  readonly code: OrgalorgErrorCode;
  readonly host?: HostSpec;
  readonly cause?: unknown;
  /** Errors this one aggregates, such as one per failed host. */
  readonly children?: readonly unknown[];
  /** The exit status the CLI should end with when this error ends a run. */
  readonly exitCode?: number;
}

/**
 * An error about the fleet or one host of it: it carries the host, a stable code, the cause, and
 * for aggregates the per-host errors, so a 500-host run never reports a bare "Connection lost".
 */
export class OrgalorgError extends Error {
  readonly code: OrgalorgErrorCode;
  readonly host: HostSpec | undefined;
  readonly children: readonly unknown[];
  readonly exitCode: number;

  constructor(message: string, config: OrgalorgErrorConfig) {
    super(message, config.cause === undefined ? undefined : { cause: config.cause });
    this.code = config.code;
    this.host = config.host;
    this.children = config.children ?? [];
    this.exitCode = config.exitCode ?? 1;
  }
}
Object.defineProperty(OrgalorgError.prototype, 'name', { value: 'OrgalorgError' });

/** True for errors of this package, even when two copies of it are loaded. */
export function isOrgalorgError(error: unknown): error is OrgalorgError {
  return error instanceof Error && error.name === 'OrgalorgError' && 'code' in error;
}

/** The message of an error, or the text of anything else thrown. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Why a local file could not be used, in words: `no such file or directory`, and so on. */
export function fileProblem(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return 'no such file or directory';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'it is a directory';
  return errorMessage(error);
}
