import { defineConfig } from 'vitest/config';

/** Benchmarks that need the test bed's real peers; not part of `npm test`. Run: bash bench/sites-add.sh */
export default defineConfig({
  test: {
    include: ['bench/**/*.bench-run.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 600_000,
    hookTimeout: 120_000,
    pool: 'forks',
    reporters: ['default'],
  },
});
