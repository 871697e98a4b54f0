/**
 * Instance types wavectl accepts, with what validation needs (architecture, vCPUs, memory) and an on-demand
 * USD/hour price (us-east-1, Linux) for `deploy --dry-run` estimates. A closed list so that a typo fails at
 * `init` instead of at RunInstances twenty minutes later.
 */
export interface InstanceTypeSpec {
  hourlyUsd: number;
  arch: 'x86_64' | 'arm64';
  vcpus: number;
  memoryGib: number;
}

const spec = (
  hourlyUsd: number,
  vcpus: number,
  memoryGib: number,
  arch: InstanceTypeSpec['arch'] = 'x86_64',
) => ({
  hourlyUsd,
  arch,
  vcpus,
  memoryGib,
});

export const INSTANCE_TYPES: Readonly<Record<string, InstanceTypeSpec>> = {
  't3.nano': spec(0.0052, 2, 0.5),
  't3.micro': spec(0.0104, 2, 1),
  't3.small': spec(0.0208, 2, 2),
  't3.medium': spec(0.0416, 2, 4),
  't3.large': spec(0.0832, 2, 8),
  't3.xlarge': spec(0.1664, 4, 16),
  't3.2xlarge': spec(0.3328, 8, 32),
  't3a.nano': spec(0.0047, 2, 0.5),
  't3a.micro': spec(0.0094, 2, 1),
  't3a.small': spec(0.0188, 2, 2),
  't3a.medium': spec(0.0376, 2, 4),
  't3a.large': spec(0.0752, 2, 8),
  't3a.xlarge': spec(0.1504, 4, 16),
  't3a.2xlarge': spec(0.3008, 8, 32),
  't4g.micro': spec(0.0084, 2, 1, 'arm64'),
  't4g.small': spec(0.0168, 2, 2, 'arm64'),
  't4g.medium': spec(0.0336, 2, 4, 'arm64'),
  'm6a.large': spec(0.0864, 2, 8),
  'm6a.xlarge': spec(0.1728, 4, 16),
  'm6a.2xlarge': spec(0.3456, 8, 32),
  'm6a.4xlarge': spec(0.6912, 16, 64),
  'm6i.large': spec(0.096, 2, 8),
  'm6i.xlarge': spec(0.192, 4, 16),
  'm6i.2xlarge': spec(0.384, 8, 32),
  'm6i.4xlarge': spec(0.768, 16, 64),
  'm7a.large': spec(0.11592, 2, 8),
  'm7a.xlarge': spec(0.23184, 4, 16),
  'm7a.2xlarge': spec(0.46368, 8, 32),
  'm5.large': spec(0.096, 2, 8),
  'm5.xlarge': spec(0.192, 4, 16),
  'm5.2xlarge': spec(0.384, 8, 32),
  'c6a.large': spec(0.0765, 2, 4),
  'c6a.xlarge': spec(0.153, 4, 8),
  'c6a.2xlarge': spec(0.306, 8, 16),
  'c6i.large': spec(0.085, 2, 4),
  'c6i.xlarge': spec(0.17, 4, 8),
  'c6i.2xlarge': spec(0.34, 8, 16),
  'r6a.large': spec(0.1134, 2, 16),
  'r6a.xlarge': spec(0.2268, 4, 32),
  'r6a.2xlarge': spec(0.4536, 8, 64),
};

export const INSTANCE_HOURLY_USD: Readonly<Record<string, number>> = Object.fromEntries(
  Object.entries(INSTANCE_TYPES).map(([type, s]) => [type, s.hourlyUsd]),
);

/** The types wavectl can launch: its images (Amazon Linux 2023, Ubuntu) are the x86_64 ones. */
export const KNOWN_INSTANCE_TYPES = Object.keys(INSTANCE_TYPES).filter(
  (t) => INSTANCE_TYPES[t]!.arch === 'x86_64',
);

/** Kasm Workspaces' documented minimum for a single-server install. */
export const KASM_MINIMUM = { vcpus: 2, memoryGib: 4 } as const;

/** Pure: why `type` cannot be launched, or undefined when it can. */
export function instanceTypeProblem(type: string): string | undefined {
  const s = INSTANCE_TYPES[type];
  if (!s) return `must be a known instance type (${KNOWN_INSTANCE_TYPES.join(', ')})`;
  if (s.arch !== 'x86_64') {
    const twin = type.replace(/^t4g\./, 't3a.');
    return `${type} is an ${s.arch} (Graviton) type and wavectl's images are x86_64: choose an x86_64 type such as ${KNOWN_INSTANCE_TYPES.includes(twin) ? twin : 't3a.medium'}`;
  }
  return undefined;
}

/** Pure: why `type` is too small for the Kasm host, or undefined. */
export function kasmInstanceTypeProblem(type: string): string | undefined {
  const s = INSTANCE_TYPES[type];
  if (s?.arch !== 'x86_64') return undefined;
  if (s.vcpus < KASM_MINIMUM.vcpus || s.memoryGib < KASM_MINIMUM.memoryGib) {
    return `${type} (${s.vcpus} vCPU, ${s.memoryGib} GiB) is below Kasm Workspaces' minimum of ${KASM_MINIMUM.vcpus} vCPU and ${KASM_MINIMUM.memoryGib} GiB: choose t3a.medium or larger (m6a.2xlarge is the default)`;
  }
  return undefined;
}
