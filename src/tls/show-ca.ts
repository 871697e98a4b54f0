import type { Context } from '../context';
import { ConfigError } from '../errors';
import { certificateFacts } from './certificates';

export interface CaResult {
  certificate: string;
  fingerprintSha256: string;
  notAfter: string;
  controllerCertificateExpires: string | null;
}

/** `wavectl ca`: the deployment CA certificate, for operators' browsers and the routers. */
export async function showCa(ctx: Context): Promise<CaResult> {
  const config = await ctx.loadConfig();
  if (!config.tls) throw new ConfigError('no deployment CA yet: `wavectl deploy` creates it');
  const facts = certificateFacts(config.tls.caCertificate);
  return {
    certificate: config.tls.caCertificate,
    fingerprintSha256: facts.fingerprintSha256,
    notAfter: facts.notAfter,
    controllerCertificateExpires: config.tls.controllerCertificateExpires ?? null,
  };
}
