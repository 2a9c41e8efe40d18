import { createPrivateKey, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import ssh2, { type ParsedKey } from 'ssh2';
import { errorMessage, fileProblem, OrgalorgError } from '../errors.js';
import type { LogHook } from '../types.js';

/** The key files offered when `-k` is not given, those that exist. */
export function defaultKeyFiles(home: string = homedir()): string[] {
  return ['id_ed25519', 'id_ecdsa', 'id_rsa']
    .map((name) => join(home, '.ssh', name))
    .filter((path) => existsSync(path));
}

export interface LoadKeysConfig {
  /** Key files named by the user (`-k`, ssh_config IdentityFile): each must work. */
  readonly explicit?: readonly string[];
  /** Asks for a passphrase (on the terminal); without it an encrypted key cannot be used. */
  readonly ask?: (question: string) => Promise<string>;
  readonly log?: LogHook;
}

/**
 * Reads and parses private keys once per run, before any host is contacted: OpenSSH, PEM
 * (PKCS#1, SEC1) and PKCS#8 formats, encrypted ones with one passphrase asked once.
 *
 * Files named by the user must all work: one that cannot be read, parsed or decrypted is an
 * error (code `key.read`) naming it and why. Without them the default files are tried, and one
 * that cannot be used is skipped with a warning.
 */
export async function loadKeysAsking(config: LoadKeysConfig): Promise<ParsedKey[]> {
  const explicit = config.explicit !== undefined && config.explicit.length > 0;
  const files = explicit ? (config.explicit ?? []) : defaultKeyFiles();
  const keys: ParsedKey[] = [];
  let passphrase: string | undefined;
  for (const file of files) {
    try {
      const data = readKeyFile(file);
      let key = parseKey(file, data);
      if (key === 'encrypted') {
        if (config.ask === undefined) throw encryptedWithoutPrompt(file);
        passphrase ??= await config.ask('Key passphrase: ');
        key = parseKey(file, data, passphrase);
        if (key === 'encrypted') {
          throw new OrgalorgError(
            `can't use SSH key '${file}': invalid passphrase for private key specified`,
            { code: 'key.read' },
          );
        }
      }
      keys.push(key);
    } catch (error: unknown) {
      if (explicit) throw error;
      config.log?.({ level: 'warn', message: `skipping SSH key: ${errorMessage(error)}` });
    }
  }
  return keys;
}

/** {@link loadKeysAsking} without prompts: an encrypted key is an error (or skipped). */
export function loadKeys(explicit: string | undefined, log?: LogHook): ParsedKey[] {
  const keys: ParsedKey[] = [];
  for (const file of explicit === undefined ? defaultKeyFiles() : [explicit]) {
    try {
      const key = parseKey(file, readKeyFile(file));
      if (key === 'encrypted') throw encryptedWithoutPrompt(file);
      keys.push(key);
    } catch (error: unknown) {
      if (explicit !== undefined) throw error;
      log?.({ level: 'warn', message: `skipping SSH key: ${errorMessage(error)}` });
    }
  }
  return keys;
}

function encryptedWithoutPrompt(file: string): OrgalorgError {
  return new OrgalorgError(
    `can't use SSH key '${file}': it is encrypted and no passphrase was given`,
    {
      code: 'key.read',
    },
  );
}

function readKeyFile(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error: unknown) {
    throw new OrgalorgError(`can't read SSH key '${file}': ${fileProblem(error)}`, {
      code: 'key.read',
      cause: error,
    });
  }
}

/** The private key in the file, or `encrypted` when the passphrase is missing or wrong. */
function parseKey(file: string, data: Buffer, passphrase?: string): ParsedKey | 'encrypted' {
  if (
    data.includes('-----BEGIN ENCRYPTED PRIVATE KEY-----') ||
    data.includes('-----BEGIN PRIVATE KEY-----')
  ) {
    return parsePkcs8(file, data, passphrase);
  }
  const parsed = ssh2.utils.parseKey(data, passphrase);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (key instanceof Error && /passphrase|encrypted|integrity|decrypt/i.test(key.message)) {
    return 'encrypted';
  }
  if (key === undefined || key instanceof Error) {
    const why = key instanceof Error ? key.message : 'no key found in the file';
    throw new OrgalorgError(`can't use SSH key '${file}': ${why}`, { code: 'key.read' });
  }
  if (!key.isPrivateKey()) {
    throw new OrgalorgError(
      `can't use SSH key '${file}': it is a public key; give the private key file`,
      {
        code: 'key.read',
      },
    );
  }
  return key;
}

/** PKCS#8, which ssh2 does not read: decrypted by Node, handed over in a format ssh2 reads. */
function parsePkcs8(file: string, data: Buffer, passphrase?: string): ParsedKey | 'encrypted' {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: data, format: 'pem', passphrase: passphrase ?? '' });
  } catch (error: unknown) {
    if (data.includes('ENCRYPTED')) return 'encrypted';
    throw new OrgalorgError(`can't use SSH key '${file}': ${errorMessage(error)}`, {
      code: 'key.read',
    });
  }
  const type = key.asymmetricKeyType;
  const pem =
    type === 'rsa'
      ? key.export({ type: 'pkcs1', format: 'pem' })
      : type === 'ec'
        ? key.export({ type: 'sec1', format: 'pem' })
        : type === 'ed25519'
          ? openSshEd25519(key)
          : undefined;
  if (pem === undefined) {
    throw new OrgalorgError(
      `can't use SSH key '${file}': ${type ?? 'unknown'} keys are not supported`,
      {
        code: 'key.read',
      },
    );
  }
  return parseKey(file, Buffer.from(pem)) as ParsedKey;
}

/** An Ed25519 key in OpenSSH's own unencrypted format (what ssh-keygen writes). */
function openSshEd25519(key: KeyObject): string {
  const jwk = key.export({ format: 'jwk' });
  const seed = Buffer.from(jwk.d ?? '', 'base64url');
  const pub = Buffer.from(jwk.x ?? '', 'base64url');
  const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return b;
  };
  const str = (b: Buffer | string) => {
    const bytes = Buffer.from(b);
    return Buffer.concat([u32(bytes.length), bytes]);
  };
  const publicBlob = Buffer.concat([str('ssh-ed25519'), str(pub)]);
  let secret = Buffer.concat([
    u32(0x6f72676c),
    u32(0x6f72676c),
    str('ssh-ed25519'),
    str(pub),
    str(Buffer.concat([seed, pub])),
    str('orgalorg'),
  ]);
  const padding = Array.from({ length: (8 - (secret.length % 8)) % 8 }, (_, i) => i + 1);
  secret = Buffer.concat([secret, Buffer.from(padding)]);
  const body = Buffer.concat([
    Buffer.from('openssh-key-v1\0'),
    str('none'),
    str('none'),
    str(''),
    u32(1),
    str(publicBlob),
    str(secret),
  ]);
  const lines = body.toString('base64').match(/.{1,70}/g) ?? [];
  return `-----BEGIN OPENSSH PRIVATE KEY-----\n${lines.join('\n')}\n-----END OPENSSH PRIVATE KEY-----\n`;
}
