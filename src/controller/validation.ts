import { AjvCompiler, type Options, type ValidatorFactory } from '@fastify/ajv-compiler';
import type { FastifySchemaValidationError, SchemaErrorDataVar } from 'fastify/types/schema';
import { PATTERN_MEANINGS } from './schemas/common';

/** Ajv settings of every part of a request. */
const SHARED = {
  // Reject unknown fields instead of silently dropping them: a caller with a typo hears about it.
  removeAdditional: false,
  // NaN and Infinity (JSON's 1e309) are not numbers a `maximum` can bound.
  strictNumbers: true,
  allErrors: false,
} as const;

/**
 * Validators of requests: a path and a query string are text, so `?site=3&online=true` is read as the
 * number and boolean it spells; a JSON body already carries its types, so `"displayName": false` or
 * `"disabled": null` is refused instead of turned into "false" and false.
 */
export const buildRequestValidator: ValidatorFactory = (externalSchemas, options) => {
  const pool = AjvCompiler();
  const compiler = (coerceTypes: Options['coerceTypes']) =>
    pool(externalSchemas, {
      plugins: options?.plugins,
      customOptions: { ...(options?.customOptions as Options), ...SHARED, coerceTypes },
    });
  const textual = compiler('array');
  const typed = compiler(false);
  return (route) => (route.httpPart === 'body' ? typed(route) : textual(route));
};

/**
 * The message of a 400 for a request that fails its schema: Fastify's own (`body/name must be string`),
 * except that a known pattern says what the value should look like instead of printing the regex.
 */
export function validationMessage(errors: FastifySchemaValidationError[], part: SchemaErrorDataVar): Error {
  const lines = errors.map((e) => {
    const meaning = e.keyword === 'pattern' ? PATTERN_MEANINGS[String(e.params.pattern)] : undefined;
    return `${part}${e.instancePath} ${meaning ? `must be ${meaning}` : e.message}`;
  });
  return new Error(lines.join(', '));
}
