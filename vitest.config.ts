import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'marbles',
          include: ['test/marbles/**/*.spec.ts'],
        },
      },
      {
        // Pure functions and file formats, on local files only.
        test: {
          name: 'units',
          include: ['test/units/**/*.spec.ts'],
        },
      },
      {
        // Real SSH hosts on loopback: one shared set for the whole run, so files go one by one.
        test: {
          name: 'hosts',
          include: ['test/hosts/**/*.test.ts'],
          globalSetup: ['test/support/global-setup.ts'],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
