import { AjvCompiler, type Options, type ValidatorFactory } from '@fastify/ajv-compiler';

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
