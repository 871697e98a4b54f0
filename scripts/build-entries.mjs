// Additional esbuild entries built next to the CLI by scripts/build.mjs. Each is an esbuild options object
// (entryPoints, outfile, external, …) merged over the shared Node 20 CommonJS settings.
export const extraBuilds = [];
