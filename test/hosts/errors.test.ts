// Runs that cannot start or cannot reach a host: bad flags, bad keys, unreachable hosts.
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import {
  eventually,
  hostsRunning,
  lockFree,
  logLines,
  orgalorg,
  perHost,
  processes,
  startOrgalorg,
  silentListener,
  sortLines,
  useFleet,
} from './fixture.js';

const fleet = useFleet();
const UNREACHABLE = '127.0.0.2:1';
const ECHO = ['-C', 'echo', 'ran'];
/** Runs on the three test hosts, with `extra` flags and hosts. */
const run = (...extra: string[]) => orgalorg(fleet, [...fleet.all, ...extra, ...ECHO]);

describe('flag values', () => {
  it.each([
    ['--send-timeout=wazup', "can't convert specified send timeout to number: 'wazup'"],
    ['--conn-timeout=', "can't convert specified connection timeout to number: ''"],
    ['--recv-timeout=x', "can't convert specified receive timeout to number: 'x'"],
    ['--keep-alive=y', "can't convert specified keep alive time to number: 'y'"],
  ])('should refuse %s', async (flag, message) => {
    const result = await run(flag);
    expect(result.stdout).toBe('');
    const lines = logLines(result.stderr);
    expect(lines[0]).toBe("[FATAL] can't parse SSH connection timeouts");
    expect(lines[1]).toBe(`└─ ${message}`);
    expect(result.code).toBe(1);
  });

  it.each(['0', 'x'])('should refuse -d %s naming --threads', async (threads) => {
    const result = await run('-d', threads);
    expect(result.stdout).toBe('');
    expect(logLines(result.stderr)[0]).toBe(`[FATAL] --threads given invalid value: '${threads}'`);
    expect(result.code).toBe(1);
  });
});

describe('keys', () => {
  // Only the key under test: no -k of the test hosts.
  it('should fail naming a key file that does not exist', async () => {
    const result = await runCli(['-u', 'orgalorg', ...fleet.all, '-k', '/nonexistent', ...ECHO]);
    expect(result.stdout).toBe('');
    const lines = logLines(result.stderr);
    expect(lines[0]).toMatch(/^\[FATAL\] can't read SSH key '\/nonexistent': no such file/);
    expect(lines).toHaveLength(1);
    expect(result.code).toBe(1);
  });

  it('should fail naming a key file that holds no key', async () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'orgalorg-key-')), 'not-a-key');
    writeFileSync(file, 'this is not a private key\n');
    const result = await runCli(['-u', 'orgalorg', ...fleet.all, '-k', file, ...ECHO]);
    expect(result.stdout).toBe('');
    const lines = logLines(result.stderr);
    expect(lines[0]).toContain(`[FATAL] can't use SSH key '${file}': `);
    expect(lines).toHaveLength(1);
    expect(result.code).toBe(1);
  });
});

describe('unreachable hosts', () => {
  it('should fail the whole run when a host cannot be reached', async () => {
    const result = await run('-o', UNREACHABLE);
    expect(result.stdout).toBe('');
    const lines = logLines(result.stderr);
    expect(lines.slice(0, 3)).toEqual([
      '[FATAL] connecting to cluster failed',
      '└─ connection to 1 of 4 nodes failed',
      "   └─ can't connect to nodes",
    ]);
    expect(lines[3]).toMatch(/^ {6}└─ can't connect to address: \[orgalorg@127\.0\.0\.2:1\]: /);
    expect(lines).toHaveLength(4);
    expect(result.code).toBe(1);
    // The hosts that were locked before the run failed are unlocked again.
    for (const index of [1, 2, 3]) expect(await lockFree(fleet, index)).toBe(true);
  });

  it('should warn and go on without the host with -w', async () => {
    const result = await run('-w', '-o', UNREACHABLE);
    expect(sortLines(result.stdout)).toBe(perHost(fleet.addresses, 'ran'));
    const lines = logLines(result.stderr);
    expect(lines[0]).toMatch(/^\[WARN\] can't connect to address: \[orgalorg@127\.0\.0\.2:1\]: /);
    expect(lines).toHaveLength(1);
    expect(result.code).toBe(0);
  });

  it('should give up on a host that accepts TCP but never speaks SSH after -c', async () => {
    const listener = await silentListener();
    try {
      const silent = `${listener.address}:${listener.port}`;
      const result = await run('-c', '1500', '-o', silent);
      expect(listener.accepted()).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toContain(`can't connect to address: [orgalorg@${silent}]`);
      expect(logLines(result.stderr)[0]).toBe('[FATAL] connecting to cluster failed');
      expect(result.code).toBe(1);
      expect(result.ms).toBeGreaterThanOrEqual(1500);
      expect(result.ms).toBeLessThan(5000);
    } finally {
      await listener.close();
    }
  });
});

describe('a host that stops answering', () => {
  it('should lose it after -z without keep-alive answers, name it, and finish the others', async () => {
    const command = 'sleep 7; echo done';
    const started = startOrgalorg(fleet, [
      ...fleet.all,
      '-y',
      '-a',
      '500',
      '-z',
      '1500',
      '-C',
      command,
    ]);
    await eventually(
      'the command runs on every host',
      async () => (await hostsRunning(fleet, 'sleep 7')).length === 3,
    );
    // Host 1's sshd sessions freeze: the connection stays open but nothing answers.
    const frozen = (await processes(fleet, 1))
      .filter((p) => p.cmdline.startsWith('sshd: orgalorg'))
      .map((p) => p.pid);
    expect(frozen).not.toEqual([]);
    frozen.forEach((pid) => process.kill(pid, 'SIGSTOP'));
    let result;
    try {
      result = await started.result;
    } finally {
      frozen.forEach((pid) => process.kill(pid, 'SIGCONT'));
    }

    expect(result.code).toBe(1);
    expect(sortLines(result.stdout)).toBe(sortLines(perHost(fleet.addresses.slice(1), 'done')));
    expect(result.stderr).toContain('connection lost (1 nodes)');
    expect(result.stderr).toContain('[orgalorg@127.20.0.1:22]');
  });
});
