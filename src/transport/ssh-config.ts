import { readFileSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { join, resolve as resolvePath } from 'node:path';
import { LineType, parse, type Directive, type Line, type Match } from 'ssh-config';
import { fileProblem, OrgalorgError } from '../errors.js';

/** One hop of a `ProxyJump` chain, as written: `[user@]host[:port]`, IPv6 hosts in brackets. */
export interface JumpSpec {
  readonly user?: string;
  readonly host: string;
  readonly port?: number;
}

/** What the OpenSSH client config says about one host, for the options orgalorg uses. */
export interface HostConfig {
  /** `HostName`, with `%h` replaced by the host as typed. */
  readonly hostName?: string;
  /** The caller's user if given, else `User`. */
  readonly user?: string;
  readonly port?: number;
  /** Every `IdentityFile` in order, with `~` and the tokens `%d %u %h %r %n %p %%` expanded. */
  readonly identityFiles: readonly string[];
  /** The hops to connect through, first hop first; empty for none or `ProxyJump none`. */
  readonly proxyJump: readonly JumpSpec[];
  /** `ConnectTimeout` in milliseconds; 0 means no limit, as in OpenSSH. */
  readonly connectTimeoutMs?: number;
  /** `yes` and `ask` (we never prompt) are `strict`; `no` and `off` are `off`. */
  readonly strictHostKeyChecking?: 'accept-new' | 'strict' | 'off';
  /** `UserKnownHostsFile` words, expanded like identity files; `none` becomes `/dev/null`. */
  readonly userKnownHostsFiles: readonly string[];
}

/** The config files to read, in order: the user's `~/.ssh/config`, or with `-F` that file only. */
export interface SshConfigSource {
  readonly files: readonly string[];
}

/** Answers, for a host as typed, what the loaded config says about it. */
export interface SshConfigResolver {
  /**
   * Resolves one host. A `ProxyJump` chain is returned as written: resolve each hop's host again
   * to learn its own `User`, `Port`, `HostName` and `IdentityFile`.
   *
   * @param user the user given with the host (`user@host`); it wins over `User`, as in OpenSSH.
   */
  resolve(host: string, user?: string): HostConfig;
}

/** The source used when `-F` is not given: `~/.ssh/config`, which may be missing. */
export function defaultSshConfigSource(home: string = homedir()): SshConfigSource {
  return { files: [join(home, '.ssh', 'config')] };
}

/**
 * Reads and checks OpenSSH client config files once, and returns a resolver for hosts.
 *
 * As in OpenSSH, keywords are matched in any case, the first value obtained for an option wins
 * (every `IdentityFile` is kept), and `Host` patterns take `*`, `?` and `!negation`.
 *
 * Limits: `Include` lines are ignored. `Match` blocks apply only with the criteria `all`, `host`,
 * `originalhost`, `user` and `localuser` (each may be negated); a block with any other criterion,
 * such as `exec` (never run) or `final`, is skipped. `ProxyCommand` is not run, but like OpenSSH
 * it shadows a later `ProxyJump`. Unknown `%` tokens and `~user` are left as written.
 *
 * @param source the files to read; a missing `~/.ssh/config` of `home` is an empty config.
 * @param home the home directory for `~`, `%d` and the default file.
 * @throws OrgalorgError (code `ssh-config`) naming the file, and the line if known, when a file
 *   cannot be read, a line cannot be parsed, or a `Port`, `ConnectTimeout`,
 *   `StrictHostKeyChecking` or `ProxyJump` value is malformed.
 */
export function loadSshConfig(
  source: SshConfigSource,
  home: string = homedir(),
): SshConfigResolver {
  const optional = resolvePath(home, '.ssh', 'config');
  const blocks = source.files.flatMap((given) => {
    const file = expandTilde(given, home);
    const text = readConfigFile(file, optional);
    return text === undefined ? [] : compileFile(file, text);
  });
  const locals = { home, localUser: localUserName() };

  return {
    resolve(host: string, user?: string): HostConfig {
      const draft: Draft = { user, identityFiles: [] };
      for (const block of blocks) {
        if (block.applies(matchContext(draft, host, locals.localUser))) {
          block.settings.forEach((apply) => apply(draft));
        }
      }
      return finish(draft, host, locals);
    },
  };
}

/** Options as they are obtained while reading blocks; the first value set stays. */
interface Draft {
  hostName?: string;
  user?: string | undefined;
  port?: number;
  identityFiles: string[];
  proxyJump?: readonly JumpSpec[];
  connectTimeoutMs?: number;
  strictHostKeyChecking?: HostConfig['strictHostKeyChecking'];
  userKnownHostsFiles?: readonly string[];
}

interface MatchContext {
  readonly originalHost: string;
  readonly hostName: string;
  readonly user: string;
  readonly localUser: string;
}

/** A `Host` or `Match` block, or the lines before the first of them. */
interface Block {
  readonly applies: (context: MatchContext) => boolean;
  readonly settings: ((draft: Draft) => void)[];
}

function readConfigFile(file: string, optional: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (error: unknown) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    if (missing && resolvePath(file) === optional) return undefined;
    throw new OrgalorgError(`can't read SSH config '${file}': ${fileProblem(error)}`, {
      code: 'ssh-config',
      cause: error,
    });
  }
}

function compileFile(file: string, text: string): Block[] {
  const blocks: Block[] = [{ applies: () => true, settings: [] }];

  // Parsing line by line gives each directive and each parse error its line number.
  text.split(/\r?\n/).forEach((lineText, index) => {
    const where = `SSH config '${file}' line ${index + 1}`;
    const directive = parseLine(lineText, where);
    if (directive === undefined) return;

    const keyword = directive.param.toLowerCase();
    if (keyword === 'host' || keyword === 'match') {
      blocks.push({ applies: blockCondition(directive), settings: [] });
      return;
    }
    const apply = compileSetting(keyword, directive.value, where);
    if (apply !== undefined) blocks[blocks.length - 1]?.settings.push(apply);
  });
  return blocks;
}

function parseLine(lineText: string, where: string): Directive | undefined {
  let lines: Line[];
  try {
    lines = parse(lineText);
  } catch (error: unknown) {
    // The package fails with a TypeError on a Host or Match line without a value.
    const why = error instanceof TypeError ? 'a value is missing' : (error as Error).message;
    throw new OrgalorgError(`can't parse ${where}: ${why}`, { code: 'ssh-config', cause: error });
  }
  return lines.find((line): line is Directive => line.type === LineType.DIRECTIVE && !!line.param);
}

function blockCondition(directive: Directive): Block['applies'] {
  if ('criteria' in directive) return matchCondition(directive as Match);
  const patterns = words(directive.value);
  return (context) => matchesPatternList(patterns, context.originalHost);
}

function matchCondition(directive: Match): Block['applies'] {
  const tests = Object.entries(directive.criteria).map(([key, value]) => {
    const negated = key.startsWith('!');
    const test = criterionTest(key.replace(/^!/, '').toLowerCase(), words(value).join(','));
    if (test === undefined) return () => false;
    return (context: MatchContext) => test(context) !== negated;
  });
  return (context) => tests.every((test) => test(context));
}

function criterionTest(name: string, list: string): Block['applies'] | undefined {
  const patterns = list.split(',');
  if (name === 'all') return () => true;
  if (name === 'host') return (context) => matchesPatternList(patterns, context.hostName);
  if (name === 'originalhost') {
    return (context) => matchesPatternList(patterns, context.originalHost);
  }
  if (name === 'user') return (context) => matchesPatternList(patterns, context.user);
  if (name === 'localuser') return (context) => matchesPatternList(patterns, context.localUser);
  return undefined;
}

function compileSetting(
  keyword: string,
  value: Directive['value'],
  where: string,
): ((draft: Draft) => void) | undefined {
  const text = words(value).join(' ');
  switch (keyword) {
    case 'hostname':
      return (draft) => void (draft.hostName ??= text);
    case 'user':
      return (draft) => void (draft.user ??= text);
    case 'port': {
      const port = parsePort(text, where);
      return (draft) => void (draft.port ??= port);
    }
    case 'identityfile':
      return (draft) => void draft.identityFiles.push(text);
    case 'proxyjump': {
      const chain = parseJumpChain(text, where);
      return (draft) => void (draft.proxyJump ??= chain);
    }
    case 'proxycommand':
      // Whichever of ProxyCommand and ProxyJump comes first wins; we do not run commands.
      return (draft) => void (draft.proxyJump ??= []);
    case 'connecttimeout': {
      const timeoutMs = parseSeconds(text, where) * 1000;
      return (draft) => void (draft.connectTimeoutMs ??= timeoutMs);
    }
    case 'stricthostkeychecking': {
      const mode = parseStrictness(text, where);
      return (draft) => void (draft.strictHostKeyChecking ??= mode);
    }
    case 'userknownhostsfile': {
      const files = words(value);
      return (draft) => void (draft.userKnownHostsFiles ??= files);
    }
    default:
      return undefined;
  }
}

function words(value: Directive['value']): string[] {
  return typeof value === 'string' ? [value] : value.map((part) => part.val);
}

function configError(message: string): OrgalorgError {
  return new OrgalorgError(message, { code: 'ssh-config' });
}

function parsePort(text: string, where: string): number {
  const port = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (port >= 1 && port <= 65535) return port;
  throw configError(`${where}: '${text}' is not a port number (1-65535)`);
}

/** OpenSSH time values: `30`, `30s`, `2m`, `1m30s`, with units s, m, h, d, w. */
function parseSeconds(text: string, where: string): number {
  if (!/^(?:\d+[smhdw]?)+$/i.test(text)) {
    throw configError(`${where}: '${text}' is not a time such as 30 or 1m30s`);
  }
  const unit: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
  let seconds = 0;
  for (const [, amount, suffix] of text.matchAll(/(\d+)([smhdw]?)/gi)) {
    seconds += Number(amount) * (unit[(suffix ?? '').toLowerCase()] ?? 1);
  }
  return seconds;
}

function parseStrictness(text: string, where: string): HostConfig['strictHostKeyChecking'] {
  const modes: Record<string, HostConfig['strictHostKeyChecking']> = {
    yes: 'strict',
    true: 'strict',
    ask: 'strict',
    no: 'off',
    false: 'off',
    off: 'off',
    'accept-new': 'accept-new',
  };
  const mode = modes[text.toLowerCase()];
  if (mode !== undefined) return mode;
  throw configError(
    `${where}: StrictHostKeyChecking '${text}' is not one of yes, no, ask, accept-new, off`,
  );
}

function parseJumpChain(text: string, where: string): JumpSpec[] {
  if (text.toLowerCase() === 'none') return [];
  return text.split(',').map((hop) => parseJump(hop.trim(), where));
}

function parseJump(hop: string, where: string): JumpSpec {
  const bad = (): OrgalorgError =>
    configError(`${where}: ProxyJump hop '${hop}' is not [user@]host[:port]`);
  const address = hop.replace(/^ssh:\/\//i, '').replace(/\/$/, '');
  const at = address.lastIndexOf('@');
  const user = at >= 0 ? address.slice(0, at) : undefined;
  const { host, port } = splitHostPort(address.slice(at + 1));

  if (host === '' || user === '' || /[\s[\]@]/.test(host)) throw bad();
  if (port !== undefined && !/^\d{1,5}$/.test(port)) throw bad();
  return {
    ...(user === undefined ? {} : { user }),
    host,
    ...(port === undefined ? {} : { port: parsePort(port, where) }),
  };
}

function splitHostPort(address: string): { host: string; port?: string } {
  const bracketed = /^\[([^\]]*)\](?::(.*))?$/.exec(address);
  if (bracketed !== null) return { host: bracketed[1] ?? '', port: bracketed[2] };

  // More than one colon without brackets is a bare IPv6 address, with no port.
  const colon = address.indexOf(':');
  if (colon < 0 || address.includes(':', colon + 1)) return { host: address };
  return { host: address.slice(0, colon), port: address.slice(colon + 1) };
}

/** OpenSSH patterns: `*` is any run of characters, `?` exactly one, matched in any case. */
function matchesPatternList(patterns: readonly string[], text: string): boolean {
  let matched = false;
  for (const pattern of patterns) {
    const negated = pattern.startsWith('!');
    if (!globToRegExp(negated ? pattern.slice(1) : pattern).test(text)) continue;
    if (negated) return false;
    matched = true;
  }
  return matched;
}

function globToRegExp(pattern: string): RegExp {
  const body = [...pattern]
    .map((char) => (char === '*' ? '.*' : char === '?' ? '.' : char.replace(/\W/, '\\$&')))
    .join('');
  return new RegExp(`^${body}$`, 'is');
}

function matchContext(draft: Draft, host: string, localUser: string): MatchContext {
  return {
    originalHost: host,
    hostName: expandHostName(draft.hostName, host),
    user: draft.user ?? localUser,
    localUser,
  };
}

function expandHostName(hostName: string | undefined, host: string): string {
  return hostName === undefined ? host : expandTokens(hostName, { h: host });
}

function finish(
  draft: Draft,
  host: string,
  locals: { home: string; localUser: string },
): HostConfig {
  const hostName = draft.hostName === undefined ? undefined : expandHostName(draft.hostName, host);
  const tokens = {
    d: locals.home,
    u: locals.localUser,
    h: hostName ?? host,
    r: draft.user ?? locals.localUser,
    n: host,
    p: String(draft.port ?? 22),
  };
  const expand = (path: string): string => expandTokens(expandTilde(path, locals.home), tokens);
  const knownHosts = draft.userKnownHostsFiles ?? [];

  return {
    hostName,
    user: draft.user,
    port: draft.port,
    identityFiles: draft.identityFiles.map(expand),
    proxyJump: draft.proxyJump ?? [],
    connectTimeoutMs: draft.connectTimeoutMs,
    strictHostKeyChecking: draft.strictHostKeyChecking,
    userKnownHostsFiles: knownHosts.map((file) => (file === 'none' ? '/dev/null' : expand(file))),
  };
}

function expandTokens(text: string, tokens: Readonly<Record<string, string>>): string {
  return text.replace(/%(.)/g, (token, letter: string) =>
    letter === '%' ? '%' : (tokens[letter] ?? token),
  );
}

function expandTilde(path: string, home: string): string {
  if (path === '~') return home;
  return path.startsWith('~/') ? join(home, path.slice(2)) : path;
}

function localUserName(): string {
  try {
    return userInfo().username;
  } catch {
    // userInfo() throws for a uid without a passwd entry, as in some containers.
    return process.env.USER ?? process.env.LOGNAME ?? '';
  }
}
