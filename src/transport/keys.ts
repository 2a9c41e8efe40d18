import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import ssh2, { type ParsedKey } from 'ssh2';
import { fileProblem, OrgalorgError } from '../errors.js';
import type { LogHook } from '../types.js';

/** The key files offered when `-k` is not given, those that exist. */
export function defaultKeyFiles(home: string = homedir()): string[] {
  return ['id_ed25519', 'id_ecdsa', 'id_rsa']
    .map((name) => join(home, '.ssh', name))
    .filter((path) => existsSync(path));
}

/**
 * Reads and parses private key files once per run, before any host is contacted.
 *
 * @param explicit the `-k` file: a key that cannot be read or parsed is an error (code
 *   `key.read`) naming the file and why. Without it the default files are tried, and one that
 *   cannot be used is skipped with a warning.
 */
export function loadKeys(explicit: string | undefined, log?: LogHook): ParsedKey[] {
  const files = explicit === undefined ? defaultKeyFiles() : [explicit];
  const keys: ParsedKey[] = [];
  for (const file of files) {
    try {
      keys.push(parseKeyFile(file));
    } catch (error: unknown) {
      if (explicit !== undefined) throw error;
      log?.({ level: 'warn', message: `skipping SSH key: ${(error as Error).message}` });
    }
  }
  return keys;
}

function parseKeyFile(file: string): ParsedKey {
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch (error: unknown) {
    throw new OrgalorgError(`can't read SSH key '${file}': ${fileProblem(error)}`, {
      code: 'key.read',
      cause: error,
    });
  }
  const parsed = ssh2.utils.parseKey(data);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (key === undefined || key instanceof Error) {
    const why = key instanceof Error ? key.message : 'no key found in the file';
    const hint = /encrypted|passphrase/i.test(why)
      ? ' (the key is protected by a passphrase; load it into ssh-agent, see Known limits)'
      : '';
    throw new OrgalorgError(`can't use SSH key '${file}': ${why}${hint}`, { code: 'key.read' });
  }
  if (!key.isPrivateKey()) {
    throw new OrgalorgError(
      `can't use SSH key '${file}': it is a public key; give the private key file`,
      { code: 'key.read' },
    );
  }
  return key;
}
