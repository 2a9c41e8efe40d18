// vitest globalSetup: three real SSH hosts for the whole run.
// Tests find them with loadHosts(process.env.ORGALORG_TEST_HOSTS_DIR).
// ORGALORG_TEST_HOSTS_KEEP=1 leaves them running after the run.
import { DEFAULT_STATE_DIR, startHosts, stopHosts } from './hosts.js';

export const GLOBAL_HOST_COUNT = 3;

export default async function setup(): Promise<() => Promise<void>> {
  const stateDir = process.env['ORGALORG_TEST_HOSTS_DIR'] || DEFAULT_STATE_DIR;
  const hosts = await startHosts(GLOBAL_HOST_COUNT, stateDir);
  process.env['ORGALORG_TEST_HOSTS_DIR'] = hosts.stateDir;
  return async () => {
    if (process.env['ORGALORG_TEST_HOSTS_KEEP'] !== '1') {
      await stopHosts(hosts.stateDir);
    }
  };
}
