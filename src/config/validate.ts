import { checkConfig, configPath, invalidConfigError, readConfigDocument } from './file';
import { meaningProblems } from './meaning';

export interface ValidationResult {
  file: string;
  valid: true;
}

/**
 * Shape first (the schema), then meaning between the records (duplicates, dangling references). Valid:
 * returns the result. Invalid: throws a ConfigError listing every problem (exit 2, JSON twin has them).
 */
export async function validateConfigFile(dir: string): Promise<ValidationResult> {
  const file = configPath(dir);
  const document = await readConfigDocument(dir);
  const check = checkConfig(document);
  if (!check.ok) throw invalidConfigError(file, check.problems);
  const problems = meaningProblems(check.config);
  if (problems.length > 0) throw invalidConfigError(file, problems);
  return { file, valid: true };
}

export function renderValidation(result: ValidationResult): string {
  return `${result.file} is valid`;
}
