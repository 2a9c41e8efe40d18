// Logging in and trusting hosts on real hosts: encrypted keys and passwords asked on a terminal
// (driven by `expect`), keyboard-interactive login, known_hosts, ssh_config with jump hosts, and
// sudo that wants a password.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CLI, cliEnv, runCli, type CliResult } from '../support/cli.js';
import { hostExec, loadHosts, startHosts, stopHosts } from '../support/hosts.js';
import { perHost, silentListener, sortLines, useFleet } from './fixture.js';

const fleet = useFleet();
const PASSPHRASE = 'theone';
/** The comment of every public key this file installs, to take them out again. */
const MARK = 'orgalorg-auth-test';
const AUTHORIZED_KEYS = '/home/orgalorg/.ssh/authorized_keys';
const DEAD = '127.0.0.2:1';
const WHOAMI = ['-C', 'whoami'];

const made: string[] = [];
/** A new directory under the temporary one, removed after the file's tests. */
function tempDir(name: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), `orgalorg-auth-${name}-`));
  made.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** Runs a local tool; throws unless it exits 0. */
function tool(command: string, args: readonly string[]): string {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  }
  return result.stdout;
}

/** A fresh HOME with an empty ~/.ssh (0700), and the path of its known_hosts. */
function makeHome(): { home: string; ssh: string; knownHosts: string } {
  const home = tempDir('home');
  const ssh = path.join(home, '.ssh');
  mkdirSync(ssh, { mode: 0o700 });
  return { home, ssh, knownHosts: path.join(ssh, 'known_hosts') };
}

/** `ssh-ed25519 AAAA...` of host `index` (1-based) of the global hosts. */
function hostKey(index: number): string {
  const file = path.join(fleet.stateDir, `host${index}`, 'ssh_host_ed25519_key.pub');
  return readFileSync(file, 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
}

/** The SHA256 fingerprint of host `index`'s key, as `ssh-keygen -lf` prints it. */
function hostFingerprint(index: number): string {
  const file = path.join(fleet.stateDir, `host${index}`, 'ssh_host_ed25519_key.pub');
  const fingerprint = tool('ssh-keygen', ['-lf', file]).split(/\s+/)[1] ?? '';
  expect(fingerprint).toMatch(/^SHA256:/);
  return fingerprint;
}

/** A valid ed25519 public key that no host has: `ssh-ed25519 AAAA...`. */
function otherKey(): string {
  const file = path.join(tempDir('other'), 'key');
  tool('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', file]);
  return readFileSync(`${file}.pub`, 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
}

/** known_hosts text naming each global host (1-based) with the key given for it. */
function knownHostsText(keys: Record<number, string>): string {
  return Object.entries(keys)
    .map(([index, key]) => `${fleet.addresses[Number(index) - 1]} ${key}\n`)
    .join('');
}

/** The known_hosts the global hosts really have. */
const trueKnownHosts = () => knownHostsText({ 1: hostKey(1), 2: hostKey(2), 3: hostKey(3) });

/** The lines of a file, without blank ones, sorted. */
function sortedLines(file: string): string[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .sort();
}

/** Runs the CLI with its own HOME (and other variables), never with the fleet's -u and -k. */
function run(home: string, args: readonly string[], env: Record<string, string> = {}) {
  return runCli(args, { env: { HOME: home, ...env }, timeoutMs: 30_000 });
}

/** Every global host answered `orgalorg`, under its address as typed. */
function expectEveryHost(result: CliResult | TtyResult, prefixes = fleet.addresses): void {
  expect(result.stderr).toBe('');
  expect(sortLines(result.stdout)).toBe(perHost(prefixes, 'orgalorg'));
  expect(result.code).toBe(0);
}

/** Appends public key lines to authorized_keys of the hosts (1-based) of a state dir. */
async function authorize(stateDir: string, indexes: number[], lines: string[]): Promise<void> {
  for (const index of indexes) {
    const script = `printf '%s\\n' "$@" >> ${AUTHORIZED_KEYS}`;
    const done = await hostExec(index, stateDir, ['sh', '-c', script, 'sh', ...lines]);
    if (done.code !== 0) throw new Error(`host ${index}: can't add keys: ${done.stderr}`);
  }
}

/** Takes the lines this file added (those with MARK) out of authorized_keys again. */
async function unauthorize(stateDir: string, indexes: number[]): Promise<void> {
  // Rewritten in place, so that the file keeps its owner and mode.
  const script = `kept=$(grep -v -F -- "$1" ${AUTHORIZED_KEYS} || true); printf '%s\\n' "$kept" > ${AUTHORIZED_KEYS}`;
  for (const index of indexes) {
    const done = await hostExec(index, stateDir, ['sh', '-c', script, 'sh', MARK]);
    if (done.code !== 0) throw new Error(`host ${index}: can't restore keys: ${done.stderr}`);
  }
}

/** An ssh-agent of our own with no keys, in the foreground so that it is stopped by its pid. */
async function startAgent(): Promise<{ socket: string; stop: () => void }> {
  const socket = path.join(tempDir('agent'), 'agent.sock');
  const agent = spawn('ssh-agent', ['-D', '-a', socket], { stdio: 'ignore' });
  const stop = () => void agent.kill('SIGTERM');
  const deadline = Date.now() + 10_000;
  while (!existsSync(socket)) {
    if (Date.now() > deadline || agent.exitCode !== null) {
      stop();
      throw new Error('ssh-agent did not start');
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { socket, stop };
}

/** Whether `file` exists on global host `index`. */
async function existsOnHost(index: number, file: string): Promise<boolean> {
  return (await hostExec(index, fleet.stateDir, ['test', '-e', file])).code === 0;
}

// --- a terminal, driven by expect ------------------------------------------------------------

// expect prints what the CLI writes on the terminal, then how often it answered the prompt.
const EXPECT_SCRIPT = `
set timeout $env(ORGALORG_TEST_TIMEOUT)
log_user 1
set prompts 0
spawn -noecho {*}$argv
expect {
  -exact $env(ORGALORG_TEST_PROMPT) {
    incr prompts
    send -- "$env(ORGALORG_TEST_ANSWER)\\r"
    exp_continue
  }
  eof {}
  timeout { puts stderr "expect: timed out"; exit 98 }
}
set status [wait]
puts "\\nprompts $prompts"
exit [lindex $status 3]
`;

interface TtyResult {
  code: number | null;
  /** The CLI's stdout and stderr, apart from the terminal. */
  stdout: string;
  stderr: string;
  /** What the CLI wrote on its terminal (/dev/tty). */
  transcript: string;
  /** How often the prompt was seen, and answered. */
  prompts: number;
}

const terminals = new Set<ChildProcess>();
afterEach(() => {
  for (const child of terminals) child.kill('SIGKILL');
});

/**
 * Runs the CLI on a pseudo-terminal made by `expect`, which answers every `prompt` with
 * `answer`. The CLI's stdin is /dev/null and its output goes to files: the terminal is only its
 * /dev/tty, so the answer can come from nowhere else. (fd 3 holds the terminal open, or expect
 * would see it closed the moment the CLI starts.)
 */
async function onTerminal(
  args: readonly string[],
  prompt: string,
  answer: string,
  env: Record<string, string> = {},
): Promise<TtyResult> {
  const dir = tempDir('tty');
  const files = {
    script: path.join(dir, 'answer.exp'),
    stdout: path.join(dir, 'stdout'),
    stderr: path.join(dir, 'stderr'),
  };
  writeFileSync(files.script, EXPECT_SCRIPT);
  const redirect =
    'exec 3</dev/tty; exec "$@" </dev/null >"$ORGALORG_TEST_STDOUT" 2>"$ORGALORG_TEST_STDERR"';
  const child = spawn(
    'expect',
    ['-f', files.script, '--', 'sh', '-c', redirect, 'sh', process.execPath, CLI, ...args],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: cliEnv({
        HOME: tempDir('home'),
        ...env,
        ORGALORG_TEST_TIMEOUT: '30',
        ORGALORG_TEST_PROMPT: prompt,
        ORGALORG_TEST_ANSWER: answer,
        ORGALORG_TEST_STDOUT: files.stdout,
        ORGALORG_TEST_STDERR: files.stderr,
      }),
    },
  );
  terminals.add(child);
  let terminal = '';
  let notes = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (terminal += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (notes += chunk));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (status) => resolve(status));
  });
  terminals.delete(child);
  expect(notes).toBe('');
  const counted = /\nprompts (\d+)\n$/.exec(terminal);
  expect(counted).not.toBeNull();
  return {
    code,
    stdout: readFileSync(files.stdout, 'utf8'),
    stderr: readFileSync(files.stderr, 'utf8'),
    transcript: terminal.slice(0, counted?.index ?? 0),
    prompts: Number(counted?.[1]),
  };
}

// --- encrypted keys ------------------------------------------------------------------------

/** An ed25519 public key line built from the raw key of a (PKCS#8) private key file. */
function ed25519PublicLine(file: string): string {
  const key = createPrivateKey({ key: readFileSync(file), format: 'pem', passphrase: PASSPHRASE });
  const raw = Buffer.from(createPublicKey(key).export({ format: 'jwk' }).x ?? '', 'base64url');
  const field = (bytes: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    return Buffer.concat([length, bytes]);
  };
  const blob = Buffer.concat([field(Buffer.from('ssh-ed25519')), field(raw)]);
  return `ssh-ed25519 ${blob.toString('base64')}`;
}

interface KeyFormat {
  name: string;
  /** The first line the file must have, to be sure of the format under test. */
  header: string;
  make: (file: string) => string;
}

/** Each format makes an encrypted key at `file` and returns its public key line. */
const FORMATS: KeyFormat[] = [
  {
    name: 'OpenSSH ed25519',
    header: '-----BEGIN OPENSSH PRIVATE KEY-----',
    make: (file) => {
      tool('ssh-keygen', ['-q', '-t', 'ed25519', '-N', PASSPHRASE, '-C', MARK, '-f', file]);
      return readFileSync(`${file}.pub`, 'utf8').trim();
    },
  },
  {
    name: 'PEM RSA',
    header: '-----BEGIN RSA PRIVATE KEY-----',
    make: (file) => {
      const args = ['-q', '-t', 'rsa', '-b', '2048', '-m', 'PEM', '-N', PASSPHRASE, '-f', file];
      tool('ssh-keygen', args);
      return readFileSync(`${file}.pub`, 'utf8').trim();
    },
  },
  {
    name: 'PKCS#8 RSA',
    header: '-----BEGIN ENCRYPTED PRIVATE KEY-----',
    make: (file) => {
      const args = ['-q', '-t', 'rsa', '-b', '2048', '-m', 'PKCS8', '-N', PASSPHRASE, '-f', file];
      tool('ssh-keygen', args);
      return readFileSync(`${file}.pub`, 'utf8').trim();
    },
  },
  {
    name: 'PKCS#8 ed25519 (openssl)',
    header: '-----BEGIN ENCRYPTED PRIVATE KEY-----',
    make: (file) => {
      const pass = `pass:${PASSPHRASE}`;
      tool('openssl', ['genpkey', '-algorithm', 'ed25519', '-aes256', '-pass', pass, '-out', file]);
      // OpenSSH 9.2's ssh-keygen -y reads no PKCS#8 ed25519 key: the public key is built here.
      return ed25519PublicLine(file);
    },
  },
];

describe('encrypted keys', () => {
  const keys = new Map<string, string>();
  const hostIndexes = [1, 2, 3];

  beforeAll(async () => {
    const dir = tempDir('keys');
    const lines: string[] = [];
    FORMATS.forEach((format, index) => {
      const file = path.join(dir, `key${index}`);
      const line = format.make(file);
      expect(readFileSync(file, 'utf8').split('\n')[0]).toBe(format.header);
      keys.set(format.name, file);
      lines.push(`${line.split(/\s+/).slice(0, 2).join(' ')} ${MARK}`);
    });
    await authorize(fleet.stateDir, hostIndexes, lines);
  });

  afterAll(async () => {
    await unauthorize(fleet.stateDir, hostIndexes);
  });

  const keyOf = (name: string) => keys.get(name) ?? '';

  it.each(FORMATS.map((format) => format.name))(
    'should log in with an encrypted %s key, asking its passphrase once per run',
    async (name) => {
      const args = ['-u', 'orgalorg', ...fleet.all, '-k', keyOf(name), ...WHOAMI];
      const result = await onTerminal(args, 'Key passphrase: ', PASSPHRASE);
      expectEveryHost(result);
      expect(result.prompts).toBe(1);
      expect(result.transcript.split('Key passphrase: ')).toHaveLength(2);
      // Asked without echo: the passphrase never shows on the terminal.
      expect(result.transcript).not.toContain(PASSPHRASE);
    },
  );

  it('should refuse a wrong passphrase naming the key', async () => {
    const key = keyOf('OpenSSH ed25519');
    const args = ['-u', 'orgalorg', ...fleet.all, '-k', key, ...WHOAMI];
    const result = await onTerminal(args, 'Key passphrase: ', 'not-the-one');
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(
      `can't use SSH key '${key}': invalid passphrase for private key specified`,
    );
    expect(result.prompts).toBe(1);
    expect(result.code).toBe(1);
  });

  it('should refuse a wrong passphrase of a PKCS#8 key too', async () => {
    const key = keyOf('PKCS#8 ed25519 (openssl)');
    const args = ['-u', 'orgalorg', ...fleet.all, '-k', key, ...WHOAMI];
    const result = await onTerminal(args, 'Key passphrase: ', 'not-the-one');
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('invalid passphrase for private key specified');
    expect(result.code).toBe(1);
  });

  it('should fail at once without a terminal to ask the passphrase on', async () => {
    const { home, knownHosts } = makeHome();
    const key = keyOf('PEM RSA');
    const result = await runCli(['-u', 'orgalorg', ...fleet.all, '-k', key, ...WHOAMI], {
      env: { HOME: home },
      detached: true,
      timeoutMs: 20_000,
    });
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(
      "TTY is required for reading key passphrase, but /dev/tty can't be opened",
    );
    expect(result.code).toBe(1);
    expect(result.ms).toBeLessThan(10_000);
    // No host was contacted: none had its key recorded.
    expect(existsSync(knownHosts)).toBe(false);
  });

  it('should never add a key to the ssh-agent', async () => {
    const { socket, stop } = await startAgent();
    try {
      const listed = () => spawnSync('ssh-add', ['-l'], { env: { SSH_AUTH_SOCK: socket } });
      expect(listed().status).toBe(1);

      const key = keyOf('OpenSSH ed25519');
      const args = ['-u', 'orgalorg', ...fleet.all, '-k', key, ...WHOAMI];
      const result = await onTerminal(args, 'Key passphrase: ', PASSPHRASE, {
        SSH_AUTH_SOCK: socket,
      });
      expectEveryHost(result);

      const after = listed();
      expect(after.stdout.toString()).toContain('The agent has no identities.');
      expect(after.status).toBe(1);
    } finally {
      stop();
    }
  });
});

// --- passwords -----------------------------------------------------------------------------

describe('passwords', () => {
  let password = '';
  beforeAll(async () => {
    password = (await loadHosts(fleet.stateDir)).password;
    expect(password).not.toBe('');
  });

  it('should log in with a password asked once on the terminal', async () => {
    // No key at all: a fresh HOME, no -k, no agent.
    const result = await onTerminal(
      ['-u', 'orgalorg', ...fleet.all, '-p', ...WHOAMI],
      'Password: ',
      password,
    );
    expectEveryHost(result);
    expect(result.prompts).toBe(1);
    expect(result.transcript).not.toContain(password);
  });

  it('should fail at once naming the TTY when -p has no terminal to ask on', async () => {
    const { home, knownHosts } = makeHome();
    const result = await runCli(['-u', 'orgalorg', ...fleet.all, '-p', ...WHOAMI], {
      env: { HOME: home },
      detached: true,
      timeoutMs: 20_000,
    });
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(
      "TTY is required for reading password, but /dev/tty can't be opened",
    );
    expect(result.code).toBe(1);
    expect(result.ms).toBeLessThan(10_000);
    expect(existsSync(knownHosts)).toBe(false);
  });
});

// --- a host of our own: keyboard-interactive only, sudo that wants a password ----------------

describe('a host without password login and with sudo wanting a password', () => {
  // A host of this file only, on 127.26.0.0/16, with a state dir of its own; stopped after.
  let stateDir = '';
  let address = '';
  let password = '';
  const SUDOERS = '/etc/sudoers.d/orgalorg-acceptance';

  beforeAll(async () => {
    stateDir = mkdtempSync(path.join(os.tmpdir(), 'orgalorg-auth-hosts-'));
    const hosts = await startHosts(1, stateDir, {
      SSHD_HOSTS_NET: '26',
      SSHD_HOSTS_EXTRA_CONFIG: 'PasswordAuthentication no',
    });
    address = hosts.addresses[0] ?? '';
    password = hosts.password;
    expect(address).toBe('127.26.0.1');
    const config = readFileSync(path.join(stateDir, 'host1', 'sshd_config'), 'utf8');
    expect(config).toContain('PasswordAuthentication no');
    // The global hosts' key logs in here too, so that one -k serves every host.
    const key = readFileSync(`${fleet.key}.pub`, 'utf8').trim().split(/\s+/).slice(0, 2);
    await authorize(stateDir, [1], [`${key.join(' ')} ${MARK}`]);
  });

  afterAll(async () => {
    if (stateDir === '') return;
    await stopHosts(stateDir);
    rmSync(stateDir, { recursive: true, force: true });
  });

  const sshdLog = () => readFileSync(path.join(stateDir, 'host1', 'sshd.log'), 'utf8');

  it('should log in with keyboard-interactive where password login is off', async () => {
    const before = sshdLog().length;
    const args = ['-u', 'orgalorg', '-o', address, ...fleet.all, '-p', ...WHOAMI];
    const result = await onTerminal(args, 'Password: ', password);
    expectEveryHost(result, [address, ...fleet.addresses]);
    expect(result.prompts).toBe(1);
    const log = sshdLog().slice(before);
    expect(log).toContain('Accepted keyboard-interactive/pam for orgalorg');
    expect(log).not.toContain('Accepted password');
  });

  it('should fail at once naming the host where sudo wants a password', async () => {
    const original = await hostExec(1, stateDir, ['cat', SUDOERS]);
    expect(original.code).toBe(0);
    const replace = (rule: string) =>
      hostExec(1, stateDir, [
        'sh',
        '-c',
        `printf '%s\\n' "$1" > "$2.new" && chmod 0440 "$2.new" && mv "$2.new" "$2"`,
        'sh',
        rule,
        SUDOERS,
      ]);
    expect((await replace('orgalorg ALL=(ALL:ALL) ALL')).code).toBe(0);
    try {
      const result = await runCli(
        ['-u', 'orgalorg', '-k', fleet.key, ...fleet.all, '-o', address, '-x', ...WHOAMI],
        { env: { HOME: makeHome().home }, timeoutMs: 30_000 },
      );
      expect(sortLines(result.stdout)).toBe(perHost(fleet.addresses, 'root'));
      expect(result.stderr).toContain(`${address} sudo: a password is required`);
      expect(result.stderr).toMatch(/code 1 \(1 nodes\)\n\s*└─ \[orgalorg@127\.26\.0\.1:22\]/);
      expect(result.code).toBe(1);
      expect(result.ms).toBeLessThan(15_000);
    } finally {
      expect((await replace(original.stdout.trimEnd())).code).toBe(0);
    }
  });
});

// --- host keys -----------------------------------------------------------------------------

/** A TCP port on 127.0.0.5 that forwards every connection to port 22 of `target`. */
async function forwarder(target: string): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(22, target);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => {
        sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.5', () => resolve());
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        sockets.forEach((socket) => socket.destroy());
        server.close(() => resolve());
      }),
  };
}

/** -u and -k of the test hosts. */
const login = () => ['-u', 'orgalorg', '-k', fleet.key];

describe('host keys', () => {
  it('should record unknown hosts in ~/.ssh/known_hosts (0600) and trust them next time', async () => {
    const { home, knownHosts } = makeHome();
    expectEveryHost(await run(home, [...login(), ...fleet.all, ...WHOAMI]));
    expect(statSync(knownHosts).mode & 0o777).toBe(0o600);
    expect(sortedLines(knownHosts)).toEqual(trueKnownHosts().trim().split('\n').sort());

    // strict trusts only what is recorded.
    const again = await run(home, [
      ...login(),
      ...fleet.all,
      '--host-key-check',
      'strict',
      ...WHOAMI,
    ]);
    expectEveryHost(again);
    expect(sortedLines(knownHosts)).toEqual(trueKnownHosts().trim().split('\n').sort());
  });

  it('should create ~/.ssh (0700) for known_hosts when it is missing', async () => {
    const home = tempDir('bare-home');
    expectEveryHost(await run(home, [...login(), ...fleet.all, ...WHOAMI]));
    expect(statSync(path.join(home, '.ssh')).mode & 0o777).toBe(0o700);
    expect(statSync(path.join(home, '.ssh', 'known_hosts')).mode & 0o777).toBe(0o600);
  });

  it('should refuse a host whose key changed, naming it and the key it presents, running nothing', async () => {
    const { home, knownHosts } = makeHome();
    expectEveryHost(await run(home, [...login(), ...fleet.all, ...WHOAMI]));
    const host2 = fleet.addresses[1] ?? '';
    const edited = readFileSync(knownHosts, 'utf8').replace(
      `${host2} ${hostKey(2)}`,
      `${host2} ${otherKey()}`,
    );
    expect(edited).not.toContain(hostKey(2));
    writeFileSync(knownHosts, edited);

    const marker = `/tmp/orgalorg-auth-ran-${process.pid}-${Date.now()}`;
    const result = await run(home, [...login(), ...fleet.all, '-C', 'touch', marker]);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(
      `${host2} presents a different host key than ~/.ssh/known_hosts`,
    );
    expect(result.stderr).toContain(`ssh-ed25519 ${hostFingerprint(2)}`);
    expect(result.stderr).toContain(`ssh-keygen -R "${host2}"`);
    expect(result.code).toBe(1);
    for (const index of [1, 2, 3]) expect(await existsOnHost(index, marker)).toBe(false);
    expect(readFileSync(knownHosts, 'utf8')).toBe(edited);
  });

  it('should refuse an unknown host under --host-key-check strict with an ssh-keyscan hint', async () => {
    const { home, knownHosts } = makeHome();
    const host1 = fleet.addresses[0] ?? '';
    const result = await run(home, [
      ...login(),
      '-o',
      host1,
      '--host-key-check',
      'strict',
      ...WHOAMI,
    ]);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(`${host1} is not a known host`);
    expect(result.stderr).toContain(`ssh-ed25519 ${hostFingerprint(1)}`);
    expect(result.stderr).toContain(`ssh-keyscan -p 22 ${host1} >> ~/.ssh/known_hosts`);
    expect(result.code).toBe(1);
    expect(existsSync(knownHosts)).toBe(false);
  });

  it('should run despite a wrong key under --host-key-check off, recording nothing', async () => {
    const { home, knownHosts } = makeHome();
    const wrong = otherKey();
    const text = knownHostsText({ 1: wrong, 2: wrong, 3: wrong });
    writeFileSync(knownHosts, text, { mode: 0o600 });
    const refused = await run(home, [...login(), ...fleet.all, ...WHOAMI]);
    expect(refused.code).toBe(1);

    const result = await run(home, [
      ...login(),
      ...fleet.all,
      '--host-key-check',
      'off',
      ...WHOAMI,
    ]);
    expectEveryHost(result);
    expect(readFileSync(knownHosts, 'utf8')).toBe(text);
  });

  it('should record in and check the --known-hosts file instead of ~/.ssh/known_hosts', async () => {
    const { home, knownHosts } = makeHome();
    const file = path.join(tempDir('known'), 'hosts');
    const flag = ['--known-hosts', file];
    expectEveryHost(await run(home, [...login(), ...fleet.all, ...flag, ...WHOAMI]));
    expect(sortedLines(file)).toEqual(trueKnownHosts().trim().split('\n').sort());
    expect(existsSync(knownHosts)).toBe(false);

    const strict = ['--host-key-check', 'strict'];
    expectEveryHost(await run(home, [...login(), ...fleet.all, ...flag, ...strict, ...WHOAMI]));

    // A right key in ~/.ssh/known_hosts does not help: only the given file counts.
    writeFileSync(knownHosts, trueKnownHosts());
    writeFileSync(file, knownHostsText({ 1: otherKey(), 2: hostKey(2), 3: hostKey(3) }));
    const result = await run(home, [...login(), ...fleet.all, ...flag, ...WHOAMI]);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(
      `${fleet.addresses[0]} presents a different host key than ${file} line 1 records`,
    );
    expect(result.code).toBe(1);
  });

  it('should trust hashed known_hosts entries', async () => {
    const { home, knownHosts } = makeHome();
    writeFileSync(knownHosts, trueKnownHosts(), { mode: 0o600 });
    tool('ssh-keygen', ['-q', '-H', '-f', knownHosts]);
    const hashed = readFileSync(knownHosts, 'utf8');
    expect(hashed.split('\n').filter((line) => line.startsWith('|1|'))).toHaveLength(3);
    for (const address of fleet.addresses) expect(hashed).not.toContain(address);

    const strict = ['--host-key-check', 'strict'];
    expectEveryHost(await run(home, [...login(), ...fleet.all, ...strict, ...WHOAMI]));
    expect(readFileSync(knownHosts, 'utf8')).toBe(hashed);

    // A hashed line with another key for a host is a changed key, not an unknown host.
    const host3 = fleet.addresses[2] ?? '';
    writeFileSync(path.join(home, 'plain'), `${host3} ${otherKey()}\n`);
    tool('ssh-keygen', ['-q', '-H', '-f', path.join(home, 'plain')]);
    writeFileSync(knownHosts, readFileSync(path.join(home, 'plain'), 'utf8'));
    const changed = await run(home, [...login(), '-o', host3, ...WHOAMI]);
    expect(changed.stderr).toContain(`${host3} presents a different host key`);
    expect(changed.code).toBe(1);
  });

  it('should name a host on another port [host]:port in known_hosts', async () => {
    const forward = await forwarder(fleet.addresses[0] ?? '');
    try {
      const host = `127.0.0.5:${forward.port}`;
      const name = `[127.0.0.5]:${forward.port}`;
      const { home, knownHosts } = makeHome();
      expectEveryHost(await run(home, [...login(), '-o', host, ...WHOAMI]), [host]);
      expect(readFileSync(knownHosts, 'utf8')).toBe(`${name} ${hostKey(1)}\n`);
      // OpenSSH finds it under the same name.
      expect(tool('ssh-keygen', ['-F', name, '-f', knownHosts])).toContain(hostKey(1));

      const strict = ['--host-key-check', 'strict'];
      expectEveryHost(await run(home, [...login(), '-o', host, ...strict, ...WHOAMI]), [host]);

      // The same address on port 22 is another host.
      writeFileSync(knownHosts, `127.0.0.5 ${hostKey(1)}\n`);
      const unknown = await run(home, [...login(), '-o', host, ...strict, ...WHOAMI]);
      expect(unknown.stderr).toContain(`${name} is not a known host`);
      expect(unknown.stderr).toContain(`ssh-keyscan -p ${forward.port} 127.0.0.5`);
      expect(unknown.code).toBe(1);

      writeFileSync(knownHosts, `${name} ${otherKey()}\n`);
      const changed = await run(home, [...login(), '-o', host, ...WHOAMI]);
      expect(changed.stderr).toContain(`${name} presents a different host key`);
      expect(changed.code).toBe(1);
    } finally {
      await forward.close();
    }
  });
});

// --- ssh_config ----------------------------------------------------------------------------

/** A HOME whose ~/.ssh/config holds `lines`. */
function homeWithConfig(lines: readonly string[]) {
  const home = makeHome();
  writeFileSync(path.join(home.ssh, 'config'), `${lines.join('\n')}\n`);
  return home;
}

describe('ssh_config', () => {
  it('should map aliases with HostName, User and Port, keeping the alias as the prefix', async () => {
    const forward = await forwarder(fleet.addresses[1] ?? '');
    try {
      const { home } = homeWithConfig([
        'Host web1',
        `  HostName ${fleet.addresses[0]}`,
        'Host web2',
        '  HostName 127.0.0.5',
        `  Port ${forward.port}`,
        'Host web*',
        '  User orgalorg',
      ]);
      // No -u: the current user (root) may not log in on the hosts; User says who does.
      const result = await run(home, ['-k', fleet.key, '-o', 'web1', '-o', 'web2', ...WHOAMI]);
      expectEveryHost(result, ['web1', 'web2']);
    } finally {
      await forward.close();
    }
  });

  it('should log in with the IdentityFile of the config, without -k', async () => {
    const { home } = homeWithConfig([
      'Host web*',
      `  HostName ${fleet.addresses[0]}`,
      '  User orgalorg',
      `  IdentityFile ${fleet.key}`,
    ]);
    expectEveryHost(await run(home, ['-o', 'web1', ...WHOAMI]), ['web1']);
  });

  it('should offer the IdentityFile key of the config when the agent has none', async () => {
    const { socket, stop } = await startAgent();
    try {
      const { home } = homeWithConfig([
        'Host web*',
        `  HostName ${fleet.addresses[0]}`,
        '  User orgalorg',
        `  IdentityFile ${fleet.key}`,
      ]);
      const result = await run(home, ['-o', 'web1', ...WHOAMI], { SSH_AUTH_SOCK: socket });
      expectEveryHost(result, ['web1']);
    } finally {
      stop();
    }
  });

  it('should let -u win over User', async () => {
    const { home } = homeWithConfig([
      'Host web*',
      `  HostName ${fleet.addresses[0]}`,
      '  User nobody-here',
    ]);
    const wrongUser = await run(home, ['-k', fleet.key, '-o', 'web1', ...WHOAMI]);
    expect(wrongUser.stderr).toContain('[nobody-here@web1:22]');
    expect(wrongUser.code).toBe(1);

    const result = await run(home, [...login(), '-o', 'web1', ...WHOAMI]);
    expectEveryHost(result, ['web1']);
  });

  it('should read the -F file instead of ~/.ssh/config', async () => {
    const [host, port] = DEAD.split(':');
    const { home } = homeWithConfig(['Host web1', `  HostName ${host}`, `  Port ${port}`]);
    const file = path.join(tempDir('config'), 'config');
    writeFileSync(file, `Host web1\n  HostName ${fleet.addresses[2]}\n  User orgalorg\n`);
    const result = await run(home, ['-k', fleet.key, '-F', file, '-o', 'web1', ...WHOAMI]);
    expectEveryHost(result, ['web1']);
  });

  it('should reach a host through a ProxyJump host', async () => {
    const { home, knownHosts } = homeWithConfig([
      'Host target',
      `  HostName ${fleet.addresses[2]}`,
      `  ProxyJump ${fleet.addresses[0]}`,
    ]);
    expectEveryHost(await run(home, [...login(), '-o', 'target', ...WHOAMI]), ['target']);
    // Both were met over SSH, the jump host first.
    expect(readFileSync(knownHosts, 'utf8')).toBe(knownHostsText({ 1: hostKey(1), 3: hostKey(3) }));
  });

  it('should fail naming a ProxyJump host that cannot be reached', async () => {
    const { home } = homeWithConfig([
      'Host target',
      `  HostName ${fleet.addresses[2]}`,
      `  ProxyJump ${DEAD}`,
    ]);
    const result = await run(home, [...login(), '-o', 'target', ...WHOAMI]);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(
      /can't connect to address: \[orgalorg@target:22\]: .*127\.0\.0\.2:1/,
    );
    expect(result.code).toBe(1);
  });

  it('should go through a chain of two jump hosts', async () => {
    const [first, second, third] = fleet.addresses;
    const { home, knownHosts } = homeWithConfig([
      'Host target',
      `  HostName ${third}`,
      `  ProxyJump ${first},${second}`,
    ]);
    expectEveryHost(await run(home, [...login(), '-o', 'target', ...WHOAMI]), ['target']);
    expect(readFileSync(knownHosts, 'utf8')).toBe(
      knownHostsText({ 1: hostKey(1), 2: hostKey(2), 3: hostKey(3) }),
    );

    // The second hop is reached from the first: a dead one there fails the run, named.
    const dead = homeWithConfig([
      'Host target',
      `  HostName ${third}`,
      `  ProxyJump ${first},${DEAD}`,
    ]);
    const result = await run(dead.home, [...login(), '-o', 'target', ...WHOAMI]);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(`jump to ${DEAD} refused`);
    expect(result.code).toBe(1);
  });

  it('should give up after the ConnectTimeout of the config, unless -c is given', async () => {
    const listener = await silentListener();
    try {
      const { home } = homeWithConfig([
        'Host slow',
        `  HostName ${listener.address}`,
        `  Port ${listener.port}`,
        '  ConnectTimeout 1',
      ]);
      const result = await run(home, [...login(), '-o', 'slow', ...WHOAMI]);
      expect(result.stderr).toContain('no SSH greeting and login within 1000 ms');
      expect(result.code).toBe(1);
      // The default -c is 10 s.
      expect(result.ms).toBeLessThan(6_000);

      const given = await run(home, [...login(), '-c', '2500', '-o', 'slow', ...WHOAMI]);
      expect(given.stderr).toContain('no SSH greeting and login within 2500 ms');
      expect(given.ms).toBeGreaterThanOrEqual(2_500);
      expect(given.code).toBe(1);
    } finally {
      await listener.close();
    }
  });

  it('should refuse an unknown host under StrictHostKeyChecking yes unless --host-key-check is given', async () => {
    const { home, knownHosts } = homeWithConfig([
      `Host ${fleet.addresses.join(' ')}`,
      '  StrictHostKeyChecking yes',
    ]);
    const refused = await run(home, [...login(), ...fleet.all, ...WHOAMI]);
    expect(refused.stdout).toBe('');
    for (const address of fleet.addresses) {
      expect(refused.stderr).toContain(`${address} is not a known host`);
    }
    expect(refused.stderr).toContain('ssh-keyscan');
    expect(refused.code).toBe(1);
    expect(existsSync(knownHosts)).toBe(false);

    const given = ['--host-key-check', 'accept-new'];
    expectEveryHost(await run(home, [...login(), ...fleet.all, ...given, ...WHOAMI]));
    expect(sortedLines(knownHosts)).toEqual(trueKnownHosts().trim().split('\n').sort());
  });

  it('should record in and check the UserKnownHostsFile of the config', async () => {
    const file = path.join(tempDir('known'), 'hosts');
    const { home, knownHosts } = homeWithConfig([
      `Host ${fleet.addresses.join(' ')}`,
      `  UserKnownHostsFile ${file}`,
    ]);
    expectEveryHost(await run(home, [...login(), ...fleet.all, ...WHOAMI]));
    expect(sortedLines(file)).toEqual(trueKnownHosts().trim().split('\n').sort());
    expect(existsSync(knownHosts)).toBe(false);

    writeFileSync(file, knownHostsText({ 1: hostKey(1), 2: hostKey(2), 3: otherKey() }));
    const result = await run(home, [...login(), ...fleet.all, ...WHOAMI]);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(
      `${fleet.addresses[2]} presents a different host key than ${file} line 3 records`,
    );
    expect(result.code).toBe(1);
  });
});
