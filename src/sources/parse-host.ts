import { isIPv6 } from 'node:net';
import { OrgalorgError } from '../errors.js';
import type { HostSpec } from '../types.js';

export interface ParseHostConfig {
  /** Login user for a host typed without `user@`. */
  readonly user: string;
  /** Port for a host typed without `:port`; 22 by default. */
  readonly port?: number;
  /**
   * Per-host defaults (ssh_config `User`, `Port`) for what the text does not say; they win over
   * `user` and `port` above.
   */
  readonly defaults?: (address: string) => { readonly user?: string; readonly port?: number };
  /** Where the text came from, for error messages (`hosts file ./hosts line 3`). */
  readonly origin?: string;
}

const BRACKETED = /^\[([^\]]+)\](?::(.*))?$/;

/**
 * Parses `[user@]host[:port]`; IPv6 works bracketed (`[::1]:2222`) and bare (`::1`, which then
 * has no port).
 *
 * @throws OrgalorgError with code `hosts.parse`, naming the text and where it came from.
 */
export function parseHost(text: string, config: ParseHostConfig): HostSpec {
  const raw = text.trim();
  const fail = (why: string): never => {
    const where = config.origin === undefined ? '' : ` (${config.origin})`;
    throw new OrgalorgError(`can't parse specified address '${raw}'${where}: ${why}`, {
      code: 'hosts.parse',
    });
  };

  const at = raw.lastIndexOf('@');
  const rest = at === -1 ? raw : raw.slice(at + 1);
  if (at === 0) fail('the user before @ is empty');

  let address = rest;
  let portText: string | undefined;
  const bracketed = BRACKETED.exec(rest);
  if (bracketed) {
    address = bracketed[1] ?? '';
    portText = bracketed[2];
  } else if (rest.indexOf(':') === rest.lastIndexOf(':') && rest.includes(':')) {
    address = rest.slice(0, rest.indexOf(':'));
    portText = rest.slice(rest.indexOf(':') + 1);
  } else if (rest.includes(':') && !isIPv6(rest)) {
    fail('more than one ":" but not an IPv6 address (write [address]:port)');
  }

  if (address === '') fail('the host name is empty');
  const defaults = config.defaults?.(address) ?? {};
  const user = at === -1 ? (defaults.user ?? config.user) : raw.slice(0, at);
  // eslint-disable-next-line no-control-regex -- control characters are what is refused here
  if (/[\s/@[\]\x00-\x1f\x7f]/.test(address)) {
    fail('the host name has a character a host name cannot have');
  }
  const port =
    portText === undefined ? (defaults.port ?? config.port ?? 22) : parsePort(portText, fail);
  const shown = address.includes(':') ? `[${address}]` : address;
  return { raw, user, address, port, node: `[${user}@${shown}:${port}]` };
}

function parsePort(text: string, fail: (why: string) => never): number {
  const port = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(port >= 1 && port <= 65535)) {
    fail(`can't parse port number: '${text}' (expected 1 to 65535)`);
  }
  return port;
}

/** The key that makes two specs the same host: the first of them is kept. */
export function hostKey(host: HostSpec): string {
  return `${host.user}@${host.address}:${host.port}`;
}
