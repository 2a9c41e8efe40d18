// -C: how the command runs on every host (directory, sudo, shell, stdin, no pty, serial).
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { logLines, onHost, orgalorg, perHost, sortLines, useFleet } from './fixture.js';

const fleet = useFleet();
const run = (args: string[], options?: Parameters<typeof orgalorg>[2]) =>
  orgalorg(fleet, [...fleet.all, ...args], options);
const every = (line: string) => perHost(fleet.addresses, line);

describe('command', () => {
  it('should run in the login directory', async () => {
    const result = await run(['-C', 'pwd']);
    expect(result.stderr).toBe('');
    expect(sortLines(result.stdout)).toBe(every('/home/orgalorg'));
    expect(result.code).toBe(0);
  });

  it('should run in the directory given with -r', async () => {
    const result = await run(['-r', '/tmp', '-C', 'pwd']);
    expect(sortLines(result.stdout)).toBe(every('/tmp'));
    expect(result.code).toBe(0);
  });

  it('should run in a -r directory whose name has a space and a single quote', async () => {
    const dir = "/tmp/it's a dir";
    for (const index of [1, 2, 3]) await onHost(fleet, index, ['mkdir', '-p', dir]);
    const result = await run(['-r', dir, '-C', 'pwd']);
    expect(result.stderr).toBe('');
    expect(sortLines(result.stdout)).toBe(every(dir));
    expect(result.code).toBe(0);
  });

  it('should run as root with -x', async () => {
    const result = await run(['-x', '-C', 'whoami']);
    expect(sortLines(result.stdout)).toBe(every('root'));
    expect(result.code).toBe(0);
  });

  it('should leave shell syntax in the words live on the host', async () => {
    const result = await run(['-C', 'echo', '$HOME', '&&', 'echo', "'a  b'"]);
    expect(sortLines(result.stdout)).toBe(sortLines(every('/home/orgalorg') + every('a  b')));
    expect(result.code).toBe(0);
  });

  it('should give the command an empty stdin when -i is not given', async () => {
    // Our own stdin stays open: the command must not wait for it.
    const result = await run(['-C', '--', 'wc', '-l'], { holdStdin: true, timeoutMs: 30_000 });
    expect(sortLines(result.stdout)).toBe(every('0'));
    expect(result.code).toBe(0);
  });

  it('should send the -i file to every host', async () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'orgalorg-input-')), 'input');
    writeFileSync(file, 'one\ntwo\nthree\n');
    const result = await run(['-i', file, '-C', '--', 'wc', '-l']);
    expect(sortLines(result.stdout)).toBe(every('3'));
    expect(result.code).toBe(0);
  });

  it('should read a piped -i /dev/stdin once for all hosts', async () => {
    const input = 'first\nsecond\n';
    const result = await run(['-i', '/dev/stdin', '-C', 'cat'], { input, osPipe: true });
    expect(sortLines(result.stdout)).toBe(sortLines(every('first') + every('second')));
    expect(result.code).toBe(0);
  });

  it('should keep stderr apart and add no carriage return (no pty)', async () => {
    const result = await run(['-C', '--', 'echo out; echo err >&2']);
    expect(sortLines(result.stdout)).toBe(every('out'));
    expect(sortLines(result.stderr)).toBe(every('err'));
    expect(result.stdout + result.stderr).not.toContain('\r');
    expect(result.code).toBe(0);
  });

  it('should run the words without a wrapper with --shell ""', async () => {
    const result = await run(['--shell', '', '-vv', '-C', 'echo', '$((6*7))']);
    const lines = logLines(result.stderr);
    expect(lines.filter((line) => line.includes('starting command')).sort()).toEqual(
      fleet.addresses.map(
        (address) => `[TRACE] [orgalorg@${address}:22] starting command: echo $((6*7))`,
      ),
    );
    expect(lines.filter((line) => line.includes('{cmd}')).sort()).toEqual(
      fleet.addresses.map((address) => `[DEBUG] {cmd} <stdout> [orgalorg@${address}:22] 42`),
    );
    expect(result.code).toBe(0);
  });

  it('should keep the lines of each host together with -l', async () => {
    const loop = 'for i in 1 2 3; do echo $i; sleep 0.1; done';
    const result = await run(['-l', '-C', '--', loop]);
    const lines = result.stdout.split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(9);
    const blocks = [0, 3, 6].map((start) => lines.slice(start, start + 3));
    for (const block of blocks) {
      const host = block[0]?.split(' ')[0] ?? '';
      expect(block).toEqual([`${host} 1`, `${host} 2`, `${host} 3`]);
    }
    expect(blocks.map((block) => block[0]?.split(' ')[0]).sort()).toEqual(fleet.addresses);
    expect(result.code).toBe(0);
  });
});
