import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isOrgalorgError } from '../../src/errors.js';
import {
  defaultSshConfigSource,
  loadSshConfig,
  type SshConfigResolver,
} from '../../src/transport/ssh-config.js';

let home: string;

beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'orgalorg-ssh-config-'));
});

afterEach(() => {
  rmSync(home, { recursive: true, force: true });
});

/** Writes `lines` to a file in the temporary home and loads it as with `-F`. */
function configOf(...lines: string[]): SshConfigResolver {
  const file = join(home, 'config');
  writeFileSync(file, lines.join('\n') + '\n');
  return loadSshConfig({ files: [file] }, home);
}

/** Runs `load` and returns the message of the OrgalorgError it throws. */
function errorOf(load: () => unknown): string {
  try {
    load();
  } catch (error: unknown) {
    expect(isOrgalorgError(error) && error.code).toBe('ssh-config');
    return (error as Error).message;
  }
  throw new Error('expected an error');
}

describe('loadSshConfig', () => {
  it('should take the first value obtained for each option when several blocks match', () => {
    const config = configOf(
      'Port 2200',
      'Host web1',
      '  User deploy',
      'Host web*',
      '  User nobody',
      '  HostName %h.example.org',
      'Host *',
      '  Port 22',
      '  User fallback',
    );

    expect(config.resolve('web1')).toEqual({
      hostName: 'web1.example.org',
      user: 'deploy',
      port: 2200,
      identityFiles: [],
      proxyJump: [],
      userKnownHostsFiles: [],
    });
    expect(config.resolve('db1').user).toBe('fallback');
  });

  it('should let the user given with the host win over User', () => {
    const config = configOf('Host web1', '  User deploy');

    expect(config.resolve('web1', 'root').user).toBe('root');
    expect(config.resolve('web1').user).toBe('deploy');
  });

  it('should match * as any run of characters and ? as exactly one character', () => {
    const config = configOf('Host web?', '  User one', 'Host *.example.org', '  User domain');

    expect(config.resolve('web1').user).toBe('one');
    expect(config.resolve('web').user).toBeUndefined();
    expect(config.resolve('web12').user).toBeUndefined();
    expect(config.resolve('a.b.example.org').user).toBe('domain');
    expect(config.resolve('example.org').user).toBeUndefined();
  });

  it('should skip a block when a negated pattern matches and never match on negations alone', () => {
    const config = configOf(
      'Host !bastion',
      '  Port 1',
      'Host * !bastion !db?',
      '  User app',
      'Host *',
      '  User admin',
    );

    expect(config.resolve('web1')).toMatchObject({ user: 'app' });
    expect(config.resolve('web1').port).toBeUndefined();
    expect(config.resolve('bastion').user).toBe('admin');
    expect(config.resolve('db1').user).toBe('admin');
  });

  it('should match any of several patterns, hosts in any case and keywords in any case', () => {
    const config = configOf('host alpha BETA', '  USER ops', '  hostname=10.0.0.%h');

    expect(config.resolve('beta')).toMatchObject({ user: 'ops', hostName: '10.0.0.beta' });
    expect(config.resolve('Alpha').user).toBe('ops');
    expect(config.resolve('gamma').user).toBeUndefined();
  });

  it('should keep every IdentityFile in order, expanding ~ and %d %u %h %r %n %p %%', () => {
    const config = configOf(
      'Host web1',
      '  HostName web1.example.org',
      '  User deploy',
      '  Port 2222',
      '  IdentityFile ~/.ssh/%h_%r',
      '  IdentityFile "%d/keys/%u %n:%p%%"',
      'Host *',
      '  IdentityFile /etc/keys/%x',
    );
    const local = userInfo().username;

    expect(config.resolve('web1').identityFiles).toEqual([
      join(home, '.ssh', 'web1.example.org_deploy'),
      `${home}/keys/${local} web1:2222%`,
      '/etc/keys/%x',
    ]);
  });

  it('should use the local user for %r and the host as typed for %h when neither is set', () => {
    const config = configOf('IdentityFile ~/%r@%h');

    expect(config.resolve('db1').identityFiles).toEqual([join(home, `${userInfo().username}@db1`)]);
  });

  it('should return a single ProxyJump hop', () => {
    const config = configOf('Host web1', '  ProxyJump bastion');

    expect(config.resolve('web1').proxyJump).toEqual([{ host: 'bastion' }]);
  });

  it('should return a ProxyJump chain with the first hop first', () => {
    const config = configOf('Host web1', '  ProxyJump ops@outer:2201, inner');

    expect(config.resolve('web1').proxyJump).toEqual([
      { user: 'ops', host: 'outer', port: 2201 },
      { host: 'inner' },
    ]);
  });

  it('should parse bracketed and bare IPv6 hops and ssh:// hops', () => {
    const config = configOf(
      'Host six',
      '  ProxyJump user@[::1]:2222,[fe80::1],2001:db8::7,ssh://me@gate:2022',
    );

    expect(config.resolve('six').proxyJump).toEqual([
      { user: 'user', host: '::1', port: 2222 },
      { host: 'fe80::1' },
      { host: '2001:db8::7' },
      { user: 'me', host: 'gate', port: 2022 },
    ]);
  });

  it('should return no hops for ProxyJump none, which wins over a later ProxyJump', () => {
    const config = configOf('Host bastion', '  ProxyJump none', 'Host *', '  ProxyJump bastion');

    expect(config.resolve('bastion').proxyJump).toEqual([]);
    expect(config.resolve('web1').proxyJump).toEqual([{ host: 'bastion' }]);
  });

  it('should let an earlier ProxyCommand shadow ProxyJump, without running it', () => {
    const config = configOf(
      'Host web1',
      '  ProxyCommand ssh -W %h:%p gate',
      'Host *',
      '  ProxyJump j',
    );

    expect(config.resolve('web1').proxyJump).toEqual([]);
  });

  it('should give ConnectTimeout in milliseconds, with or without time units', () => {
    const config = configOf('Host slow', '  ConnectTimeout 1m30s', 'Host *', '  ConnectTimeout 7');

    expect(config.resolve('slow').connectTimeoutMs).toBe(90_000);
    expect(config.resolve('fast').connectTimeoutMs).toBe(7_000);
    expect(configOf('Port 22').resolve('x').connectTimeoutMs).toBeUndefined();
  });

  it.each([
    ['yes', 'strict'],
    ['ask', 'strict'],
    ['no', 'off'],
    ['off', 'off'],
    ['Accept-New', 'accept-new'],
  ])('should map StrictHostKeyChecking %s to %s', (value, expected) => {
    const config = configOf(`StrictHostKeyChecking ${value}`);

    expect(config.resolve('web1').strictHostKeyChecking).toBe(expected);
  });

  it('should split UserKnownHostsFile on spaces, expand it, and turn none into /dev/null', () => {
    const config = configOf(
      'Host lab',
      '  UserKnownHostsFile none',
      'Host *',
      '  UserKnownHostsFile ~/.ssh/known_hosts /etc/ssh/%h_hosts',
    );

    expect(config.resolve('web1').userKnownHostsFiles).toEqual([
      join(home, '.ssh', 'known_hosts'),
      '/etc/ssh/web1_hosts',
    ]);
    expect(config.resolve('lab').userKnownHostsFiles).toEqual(['/dev/null']);
  });

  it('should apply Match host and user blocks and skip Match exec without running it', () => {
    const marker = join(home, 'ran');
    const config = configOf(
      'Host web1',
      '  HostName web1.prod.example.org',
      `Match exec "touch ${marker}"`,
      '  Port 1',
      'Match host *.prod.example.org !user blocked',
      '  Port 2202',
    );

    expect(config.resolve('web1').port).toBe(2202);
    expect(config.resolve('web1', 'blocked').port).toBeUndefined();
    expect(existsSync(marker)).toBe(false);
  });

  it('should read several files in order, the first value obtained winning across them', () => {
    writeFileSync(join(home, 'a'), 'Host *\n  User first\n');
    writeFileSync(join(home, 'b'), 'Host *\n  User second\n  Port 2022\n');
    const config = loadSshConfig({ files: [join(home, 'a'), join(home, 'b')] }, home);

    expect(config.resolve('web1')).toMatchObject({ user: 'first', port: 2022 });
  });

  it('should read the files once, at load', () => {
    const config = configOf('User before');
    writeFileSync(join(home, 'config'), 'User after\n');

    expect(config.resolve('web1').user).toBe('before');
  });

  it('should ignore Include lines', () => {
    writeFileSync(join(home, 'extra'), 'User included\n');
    const config = configOf(`Include ${join(home, 'extra')}`);

    expect(config.resolve('web1').user).toBeUndefined();
  });

  it('should read ~/.ssh/config by default and treat it as empty when missing', () => {
    const config = loadSshConfig(defaultSshConfigSource(home), home);

    expect(config.resolve('web1')).toEqual({
      identityFiles: [],
      proxyJump: [],
      userKnownHostsFiles: [],
    });

    mkdirSync(join(home, '.ssh'));
    writeFileSync(join(home, '.ssh', 'config'), 'Host web1\n  Port 2022\n');
    expect(loadSshConfig(defaultSshConfigSource(home), home).resolve('web1').port).toBe(2022);
  });

  it('should throw naming the file when a -F file is missing', () => {
    const file = join(home, 'nope');

    expect(errorOf(() => loadSshConfig({ files: [file] }, home))).toBe(
      `can't read SSH config '${file}': no such file or directory`,
    );
  });

  it('should throw naming the file and line when the parser rejects a line', () => {
    const file = join(home, 'config');

    expect(errorOf(() => configOf('Host web1', '  IdentityFile "~/.ssh/id'))).toBe(
      `can't parse SSH config '${file}' line 2: Unexpected line break at ~/.ssh/id`,
    );
    expect(errorOf(() => configOf('# nothing', 'Host'))).toBe(
      `can't parse SSH config '${file}' line 2: a value is missing`,
    );
  });

  it.each([
    ['Port 0', "'0' is not a port number (1-65535)"],
    ['Port ssh', "'ssh' is not a port number (1-65535)"],
    ['ConnectTimeout soon', "'soon' is not a time such as 30 or 1m30s"],
    ['StrictHostKeyChecking maybe', "StrictHostKeyChecking 'maybe' is not one of"],
    ['ProxyJump a,,b', "ProxyJump hop '' is not [user@]host[:port]"],
    ['ProxyJump gate:http', "ProxyJump hop 'gate:http' is not [user@]host[:port]"],
  ])('should throw naming the file and line for %s, even in a block no host uses', (line, why) => {
    const file = join(home, 'config');

    expect(errorOf(() => configOf('Host never', `  ${line}`))).toContain(
      `SSH config '${file}' line 2: ${why}`,
    );
  });
});
