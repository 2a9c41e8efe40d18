// What the real-host tests share: the three test hosts, the CLI run against them, and probes
// of the hosts' state (processes, locks).
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { afterEach, beforeAll } from 'vitest';
import { killRunningClis, runCli, startCli, type CliOptions } from '../support/cli.js';
import { hostExec, hostPids, loadHosts, type TestHosts } from '../support/hosts.js';

export interface Fleet {
  /** 127.20.0.1, 127.20.0.2, 127.20.0.3 */
  addresses: string[];
  /** `-o` for every host. */
  all: string[];
  key: string;
  /** Login user and key: what every run starts with. */
  auth: string[];
  stateDir: string;
}

/** Loads the hosts started by the global setup before the tests of the file. */
export function useFleet(): Fleet {
  const fleet = {} as Fleet;
  beforeAll(async () => {
    const hosts: TestHosts = await loadHosts(process.env['ORGALORG_TEST_HOSTS_DIR']);
    if (hosts.addresses.length < 3) throw new Error('the 3 test hosts are not up');
    fleet.addresses = hosts.addresses.slice(0, 3);
    fleet.all = fleet.addresses.flatMap((address) => ['-o', address]);
    fleet.key = hosts.key;
    fleet.auth = ['-u', hosts.user, '-k', hosts.key];
    fleet.stateDir = hosts.stateDir;
  });
  afterEach(() => killRunningClis());
  return fleet;
}

export function orgalorg(fleet: Fleet, args: readonly string[], options?: CliOptions) {
  return runCli([...fleet.auth, ...args], options);
}

export function startOrgalorg(fleet: Fleet, args: readonly string[], options?: CliOptions) {
  return startCli([...fleet.auth, ...args], options);
}

/** Runs a command as root on host `index` (1-based); throws unless it exits 0. */
export async function onHost(fleet: Fleet, index: number, args: string[]): Promise<string> {
  const result = await hostExec(index, fleet.stateDir, args);
  if (result.code !== 0) {
    throw new Error(`host ${index}: ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  }
  return result.stdout;
}

export interface HostProcess {
  pid: number;
  cmdline: string;
}

/** The processes living in host `index`, with their command lines (NULs as spaces). */
export async function processes(fleet: Fleet, index: number): Promise<HostProcess[]> {
  const found: HostProcess[] = [];
  for (const pid of await hostPids(index, fleet.stateDir)) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
      found.push({ pid, cmdline });
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** Host indexes (1-based) where a process whose command line contains `text` runs. */
export async function hostsRunning(fleet: Fleet, text: string): Promise<number[]> {
  const indexes: number[] = [];
  for (const index of [1, 2, 3]) {
    if ((await processes(fleet, index)).some((p) => p.cmdline.includes(text))) indexes.push(index);
  }
  return indexes;
}

/** Polls until `probe` returns true; throws after `ms`. */
export async function eventually(
  what: string,
  probe: () => Promise<boolean>,
  ms = 10_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** True when nobody holds the lock on `/` of host `index`. */
export async function lockFree(fleet: Fleet, index: number): Promise<boolean> {
  return (await hostExec(index, fleet.stateDir, ['flock', '-nx', '/', 'true'])).code === 0;
}

/** The same text with its lines sorted (a partial last line stays last): host order varies. */
export function sortLines(text: string): string {
  const lines = text.split('\n');
  const tail = lines.pop() ?? '';
  return [...lines.sort(), tail].join('\n');
}

/** `<prefix> <line>\n` for each prefix, sorted. */
export function perHost(prefixes: readonly string[], line: string): string {
  return sortLines(prefixes.map((prefix) => `${prefix} ${line}\n`).join(''));
}

/**
 * Log lines of stderr without their timestamp (`[WARN] message`), continuation lines without
 * the indentation that aligns them under the message.
 */
export function logLines(stderr: string): string[] {
  return stderr
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => line.replace(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d +|^ {28}/, ''));
}

/** A line of an error tree without its drawing: `├─ child` → `child`. */
export function leaf(line: string): string {
  return line.replace(/^[\s│]*[├└]─ /, '');
}

export interface Listener {
  address: string;
  port: number;
  /** Connections accepted so far. */
  accepted: () => number;
  close: () => Promise<void>;
}

/** A TCP server on 127.0.0.5 that accepts connections and never writes a byte. */
export async function silentListener(): Promise<Listener> {
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const server = net.createServer((socket) => {
    accepted += 1;
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.5', () => resolve());
  });
  const { port } = server.address() as net.AddressInfo;
  return {
    address: '127.0.0.5',
    port,
    accepted: () => accepted,
    close: () =>
      new Promise<void>((resolve) => {
        sockets.forEach((socket) => socket.destroy());
        server.close(() => resolve());
      }),
  };
}
