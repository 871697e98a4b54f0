import { AwsError } from '../errors';

interface SdkErrorShape {
  name?: string;
  message?: string;
  $metadata?: { requestId?: string; httpStatusCode?: number };
}

const CREDENTIAL_ERRORS = new Set([
  'CredentialsProviderError',
  'ExpiredToken',
  'ExpiredTokenException',
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'AuthFailure',
]);

/** Wraps an SDK failure of `action` into an AwsError that names the call and says what to try. */
export function toAwsError(action: string, error: unknown): AwsError {
  const e = (error ?? {}) as SdkErrorShape;
  const code = e.name;
  const hint = CREDENTIAL_ERRORS.has(code ?? '')
    ? ' — check the AWS profile in wavectl.json (aws sso login, or credentials for that profile)'
    : code === 'UnauthorizedOperation' || code === 'AccessDenied' || code === 'AccessDeniedException'
      ? ' — the profile lacks permission for this call'
      : '';
  const requestId = e.$metadata?.requestId;
  return new AwsError(
    `${action} failed: ${code ?? 'Error'}: ${e.message ?? String(error)}${hint}${requestId ? ` (request ${requestId})` : ''}`,
    {
      cause: error,
      awsCode: code,
      requestId,
    },
  );
}
