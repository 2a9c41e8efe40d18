// Runs the built CLI (dist/cli.js) as a child process, the way a user would.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

export interface CliResult {
  /** Exit status, or null when a signal ended the process. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  /** stdout byte for byte. */
  stdoutBytes: Buffer;
  stderr: string;
  /** Milliseconds from start to exit. */
  ms: number;
}

export interface CliOptions {
  /** Written to the CLI's stdin, which is then closed; /dev/null when left out. */
  input?: string | Buffer;
  /** Keep the CLI's stdin an open pipe that never ends (ignored with `input`). */
  holdStdin?: boolean;
  /**
   * Hand the input over through an OS pipe, as `producer | orgalorg` does, instead of Node's
   * socket pair (which `open('/dev/stdin')` refuses). The child is then a shell running the CLI.
   */
  osPipe?: boolean;
  cwd?: string;
  /** Extra environment variables; HOME and SSH_AUTH_SOCK given here are kept (see cliEnv). */
  env?: Record<string, string>;
  /** Start the CLI in a session of its own (setsid), with no controlling terminal. */
  detached?: boolean;
  /** The child is killed (SIGKILL) if it runs longer than this. */
  timeoutMs?: number;
}

export interface CliRun {
  child: ChildProcess;
  result: Promise<CliResult>;
  /** Resolves once stderr contains `text`; rejects if the CLI exits first or after `ms`. */
  waitForStderr(text: string, ms?: number): Promise<void>;
}

const running = new Set<ChildProcess>();

/**
 * The environment of a run: a fresh empty HOME and no ssh-agent, unless `extra` names a HOME
 * or an SSH_AUTH_SOCK of its own.
 */
export function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  if (extra['SSH_AUTH_SOCK'] === undefined) delete env['SSH_AUTH_SOCK'];
  env['HOME'] = extra['HOME'] ?? mkdtempSync(path.join(os.tmpdir(), 'orgalorg-cli-home-'));
  return env;
}

/** Starts `node dist/cli.js ...args`. */
export function startCli(args: readonly string[], options: CliOptions = {}): CliRun {
  const started = Date.now();
  const feed = options.input !== undefined || options.holdStdin === true;
  const command = options.osPipe
    ? ['sh', '-c', 'cat | "$0" "$@"', process.execPath, CLI, ...args]
    : [process.execPath, CLI, ...args];
  const child = spawn(command[0] ?? '', command.slice(1), {
    cwd: options.cwd,
    env: cliEnv(options.env),
    stdio: [feed ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    detached: options.detached === true,
  });
  running.add(child);
  if (options.input !== undefined) child.stdin?.end(options.input);

  const stdout: Buffer[] = [];
  let stderr = '';
  const waiters = new Set<() => void>();
  child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk));
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr += chunk;
    waiters.forEach((check) => check());
  });

  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
  const result = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      running.delete(child);
      waiters.forEach((check) => check());
      const bytes = Buffer.concat(stdout);
      resolve({
        code,
        signal,
        stdout: bytes.toString('utf8'),
        stdoutBytes: bytes,
        stderr,
        ms: Date.now() - started,
      });
    });
  });

  const waitForStderr = (text: string, ms = 20_000) =>
    new Promise<void>((resolve, reject) => {
      const deadline = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`no '${text}' on stderr within ${ms} ms; stderr:\n${stderr}`));
      }, ms);
      const check = () => {
        if (stderr.includes(text)) {
          clearTimeout(deadline);
          waiters.delete(check);
          resolve();
        } else if (!running.has(child)) {
          clearTimeout(deadline);
          waiters.delete(check);
          reject(new Error(`the CLI exited before printing '${text}'; stderr:\n${stderr}`));
        }
      };
      waiters.add(check);
      check();
    });

  return { child, result, waitForStderr };
}

/** Runs `node dist/cli.js ...args` to its end. */
export function runCli(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  return startCli(args, options).result;
}

/** Kills (by pid) every CLI this module started that is still running; for afterEach. */
export function killRunningClis(): void {
  for (const child of running) child.kill('SIGKILL');
}
