import { execFileSync } from 'node:child_process';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isOrgalorgError } from '../../src/errors.js';
import {
  fingerprint,
  knownHostKeyTypes,
  verifyHostKey,
  type HostKeyPolicy,
  type KnownHostsConfig,
} from '../../src/transport/known-hosts.js';

/** A key pair made by ssh-keygen: its `.pub` line, wire blob and ssh-keygen's fingerprint. */
interface TestKey {
  readonly type: string;
  readonly pubFile: string;
  /** `keytype base64 comment`, as in the `.pub` file. */
  readonly pub: string;
  readonly blob: Buffer;
  readonly fingerprint: string;
}

let root: string;
let work: string;
let ed25519: TestKey;
let other: TestKey;
let ecdsa: TestKey;
let rsa: TestKey;

function makeKey(name: string, type: string, ...args: string[]): TestKey {
  const file = join(root, name);
  execFileSync('ssh-keygen', ['-q', '-t', type, ...args, '-N', '', '-C', name, '-f', file]);
  const pub = readFileSync(`${file}.pub`, 'utf8').trim();
  const parsed = ssh2.utils.parseKey(pub);
  if (parsed instanceof Error) throw parsed;
  const listing = execFileSync('ssh-keygen', ['-lf', `${file}.pub`], { encoding: 'utf8' });
  const printed = /SHA256:\S+/.exec(listing)?.[0];
  if (printed === undefined) throw new Error(`no fingerprint in: ${listing}`);
  return {
    type: pub.split(' ')[0] ?? '',
    pubFile: `${file}.pub`,
    pub,
    blob: parsed.getPublicSSH(),
    fingerprint: printed,
  };
}

/** A known_hosts file in the test's directory holding `lines`, each ending in a newline. */
function knownHosts(lines: readonly string[], name = 'known_hosts'): string {
  const file = join(work, name);
  writeFileSync(file, lines.map((line) => `${line}\n`).join(''));
  return file;
}

function config(files: readonly string[], policy: HostKeyPolicy = 'strict'): KnownHostsConfig {
  return { files, record: files[0] ?? join(work, 'known_hosts'), policy };
}

/** The error `run` throws, checked to be an OrgalorgError. */
function thrown(run: () => unknown): Error & { code: string } {
  try {
    run();
  } catch (error: unknown) {
    if (isOrgalorgError(error)) return error;
    throw error;
  }
  throw new Error('expected an error, got none');
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'orgalorg-known-hosts-'));
  ed25519 = makeKey('ed25519', 'ed25519');
  other = makeKey('other', 'ed25519');
  ecdsa = makeKey('ecdsa', 'ecdsa');
  rsa = makeKey('rsa', 'rsa', '-b', '2048');
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

beforeEach(() => {
  work = mkdtempSync(join(root, 'case-'));
});

describe('fingerprint', () => {
  it('should print the same SHA256 fingerprint as ssh-keygen -l for every key type', () => {
    for (const key of [ed25519, ecdsa, rsa]) {
      expect(fingerprint(key.blob)).toBe(key.fingerprint);
    }
  });
});

describe('verifyHostKey', () => {
  it('should trust a key recorded under the plain host name for port 22', () => {
    const file = knownHosts([`web1 ${ed25519.pub}`, `web2 ${ecdsa.pub}`, `web3 ${rsa.pub}`]);

    expect(verifyHostKey(config([file]), 'web1', 22, ed25519.blob)).toEqual({
      keyType: 'ssh-ed25519',
      fingerprint: ed25519.fingerprint,
      recorded: false,
    });
    expect(verifyHostKey(config([file]), 'web2', 22, ecdsa.blob).keyType).toBe(
      'ecdsa-sha2-nistp256',
    );
    expect(verifyHostKey(config([file]), 'web3', 22, rsa.blob).keyType).toBe('ssh-rsa');
  });

  it('should match the host name case-insensitively', () => {
    const file = knownHosts([`Web1.Example.COM ${ed25519.pub}`]);

    expect(verifyHostKey(config([file]), 'WEB1.example.com', 22, ed25519.blob).recorded).toBe(
      false,
    );
  });

  it('should look another port up as [host]:port only', () => {
    const file = knownHosts([`[web1]:2222 ${ed25519.pub}`, `web2 ${ed25519.pub}`]);

    expect(verifyHostKey(config([file]), 'web1', 2222, ed25519.blob).recorded).toBe(false);
    expect(thrown(() => verifyHostKey(config([file]), 'web1', 22, ed25519.blob)).code).toBe(
      'hostkey.unknown',
    );
    expect(thrown(() => verifyHostKey(config([file]), 'web2', 2222, ed25519.blob)).code).toBe(
      'hostkey.unknown',
    );
  });

  it('should match IPv6 addresses bare on port 22 and bracketed with another port', () => {
    const file = knownHosts([`::1 ${ed25519.pub}`, `[fe80::1]:2222 ${ecdsa.pub}`]);

    expect(verifyHostKey(config([file]), '::1', 22, ed25519.blob).recorded).toBe(false);
    expect(verifyHostKey(config([file]), '[::1]', 22, ed25519.blob).recorded).toBe(false);
    expect(verifyHostKey(config([file]), 'FE80::1', 2222, ecdsa.blob).recorded).toBe(false);
    expect(verifyHostKey(config([file]), '[fe80::1]', 2222, ecdsa.blob).recorded).toBe(false);
    expect(thrown(() => verifyHostKey(config([file]), '::1', 2222, ed25519.blob)).code).toBe(
      'hostkey.unknown',
    );
  });

  it('should match hashed names written by ssh-keygen -H', () => {
    const file = knownHosts([
      `web1 ${ed25519.pub}`,
      `[web1]:2222 ${ecdsa.pub}`,
      `[::1]:2200 ${rsa.pub}`,
    ]);
    execFileSync('ssh-keygen', ['-H', '-f', file], { stdio: 'pipe' });
    expect(readFileSync(file, 'utf8')).not.toContain('web1');

    expect(verifyHostKey(config([file]), 'web1', 22, ed25519.blob).recorded).toBe(false);
    expect(verifyHostKey(config([file]), 'WEB1', 2222, ecdsa.blob).recorded).toBe(false);
    expect(verifyHostKey(config([file]), '::1', 2200, rsa.blob).recorded).toBe(false);
    expect(thrown(() => verifyHostKey(config([file]), 'web1', 22, other.blob)).code).toBe(
      'hostkey.changed',
    );
    expect(thrown(() => verifyHostKey(config([file]), 'web2', 22, ed25519.blob)).code).toBe(
      'hostkey.unknown',
    );
  });

  it('should match * and ? wildcards in a comma-separated pattern list', () => {
    const file = knownHosts([`db?.example.com,*.web.example.com,[*]:2222 ${ed25519.pub}`]);
    const trusted = (host: string, port = 22) =>
      verifyHostKey(config([file]), host, port, ed25519.blob).recorded === false;

    expect(trusted('db1.example.com')).toBe(true);
    expect(trusted('a.b.web.example.com')).toBe(true);
    expect(trusted('anything', 2222)).toBe(true);
    expect(() => trusted('db12.example.com')).toThrow(/not a known host/);
    expect(() => trusted('web.example.com')).toThrow(/not a known host/);
  });

  it('should skip a line whose host matches one of its negated patterns', () => {
    const file = knownHosts([`*.example.com,!bad.example.com ${ed25519.pub}`]);

    expect(verifyHostKey(config([file]), 'good.example.com', 22, ed25519.blob).recorded).toBe(
      false,
    );
    const error = thrown(() => verifyHostKey(config([file]), 'bad.example.com', 22, ed25519.blob));
    expect(error.code).toBe('hostkey.unknown');
  });

  it('should refuse a key marked @revoked even when another line records it', () => {
    const file = knownHosts([`web1 ${ed25519.pub}`, `@revoked * ${ed25519.pub}`]);

    for (const policy of ['strict', 'accept-new'] as const) {
      const error = thrown(() => verifyHostKey(config([file], policy), 'web1', 22, ed25519.blob));
      expect(error.code).toBe('hostkey.revoked');
      expect(error.message).toContain(`ssh-ed25519 ${ed25519.fingerprint}`);
      expect(error.message).toContain(`${file} line 2`);
    }
    const unknownHost = () => verifyHostKey(config([file], 'accept-new'), 'web2', 22, ed25519.blob);
    expect(thrown(unknownHost).code).toBe('hostkey.revoked');
    expect(readFileSync(file, 'utf8')).not.toContain('web2');
  });

  it('should ignore @cert-authority lines', () => {
    const file = knownHosts([`@cert-authority web1 ${ed25519.pub}`]);

    const error = thrown(() => verifyHostKey(config([file]), 'web1', 22, ed25519.blob));

    expect(error.code).toBe('hostkey.unknown');
  });

  it('should refuse a changed key naming the host, file, line and ssh-keygen fingerprint', () => {
    const file = knownHosts(['# fleet', '', `web9 ${other.pub}`, `[web1]:2222 ${ed25519.pub}`]);

    for (const policy of ['strict', 'accept-new'] as const) {
      const error = thrown(() => verifyHostKey(config([file], policy), 'web1', 2222, other.blob));
      expect(error.code).toBe('hostkey.changed');
      expect(error.message).toBe(
        `[web1]:2222 presents a different host key than ${file} line 4 records: ` +
          `ssh-ed25519 ${other.fingerprint}; if the host was reinstalled, remove the old line ` +
          `with: ssh-keygen -R "[web1]:2222" -f ${file}`,
      );
    }
    expect(readFileSync(file, 'utf8').split('\n')).toHaveLength(5);
  });

  it('should refuse as changed a key of another type than the one recorded', () => {
    const file = knownHosts([`web1,web2 ${ecdsa.pub}`]);

    const error = thrown(() => verifyHostKey(config([file], 'accept-new'), 'web1', 22, other.blob));

    expect(error.code).toBe('hostkey.changed');
    expect(error.message).toContain('(which records a ecdsa-sha2-nistp256 key)');
    expect(error.message).toContain(`ssh-ed25519 ${other.fingerprint}`);
    expect(error.message).toContain(`remove or edit ${file} line 1`);
  });

  it('should refuse an unknown host under strict and say how to add it', () => {
    const file = knownHosts([`web2 ${ed25519.pub}`]);
    const missing = join(work, 'ssh_known_hosts');

    const error = thrown(() =>
      verifyHostKey(config([file, missing], 'strict'), 'Web1', 2222, ed25519.blob),
    );

    expect(error.code).toBe('hostkey.unknown');
    expect(error.message).toBe(
      `[web1]:2222 is not a known host (looked in ${file}, ${missing}); it presents ` +
        `ssh-ed25519 ${ed25519.fingerprint}. If that is the host's key, add it with: ` +
        `ssh-keyscan -p 2222 web1 >> ${file}, or run with --host-key-check accept-new`,
    );
    expect(readFileSync(file, 'utf8')).toBe(`web2 ${ed25519.pub}\n`);
  });

  it('should record an unknown host under accept-new, creating the directory and file', () => {
    const record = join(work, 'home', '.ssh', 'known_hosts');
    const accepting = { files: [record], record, policy: 'accept-new' } as const;

    const first = verifyHostKey(accepting, 'web1', 2222, ecdsa.blob);

    expect(first).toEqual({
      keyType: 'ecdsa-sha2-nistp256',
      fingerprint: ecdsa.fingerprint,
      recorded: true,
    });
    expect(statSync(join(work, 'home', '.ssh')).mode & 0o777).toBe(0o700);
    expect(statSync(record).mode & 0o777).toBe(0o600);
    expect(readFileSync(record, 'utf8')).toBe(
      `[web1]:2222 ecdsa-sha2-nistp256 ${ecdsa.blob.toString('base64')}\n`,
    );
    expect(verifyHostKey(accepting, 'web1', 2222, ecdsa.blob).recorded).toBe(false);
    expect(verifyHostKey({ ...accepting, policy: 'strict' }, 'web1', 2222, ecdsa.blob)).toEqual({
      ...first,
      recorded: false,
    });
    expect(verifyHostKey(accepting, 'web2', 22, ed25519.blob).recorded).toBe(true);
    expect(readFileSync(record, 'utf8').split('\n')).toEqual([
      `[web1]:2222 ecdsa-sha2-nistp256 ${ecdsa.blob.toString('base64')}`,
      `web2 ssh-ed25519 ${ed25519.blob.toString('base64')}`,
      '',
    ]);
  });

  it('should read the record file too when it is not among the files', () => {
    const record = join(work, 'recorded');
    const accepting = { files: [join(work, 'missing')], record, policy: 'accept-new' } as const;

    expect(verifyHostKey(accepting, 'web1', 22, rsa.blob).recorded).toBe(true);
    expect(verifyHostKey(accepting, 'web1', 22, rsa.blob).recorded).toBe(false);
  });

  it('should start a new line when the record file does not end with a newline', () => {
    const record = join(work, 'known_hosts');
    writeFileSync(record, `web1 ${ed25519.pub}`);

    verifyHostKey(config([record], 'accept-new'), 'web2', 22, ecdsa.blob);

    expect(readFileSync(record, 'utf8')).toBe(
      `web1 ${ed25519.pub}\nweb2 ecdsa-sha2-nistp256 ${ecdsa.blob.toString('base64')}\n`,
    );
    expect(verifyHostKey(config([record]), 'web1', 22, ed25519.blob).recorded).toBe(false);
    expect(verifyHostKey(config([record]), 'web2', 22, ecdsa.blob).recorded).toBe(false);
  });

  it('should read CRLF lines', () => {
    const file = join(work, 'known_hosts');
    writeFileSync(file, `# windows\r\nweb1 ${ed25519.pub}\r\nweb2 ${ecdsa.pub}\r\n`);
    appendFileSync(file, `web3 ${rsa.type} ${rsa.blob.toString('base64')}\r\n`);

    expect(verifyHostKey(config([file]), 'web1', 22, ed25519.blob).recorded).toBe(false);
    expect(verifyHostKey(config([file]), 'web3', 22, rsa.blob).recorded).toBe(false);
    const error = thrown(() => verifyHostKey(config([file]), 'web3', 22, other.blob));
    expect(error.message).toContain(`${file} line 4 records`);
  });

  it('should skip malformed lines and keys that do not decode', () => {
    const file = knownHosts([
      'web1',
      'web1 ssh-ed25519',
      `web1 ssh-rsa ${ed25519.blob.toString('base64')}`,
      'web1 ssh-ed25519 !!!notbase64',
      `@unknown-marker web1 ${ed25519.pub}`,
    ]);

    const error = thrown(() => verifyHostKey(config([file]), 'web1', 22, ed25519.blob));

    expect(error.code).toBe('hostkey.unknown');
  });

  it('should skip a missing file and read the next one', () => {
    const global = knownHosts([`web1 ${ed25519.pub}`], 'ssh_known_hosts');
    const missing = join(work, 'no', 'such', 'known_hosts');

    expect(verifyHostKey(config([missing, global]), 'web1', 22, ed25519.blob).recorded).toBe(false);
    expect(existsSync(missing)).toBe(false);
  });

  it('should name the first line of the user file when both files record other keys', () => {
    const user = knownHosts([`web1 ${ecdsa.pub}`], 'user');
    const global = knownHosts([`web1 ${rsa.pub}`], 'global');

    const error = thrown(() => verifyHostKey(config([user, global]), 'web1', 22, other.blob));
    expect(error.message).toContain(`${user} line 1 records`);
    expect(verifyHostKey(config([user, global]), 'web1', 22, rsa.blob).recorded).toBe(false);
  });

  it('should throw naming a known hosts file that is a directory', () => {
    const directory = join(work, 'known_hosts');
    mkdirSync(directory);

    const error = thrown(() => verifyHostKey(config([directory]), 'web1', 22, ed25519.blob));

    expect(error.code).toBe('hostkey');
    expect(error.message).toBe(`can't read known hosts file '${directory}': it is a directory`);
  });

  it('should trust any key under off and read or write nothing', () => {
    const directory = join(work, 'known_hosts');
    mkdirSync(directory);
    const record = join(work, 'never', 'known_hosts');

    const info = verifyHostKey({ files: [directory], record, policy: 'off' }, 'web1', 22, rsa.blob);

    expect(info).toEqual({ keyType: 'ssh-rsa', fingerprint: rsa.fingerprint, recorded: false });
    expect(existsSync(join(work, 'never'))).toBe(false);
  });

  it('should check a host near the end of a 20,000-line file quickly', () => {
    const encoded = other.blob.toString('base64');
    const lines = Array.from({ length: 20_000 }, (_, i) => `host${i} ssh-ed25519 ${encoded}`);
    const file = knownHosts([...lines, `web1 ${ed25519.pub}`]);

    const started = performance.now();
    expect(verifyHostKey(config([file]), 'web1', 22, ed25519.blob).recorded).toBe(false);
    expect(verifyHostKey(config([file]), 'host19999', 22, other.blob).recorded).toBe(false);
    expect(performance.now() - started).toBeLessThan(2_000);
  });
});

describe('knownHostKeyTypes', () => {
  it('should list the recorded key types of a host once each, leaving out revoked keys', () => {
    const file = knownHosts([
      `web1 ${ecdsa.pub}`,
      `web1,web2 ${rsa.pub}`,
      `* ${ecdsa.pub}`,
      `@revoked web1 ${other.pub}`,
    ]);

    expect(knownHostKeyTypes(config([file]), 'web1', 22)).toEqual([
      'ecdsa-sha2-nistp256',
      'ssh-rsa',
    ]);
    expect(knownHostKeyTypes(config([file]), 'web1', 2222)).toEqual(['ecdsa-sha2-nistp256']);
    expect(knownHostKeyTypes(config([file]), 'web3', 22)).toEqual(['ecdsa-sha2-nistp256']);
    expect(knownHostKeyTypes(config([join(work, 'missing')]), 'web1', 22)).toEqual([]);
    expect(knownHostKeyTypes(config([file], 'off'), 'web1', 22)).toEqual([]);
  });
});
