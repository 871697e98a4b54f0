import { z } from 'zod';
import { instanceTypeProblem, kasmInstanceTypeProblem } from '../aws/instance-types';
import { closestRegion, KNOWN_REGIONS } from './regions';

/**
 * wavectl.json, the single source of truth for its shape: validation, defaults, TypeScript types and the
 * shipped JSON Schema (`npm run build` writes wavectl.schema.json from this). It holds no secret: secrets
 * live in SSM Parameter Store under /waveshift/<name>/.
 */

export const DEPLOYMENT_NAME_PATTERN = /^[a-z0-9-]{1,32}$/;
export const REGION_PATTERN = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$/;
export const IDENTITY_PROVIDERS = ['local', 'okta', 'azure-ad', 'google', 'keycloak', 'auth0'] as const;
export const MAX_SITES = 256;

export const DeploymentName = z
  .string()
  .regex(DEPLOYMENT_NAME_PATTERN, 'must be 1-32 characters of lowercase letters, digits and "-"')
  .describe('Deployment name; part of every AWS resource name and tag (waveshift:deployment).');

export const Region = z
  .string()
  .regex(REGION_PATTERN, 'must be an AWS region code such as us-east-1')
  .refine((r) => KNOWN_REGIONS.includes(r), {
    error: (issue) =>
      `"${String(issue.input)}" is not an AWS region; did you mean ${closestRegion(String(issue.input))}?`,
  })
  .describe('AWS region of this deployment, e.g. us-east-1.');

export const InstanceType = z
  .string()
  .superRefine((t, ctx) => {
    const problem = instanceTypeProblem(t);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .describe('EC2 instance type.');

/** A base64 Curve25519 key as WireGuard writes it: 32 bytes, 44 characters. */
export const WireGuardPublicKey = z
  .string()
  .regex(/^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/, 'must be a base64 WireGuard public key (44 characters)');

const InstanceSize = (type: string, volumeGb: number) =>
  z.strictObject({
    type: InstanceType.default(type),
    volumeGb: z.int().min(8).max(16384).default(volumeGb).describe('Root volume size (encrypted gp3), GiB.'),
  });

export const RouterRecord = z
  .strictObject({
    host: z
      .string()
      .min(1)
      .describe('Address wavectl reaches the router on (its LAN address once configured).'),
    port: z.int().min(1).max(65535).default(22),
    user: z.string().min(1).default('root'),
    hostKey: z
      .string()
      .regex(/^SHA256:[A-Za-z0-9+/]{43}$/, 'must be an SSH host key fingerprint "SHA256:…"')
      .optional()
      .describe('Pinned SSH host key fingerprint, recorded on first contact.'),
    scanIntervalMinutes: z
      .int()
      .min(1)
      .max(60)
      .optional()
      .describe('Device scan interval last applied (--scan-interval); kept until given again.'),
    manageOverTunnel: z
      .boolean()
      .optional()
      .describe(
        'Whether the tunnel may reach the router itself, as last applied (--[no-]manage-over-tunnel).',
      ),
  })
  .describe('How wavectl reaches this site’s GL.iNet router.');

export const SiteRecord = z.strictObject({
  number: z
    .int()
    .min(0)
    .max(MAX_SITES - 1)
    .describe('Site number N; the site owns 10.8.N.0/24.'),
  name: z.string().min(1).max(64),
  publicKey: WireGuardPublicKey.describe('The site router’s WireGuard public key.'),
  accessServer: z.int().min(0).describe('Index of the access server this site’s tunnel ends on.'),
  registered: z.boolean().default(false).describe('True once the controller has accepted the registration.'),
  router: RouterRecord.optional(),
});

export const AccessServerRecord = z.strictObject({
  index: z.int().min(0).max(63),
  publicKey: WireGuardPublicKey,
  listenPort: z.int().min(1).max(65535).default(51820),
  instanceId: z.string().optional(),
  publicIp: z.string().optional(),
  registered: z
    .boolean()
    .optional()
    .describe(
      'True once the controller has accepted this access server; `access-servers --add` finishes it otherwise.',
    ),
});

export const WavectlConfigSchema = z
  .strictObject({
    $schema: z.string().optional().describe('Path or URL of the JSON Schema of this file (for editors).'),
    version: z.literal(1).describe('Format version of this file.'),
    name: DeploymentName,
    identityProvider: z
      .enum(IDENTITY_PROVIDERS)
      .describe(
        'Where users of the controller and Kasm authenticate: "local" keeps users in the controller.',
      ),
    aws: z.strictObject({
      profile: z.string().min(1).describe('Named profile of the AWS shared config/credentials files.'),
      region: Region,
      endpointUrl: z
        .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
        .optional()
        .describe('Send every AWS call here instead of AWS (an emulator); AWS_ENDPOINT_URL overrides it.'),
    }),
    instances: z
      .strictObject({
        controller: InstanceSize('t3a.medium', 20).default({ type: 't3a.medium', volumeGb: 20 }),
        kasm: InstanceSize('m6a.2xlarge', 150)
          .superRefine((size, ctx) => {
            const problem = kasmInstanceTypeProblem(size.type);
            if (problem) ctx.addIssue({ code: 'custom', path: ['type'], message: problem });
          })
          .default({ type: 'm6a.2xlarge', volumeGb: 150 }),
        accessServer: z
          .strictObject({ type: InstanceType.default('t3.micro') })
          .default({ type: 't3.micro' }),
      })
      .default({
        controller: { type: 't3a.medium', volumeGb: 20 },
        kasm: { type: 'm6a.2xlarge', volumeGb: 150 },
        accessServer: { type: 't3.micro' },
      }),
    controller: z
      .strictObject({
        url: z
          .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
          .optional()
          .describe(
            'Speak HTTP to the controller here (local run, or on the VPN) instead of relaying through SSM.',
          ),
      })
      .default({}),
    tls: z
      .strictObject({
        caCertificate: z
          .string()
          .startsWith('-----BEGIN CERTIFICATE-----')
          .describe('The deployment CA (PEM).'),
        caFingerprint: z.string().describe('SHA-256 fingerprint of the CA certificate.'),
        caExpires: z.iso.datetime().describe('When the CA certificate expires.'),
        controllerCertificateExpires: z.iso
          .datetime()
          .optional()
          .describe('When the controller certificate expires; `deploy` renews it 30 days before.'),
      })
      .optional()
      .describe('The deployment CA that every internal client verifies against (its key is in SSM).'),
    resources: z
      .record(z.string(), z.string())
      .default({})
      .describe('Cache of AWS resource IDs by component; resources are always found again by tag.'),
    accessServers: z.array(AccessServerRecord).default([]),
    sites: z.array(SiteRecord).max(MAX_SITES).default([]),
  })
  .describe('A Waveshift deployment: one AWS account, profile and region.');

export type WavectlConfig = z.output<typeof WavectlConfigSchema>;
export type WavectlConfigInput = z.input<typeof WavectlConfigSchema>;
export type SiteRecord = z.output<typeof SiteRecord>;
export type AccessServerRecord = z.output<typeof AccessServerRecord>;
export type RouterRecord = z.output<typeof RouterRecord>;

/** The JSON Schema shipped with the package, generated from the zod schema. */
export function configJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(WavectlConfigSchema, { io: 'input', unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
}
