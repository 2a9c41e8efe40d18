// Real SSH test hosts on loopback, driven by ./sshd-hosts.sh (needs root).
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const HOSTS_SCRIPT = fileURLToPath(new URL('./sshd-hosts.sh', import.meta.url));

export const DEFAULT_STATE_DIR = path.join(os.tmpdir(), 'orgalorg-test-hosts');

export interface TestHosts {
  addresses: string[];
  key: string;
  user: string;
  password: string;
  stateDir: string;
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

function runScript(args: string[], env?: Record<string, string>): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [HOSTS_SCRIPT, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: env === undefined ? process.env : { ...process.env, ...env },
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      resolve({
        code: code ?? (signal === null ? 1 : 128 + (os.constants.signals[signal] ?? 0)),
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
      });
    });
  });
}

async function runScriptOrThrow(args: string[], env?: Record<string, string>): Promise<string> {
  const result = await runScript(args, env);
  if (result.code !== 0) {
    throw new Error(
      `sshd-hosts.sh ${args.join(' ')} exited with ${result.code}\n${result.stderr.trim()}`,
    );
  }
  return result.stdout;
}

// Parses one shell word as printed by the script's `env`: single-quoted
// runs, backslash escapes and bare characters.
function unquoteShellWord(word: string): string {
  let out = '';
  let i = 0;
  while (i < word.length) {
    const c = word[i];
    if (c === "'") {
      const end = word.indexOf("'", i + 1);
      if (end < 0) throw new Error(`unterminated quote in ${word}`);
      out += word.slice(i + 1, end);
      i = end + 1;
    } else if (c === '\\' && i + 1 < word.length) {
      out += word[i + 1];
      i += 2;
    } else {
      out += c;
      i += 1;
    }
  }
  return out;
}

export function parseHostsEnv(text: string): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^export ([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (match?.[1] !== undefined && match[2] !== undefined) {
      vars[match[1]] = unquoteShellWord(match[2]);
    }
  }
  return vars;
}

function resolveStateDir(stateDir: string | undefined): string {
  return path.resolve(stateDir ?? DEFAULT_STATE_DIR);
}

/** Reads the hosts currently up in stateDir (started elsewhere). */
export async function loadHosts(stateDir?: string): Promise<TestHosts> {
  const dir = resolveStateDir(stateDir);
  const vars = parseHostsEnv(await runScriptOrThrow(['env', dir]));
  const hosts = (vars['TEST_HOSTS'] ?? '').split(' ').filter((a) => a !== '');
  return {
    addresses: hosts,
    key: vars['TEST_KEY'] ?? '',
    user: vars['TEST_USER'] ?? '',
    password: vars['TEST_PASSWORD'] ?? '',
    stateDir: dir,
  };
}

/**
 * Starts (or reuses) hosts 1..count, isolated from each other. The
 * addresses returned are exactly those of hosts 1..count, even if more
 * hosts are up in the same state dir. `env` reaches the script (for a new state dir
 * SSHD_HOSTS_NET, and SSHD_HOSTS_EXTRA_CONFIG for the hosts it starts).
 */
export async function startHosts(
  count: number,
  stateDir?: string,
  env?: Record<string, string>,
): Promise<TestHosts> {
  if (!Number.isInteger(count) || count < 1) {
    throw new Error(`startHosts: bad host count ${count}`);
  }
  const dir = resolveStateDir(stateDir);
  const out = await runScriptOrThrow(['up', String(count), dir], env);
  const addresses = out.split('\n').filter((line) => line !== '');
  const hosts = await loadHosts(dir);
  return { ...hosts, addresses };
}

export async function stopHosts(stateDir?: string): Promise<void> {
  await runScriptOrThrow(['down', resolveStateDir(stateDir)]);
}

/** Runs args as root inside host `index`'s filesystem view (1-based). */
export function hostExec(
  index: number,
  stateDir: string | undefined,
  args: string[],
): Promise<ExecResult> {
  if (args.length === 0) {
    return Promise.reject(new Error('hostExec: no command'));
  }
  return runScript(['exec', String(index), resolveStateDir(stateDir), ...args]);
}

/** Pids of the processes living in host `index` (its sshd and sessions). */
export async function hostPids(index: number, stateDir?: string): Promise<number[]> {
  const out = await runScriptOrThrow(['pids', String(index), resolveStateDir(stateDir)]);
  return out
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => Number(line));
}
