// Which hosts a run reaches: -o, user@host:port, hosts files, -s, duplicates, bad hosts.
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { logLines, onHost, orgalorg, silentListener, sortLines, useFleet } from './fixture.js';

const fleet = useFleet();
// Each host says who it is, so every output line proves which host ran the command.
const whoami = ['-C', 'cat', '/tmp/host-id'];

beforeAll(async () => {
  for (const index of [1, 2, 3]) {
    await onHost(fleet, index, ['sh', '-c', `echo host${index} > /tmp/host-id`]);
  }
});

function hostsFile(text: string): { dir: string; file: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'orgalorg-hosts-'));
  const file = path.join(dir, 'hosts');
  writeFileSync(file, text);
  return { dir, file };
}

const MESSY =
  '\r\n# the web hosts\r\n  127.20.0.1  \r\n\r\n127.20.0.2 # second\r\n\t127.20.0.3\r\n';
const EVERY_HOST = '127.20.0.1 host1\n127.20.0.2 host2\n127.20.0.3 host3\n';

describe('hosts', () => {
  it('should run on every host given with a repeated -o', async () => {
    const result = await orgalorg(fleet, [...fleet.all, ...whoami]);
    expect(result.stderr).toBe('');
    expect(sortLines(result.stdout)).toBe(EVERY_HOST);
    expect(result.code).toBe(0);
  });

  it('should take user@host:port and prefix the output with the host as typed', async () => {
    const result = await orgalorg(fleet, [
      ...['-o', 'orgalorg@127.20.0.1:22', '-o', 'orgalorg@127.20.0.2', '-o', '127.20.0.3:22'],
      ...whoami,
    ]);
    expect(sortLines(result.stdout)).toBe(
      '127.20.0.3:22 host3\norgalorg@127.20.0.1:22 host1\norgalorg@127.20.0.2 host2\n',
    );
    expect(result.code).toBe(0);
  });

  it('should read a ./ hosts file with blank lines, comments, spaces and CRLF', async () => {
    const { dir } = hostsFile(MESSY);
    const result = await orgalorg(fleet, ['-o', './hosts', ...whoami], { cwd: dir });
    expect(result.stderr).toBe('');
    expect(sortLines(result.stdout)).toBe(EVERY_HOST);
    expect(result.code).toBe(0);
  });

  it('should read a hosts file given by its absolute path', async () => {
    const { file } = hostsFile(MESSY);
    const result = await orgalorg(fleet, ['-o', file, ...whoami]);
    expect(sortLines(result.stdout)).toBe(EVERY_HOST);
    expect(result.code).toBe(0);
  });

  it('should add the hosts read from stdin with -s to those of -o', async () => {
    const result = await orgalorg(fleet, ['-s', '-o', '127.20.0.3', ...whoami], {
      input: '127.20.0.1\n127.20.0.2\n',
    });
    expect(sortLines(result.stdout)).toBe(EVERY_HOST);
    expect(result.code).toBe(0);
  });

  it('should run once per host when a host is given several times', async () => {
    const { file } = hostsFile('127.20.0.2\norgalorg@127.20.0.1\n');
    const result = await orgalorg(fleet, [
      ...['-o', '127.20.0.1', '-o', 'orgalorg@127.20.0.1:22', '-o', '127.20.0.1'],
      ...['-o', file, '-o', '127.20.0.2:22'],
      ...whoami,
    ]);
    expect(sortLines(result.stdout)).toBe('127.20.0.1 host1\n127.20.0.2 host2\n');
    expect(result.code).toBe(0);
  });

  it('should fail naming a missing ./ hosts file', async () => {
    const { dir } = hostsFile('');
    const result = await orgalorg(fleet, ['-o', './no-such-hosts', ...whoami], { cwd: dir });
    expect(result.stdout).toBe('');
    const lines = logLines(result.stderr);
    expect(lines[0]).toBe("[FATAL] can't parse all specified addresses");
    expect(lines[1]).toMatch(/^└─ can't open hosts file '\.\/no-such-hosts': no such file/);
    expect(lines).toHaveLength(2);
    expect(result.code).toBe(1);
  });

  it('should fail naming a missing absolute hosts file', async () => {
    const result = await orgalorg(fleet, ['-o', '/nonexistent/hosts', ...whoami]);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/can't open hosts file '\/nonexistent\/hosts': no such file/);
    expect(result.code).toBe(1);
  });
});

describe('malformed hosts', () => {
  it.each([
    ['a b', "can't parse specified address 'a b'"],
    ['host:99999', "can't parse specified address 'host:99999': can't parse port number: '99999'"],
  ])('should reject -o %j before connecting to any host', async (bad, message) => {
    const listener = await silentListener();
    try {
      const reachable = `${listener.address}:${listener.port}`;
      const hosts = ['-o', reachable, '-o', bad, '-o', '127.20.0.1'];
      const result = await orgalorg(fleet, [...hosts, ...whoami]);
      expect(result.stdout).toBe('');
      const lines = logLines(result.stderr);
      expect(lines[0]).toBe("[FATAL] can't parse all specified addresses");
      expect(lines[1]).toContain(`└─ ${message}`);
      expect(lines).toHaveLength(2);
      expect(result.code).toBe(1);
      expect(listener.accepted()).toBe(0);
    } finally {
      await listener.close();
    }
  });
});
