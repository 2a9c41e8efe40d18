// What the hosts' output looks like locally: prefixes, -q, --json, -v, -vv, huge and binary output.
import { describe, expect, it } from 'vitest';
import { logLines, orgalorg, perHost, sortLines, useFleet } from './fixture.js';

const fleet = useFleet();
const run = (args: string[]) => orgalorg(fleet, [...fleet.all, ...args]);

describe('output', () => {
  it('should prefix each line with the host as typed', async () => {
    const result = await orgalorg(fleet, [
      ...['-o', 'orgalorg@127.20.0.1', '-o', '127.20.0.2:22', '-o', '127.20.0.3'],
      ...['-C', 'echo', 'hi'],
    ]);
    expect(sortLines(result.stdout)).toBe(
      perHost(['orgalorg@127.20.0.1', '127.20.0.2:22', '127.20.0.3'], 'hi'),
    );
    expect(result.code).toBe(0);
  });

  it('should end a final partial line with a newline', async () => {
    const result = await run(['-C', 'echo', '-n', 'hello']);
    expect(sortLines(result.stdout)).toBe(perHost(fleet.addresses, 'hello'));
    expect(result.code).toBe(0);
  });

  it('should write the raw bytes and nothing else with -q', async () => {
    const result = await run(['-q', '-C', 'echo', '-n', 'hello']);
    expect(result.stdout).toBe('hello'.repeat(3));
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });

  it('should pass bytes that are not UTF-8 through -q unchanged', async () => {
    const result = await run(['-q', '-C', 'printf', "'\\377\\376'"]);
    expect(result.stdoutBytes).toEqual(Buffer.from([0xff, 0xfe, 0xff, 0xfe, 0xff, 0xfe]));
    expect(result.code).toBe(0);
  });

  it('should write one JSON object per chunk with sorted keys with --json', async () => {
    const result = await run(['--json', '-C', '--', 'echo out; echo err >&2']);
    const objects = (text: string) =>
      text
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as Record<string, unknown>);
    const out = objects(result.stdout);
    const err = objects(result.stderr);
    for (const object of [...out, ...err]) {
      expect(Object.keys(object)).toEqual(['body', 'host', 'node', 'stream']);
    }
    const expected = (stream: string, body: string) =>
      fleet.addresses.map((host) => ({ body, host, node: `[orgalorg@${host}:22]`, stream }));
    const byHost = (a: Record<string, unknown>, b: Record<string, unknown>) =>
      String(a['host']).localeCompare(String(b['host']));
    expect(out.sort(byHost)).toEqual(expected('stdout', 'out\n'));
    expect(err.sort(byHost)).toEqual(expected('stderr', 'err\n'));
    expect(result.code).toBe(0);
  });

  it('should log the output on stderr and write nothing on stdout with -v', async () => {
    const result = await run(['-v', '-C', 'echo', 'hi']);
    expect(result.stdout).toBe('');
    const output = logLines(result.stderr).filter((line) => line.includes('{cmd}'));
    expect(output.sort()).toEqual(
      fleet.addresses.map((address) => `[DEBUG] {cmd} <stdout> [orgalorg@${address}:22] hi`),
    );
    expect(result.code).toBe(0);
  });

  it('should trace the lock command and log the connections with -vv', async () => {
    const result = await run(['-vv', '-C', 'true']);
    const lines = logLines(result.stderr);
    for (const address of fleet.addresses) {
      expect(lines).toContain(`[TRACE] [orgalorg@${address}:22] running lock command`);
      const established = new RegExp(
        `^\\[DEBUG\\] +[1-3]/[1-3] \\(0 failed\\) connection established: \\[orgalorg@${address.replaceAll('.', '\\.')}:22\\]$`,
      );
      expect(lines.filter((line) => established.test(line))).toHaveLength(1);
    }
    expect(result.code).toBe(0);
  });

  it('should pass a 20 MB line byte for byte with -q', async () => {
    const result = await run(['-q', '-C', '--', "head -c 20000000 /dev/zero | tr '\\0' a"]);
    expect(result.stdoutBytes.length).toBe(60_000_000);
    expect(result.stdoutBytes.equals(Buffer.alloc(60_000_000, 'a'))).toBe(true);
    expect(result.code).toBe(0);
  });

  it('should print a 20 MB line as one prefixed line per host', async () => {
    const result = await run(['-C', '--', "head -c 20000000 /dev/zero | tr '\\0' a"]);
    const lines = result.stdout.split('\n');
    expect(lines.pop()).toBe('');
    expect(lines.map((line) => line.slice(0, line.indexOf(' '))).sort()).toEqual(fleet.addresses);
    for (const line of lines) {
      expect(line.length - line.indexOf(' ') - 1).toBe(20_000_000);
      expect(/^\S+ a+$/.test(line)).toBe(true);
    }
    expect(result.code).toBe(0);
  });
});
