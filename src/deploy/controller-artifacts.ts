import { readFile } from 'node:fs/promises';
import { ConfigError } from '../errors';
import { packageFile } from '../paths';

export interface ControllerArtifacts {
  bundle: Buffer;
  installScript: string;
  unit: string;
}

/** The controller bundle (built by `npm run build`) and its install files, read from the package. */
export async function readControllerArtifacts(): Promise<ControllerArtifacts> {
  const files = {
    bundle: packageFile('dist', 'controller.cjs'),
    installScript: packageFile('src', 'controller', 'install', 'install-controller.sh'),
    unit: packageFile('src', 'controller', 'install', 'waveshift-controller.service'),
  };
  try {
    return {
      bundle: await readFile(files.bundle),
      installScript: await readFile(files.installScript, 'utf8'),
      unit: await readFile(files.unit, 'utf8'),
    };
  } catch (error) {
    throw new ConfigError(
      `the controller bundle or its install files are missing (${(error as NodeJS.ErrnoException).path ?? error}); run \`npm run build\` in the wavectl package`,
      { cause: error },
    );
  }
}
