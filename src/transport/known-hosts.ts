import { createHash, createHmac } from 'node:crypto';
import {
  closeSync,
  fstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  writeSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { dirname, sep } from 'node:path';
import { fileProblem, OrgalorgError } from '../errors.js';

/**
 * What to do with a host whose key no known_hosts file records: `accept-new` records it and
 * trusts it (trust on first use), `strict` refuses it, `off` trusts every key and reads nothing.
 * A recorded key that differs from the presented one is refused under both `accept-new` and
 * `strict`.
 */
export type HostKeyPolicy = 'accept-new' | 'strict' | 'off';

/** Where host keys are looked up and recorded, and how unknown hosts are treated. */
export interface KnownHostsConfig {
  /**
   * Files read, in order: the user's (~/.ssh/known_hosts or -F/--known-hosts), then
   * /etc/ssh/ssh_known_hosts. `record` is read after them when it is not among them.
   */
  readonly files: readonly string[];
  /**
   * Where a new host's key is recorded (accept-new). Created (and its directory, mode 0700) if
   * missing, mode 0600.
   */
  readonly record: string;
  readonly policy: HostKeyPolicy;
}

/** The key a host presented, as an operator compares it with `ssh-keygen -l`. */
export interface HostKeyInfo {
  /** The key type named in the key itself, such as `ssh-ed25519` or `ssh-rsa`. */
  readonly keyType: string;
  /** `SHA256:` and the unpadded base64 SHA-256 of the key, as `ssh-keygen -l` prints it. */
  readonly fingerprint: string;
}

/** A known_hosts line whose host patterns match the host being checked. */
interface HostLine {
  readonly file: string;
  readonly line: number;
  readonly revoked: boolean;
  /** The host field as written, to tell a plain one-name line from a pattern or a list. */
  readonly hosts: string;
  readonly keyType: string;
  readonly key: Buffer;
}

const hashMagic = '|1|';

/**
 * Checks the key a host presented against known_hosts files, the way OpenSSH does.
 *
 * A key marked `@revoked` for the host is refused (code `hostkey.revoked`). A key recorded for
 * the host is trusted. A host recorded with other keys only is refused (code `hostkey.changed`,
 * with the `ssh-keygen -R` command that removes the old line). An unknown host is recorded in
 * `config.record` under `accept-new` and refused under `strict` (code `hostkey.unknown`). A
 * missing file is skipped; one that cannot be read is an error (code `hostkey`) naming it.
 *
 * @param host the name or address as connected to; an IPv6 address with or without brackets.
 * @param port the port connected to: known_hosts names the host `[host]:port` unless it is 22.
 * @param key the public key blob in SSH wire format, as ssh2's `hostVerifier` receives it.
 * @returns the key's type and fingerprint, and whether it was recorded by this call.
 *
 * @example
 * const info = verifyHostKey(
 *   { files: [userFile, '/etc/ssh/ssh_known_hosts'], record: userFile, policy: 'accept-new' },
 *   'web1', 22, key,
 * );
 */
export function verifyHostKey(
  config: KnownHostsConfig,
  host: string,
  port: number,
  key: Buffer,
): HostKeyInfo & { readonly recorded: boolean } {
  const keyType = keyTypeOf(key);
  const presented = { keyType: keyType ?? 'unknown', fingerprint: fingerprint(key) };
  if (config.policy === 'off') return { ...presented, recorded: false };

  const name = knownHostsName(host, port);
  if (keyType === undefined) {
    throw new OrgalorgError(`${name} presents a host key that is not in SSH wire format`, {
      code: 'hostkey',
    });
  }

  const lines = findHostLines(lookupFiles(config), name);
  const revoked = lines.find((line) => line.revoked && line.key.equals(key));
  if (revoked !== undefined) throw revokedError(name, presented, revoked);

  const known = lines.filter((line) => !line.revoked);
  if (known.some((line) => line.key.equals(key))) return { ...presented, recorded: false };

  // Any recorded key for the host, even of another type, means the host is not new.
  const recordedLine = known[0];
  if (recordedLine !== undefined) throw changedError(name, presented, recordedLine);
  if (config.policy === 'strict') throw unknownError(config, host, port, name, presented);

  appendLine(config.record, name, `${name} ${keyType} ${key.toString('base64')}`);
  return { ...presented, recorded: true };
}

/**
 * The types of the keys known_hosts records for a host, in file order and without repeats;
 * empty under the `off` policy. A transport can offer these host key algorithms first, as
 * OpenSSH does, so that a host recorded with an older key type is not reported as changed
 * (`ssh-rsa` stands for the `rsa-sha2-512` and `rsa-sha2-256` algorithms too).
 *
 * Throws like {@link verifyHostKey} when a file cannot be read.
 */
export function knownHostKeyTypes(config: KnownHostsConfig, host: string, port: number): string[] {
  if (config.policy === 'off') return [];
  const lines = findHostLines(lookupFiles(config), knownHostsName(host, port));
  return [...new Set(lines.filter((line) => !line.revoked).map((line) => line.keyType))];
}

/**
 * The SHA-256 fingerprint of a public key blob: `SHA256:` and unpadded base64, as
 * `ssh-keygen -l` prints it.
 */
export function fingerprint(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

/** The host's name in known_hosts: `host` on port 22, `[host]:port` otherwise, lower-cased. */
function knownHostsName(host: string, port: number): string {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  const lower = bare.toLowerCase();
  return port === 22 ? lower : `[${lower}]:${port}`;
}

/** The first SSH string of a wire-format key: its type; undefined when the blob is malformed. */
function keyTypeOf(key: Buffer): string | undefined {
  if (key.length < 4) return undefined;
  const length = key.readUInt32BE(0);
  if (length === 0 || 4 + length > key.length) return undefined;
  return key.toString('latin1', 4, 4 + length);
}

/** The configured files, and the record file so that a key recorded there counts next time. */
function lookupFiles(config: KnownHostsConfig): readonly string[] {
  return config.files.includes(config.record) ? config.files : [...config.files, config.record];
}

function findHostLines(files: readonly string[], name: string): HostLine[] {
  const found: HostLine[] = [];
  for (const file of files) {
    const text = readKnownHosts(file);
    if (text === undefined) continue;

    const rows = text.split('\n');
    for (let index = 0; index < rows.length; index++) {
      const line = parseLine(rows[index] ?? '', name);
      if (line !== undefined) found.push({ file, line: index + 1, ...line });
    }
  }
  return found;
}

/** The file's text, or undefined when it does not exist. */
function readKnownHosts(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (error: unknown) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new OrgalorgError(`can't read known hosts file '${file}': ${fileProblem(error)}`, {
      code: 'hostkey',
      cause: error,
    });
  }
}

/**
 * Reads `[@marker] hosts keytype base64 [comment]` when its hosts match `name`. Comments, blank
 * lines, `@cert-authority` and unknown markers, and lines whose key does not decode give nothing,
 * as OpenSSH skips them.
 */
function parseLine(row: string, name: string): Omit<HostLine, 'file' | 'line'> | undefined {
  const trimmed = row.trim();
  if (trimmed === '' || trimmed.startsWith('#')) return undefined;

  const fields = trimmed.split(/[ \t]+/);
  const marker = fields[0]?.startsWith('@') === true ? fields.shift() : undefined;
  if (marker !== undefined && marker !== '@revoked') return undefined;

  const [hosts, keyType, encoded] = fields;
  if (hosts === undefined || keyType === undefined || encoded === undefined) return undefined;
  if (!hostsMatch(hosts, name)) return undefined;

  // Decoding only the lines of this host keeps a large file cheap to scan.
  const key = Buffer.from(encoded, 'base64');
  if (keyTypeOf(key) !== keyType) return undefined;
  return { revoked: marker === '@revoked', hosts, keyType, key };
}

/** Whether a host field, hashed or a pattern list, names the host; a negated match excludes it. */
function hostsMatch(hosts: string, name: string): boolean {
  if (hosts.startsWith(hashMagic)) return hashedMatch(hosts, name);

  let positive = false;
  for (const item of hosts.toLowerCase().split(',')) {
    const negated = item.startsWith('!');
    if (!globMatch(name, negated ? item.slice(1) : item)) continue;
    if (negated) return false;
    positive = true;
  }
  return positive;
}

/** `|1|salt|hash`, where hash is HMAC-SHA1 of the name keyed with salt, both base64. */
function hashedMatch(hosts: string, name: string): boolean {
  const [salt, hash, ...rest] = hosts.slice(hashMagic.length).split('|');
  if (salt === undefined || hash === undefined || rest.length > 0) return false;
  const expected = Buffer.from(hash, 'base64');
  return createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest().equals(expected);
}

/** Matches `text` against a pattern where `*` stands for any run of characters and `?` for one. */
function globMatch(text: string, pattern: string): boolean {
  let t = 0;
  let p = 0;
  let star = -1;
  let starText = 0;
  while (t < text.length) {
    const char = pattern[p];
    if (char === '*') {
      star = p++;
      starText = t;
    } else if (char !== undefined && (char === '?' || char === text[t])) {
      t++;
      p++;
    } else if (star >= 0) {
      // Let the last `*` take one more character and retry from there.
      p = star + 1;
      t = ++starText;
    } else {
      return false;
    }
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}

/** Appends a line, creating the directory (0700) and file (0600) and ending an unfinished line. */
function appendLine(file: string, name: string, line: string): void {
  try {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    const fd = openSync(file, 'a+', 0o600);
    try {
      const size = fstatSync(fd).size;
      const newline = size > 0 && lastByte(fd, size) !== 0x0a ? '\n' : '';
      // One write, so that another process appending at the same time cannot split the line.
      writeSync(fd, `${newline}${line}\n`);
    } finally {
      closeSync(fd);
    }
  } catch (error: unknown) {
    throw new OrgalorgError(
      `can't record the host key of ${name} in '${file}': ${fileProblem(error)}`,
      { code: 'hostkey', cause: error },
    );
  }
}

function lastByte(fd: number, size: number): number | undefined {
  const byte = Buffer.alloc(1);
  readSync(fd, byte, 0, 1, size - 1);
  return byte[0];
}

function revokedError(name: string, presented: HostKeyInfo, line: HostLine): OrgalorgError {
  return new OrgalorgError(
    `${name} presents a revoked host key: ${describe(presented)} is marked @revoked in ` +
      `${where(line)}; not connecting. The host needs a new key before it can be trusted`,
    { code: 'hostkey.revoked' },
  );
}

function changedError(name: string, presented: HostKeyInfo, line: HostLine): OrgalorgError {
  const other = line.keyType === presented.keyType ? '' : ` (which records a ${line.keyType} key)`;
  const remedy = isSingleName(line.hosts)
    ? `remove the old line with: ssh-keygen -R "${name}" -f ${commandPath(line.file)}`
    : `remove or edit ${where(line)}`;
  return new OrgalorgError(
    `${name} presents a different host key than ${where(line)} records${other}: ` +
      `${describe(presented)}; if the host was reinstalled, ${remedy}`,
    { code: 'hostkey.changed' },
  );
}

function unknownError(
  config: KnownHostsConfig,
  host: string,
  port: number,
  name: string,
  presented: HostKeyInfo,
): OrgalorgError {
  const looked = lookupFiles(config).map(displayPath).join(', ');
  const bare = knownHostsName(host, 22);
  return new OrgalorgError(
    `${name} is not a known host (looked in ${looked}); it presents ${describe(presented)}. ` +
      `If that is the host's key, add it with: ssh-keyscan -p ${port} ${bare} >> ` +
      `${commandPath(config.record)}, or run with --host-key-check accept-new`,
    { code: 'hostkey.unknown' },
  );
}

function describe(info: HostKeyInfo): string {
  return `${info.keyType} ${info.fingerprint}`;
}

function where(line: HostLine): string {
  return `${displayPath(line.file)} line ${line.line}`;
}

/** A line that `ssh-keygen -R name` removes: one hashed or plain name, no list or pattern. */
function isSingleName(hosts: string): boolean {
  return hosts.startsWith(hashMagic) || !/[,*?!]/.test(hosts);
}

/** The path as an operator reads it, `~/` for the home directory. */
function displayPath(file: string): string {
  const home = homedir() + sep;
  return file.startsWith(home) ? `~/${file.slice(home.length)}` : file;
}

/** The path as a shell word to paste, `~/` kept outside quotes so that the shell expands it. */
function commandPath(file: string): string {
  const home = homedir() + sep;
  return file.startsWith(home) ? `~/${shellWord(file.slice(home.length))}` : shellWord(file);
}

function shellWord(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`;
}
