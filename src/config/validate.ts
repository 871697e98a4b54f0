import { checkConfig, configPath, invalidConfigError, readConfigDocument } from './file';

export interface ValidationResult {
  file: string;
  valid: true;
}

/** Valid: returns the result. Invalid: throws a ConfigError listing every problem (exit 2, JSON twin has them). */
export async function validateConfigFile(dir: string): Promise<ValidationResult> {
  const file = configPath(dir);
  const document = await readConfigDocument(dir);
  const check = checkConfig(document);
  if (!check.ok) throw invalidConfigError(file, check.problems);
  return { file, valid: true };
}

export function renderValidation(result: ValidationResult): string {
  return `${result.file} is valid`;
}
