import { UsageError } from '../errors';

/**
 * Every region of the AWS SDK's partitions (aws, aws-cn, aws-us-gov, the ISO partitions), as the SDK's own
 * partitions data lists them; a test checks this copy against the installed SDK, so an SDK update that adds
 * a region shows up there. (The SDK does not export the list, and the bundled binary has no node_modules.)
 */
export const KNOWN_REGIONS: readonly string[] = [
  'af-south-1',
  'ap-east-1',
  'ap-east-2',
  'ap-northeast-1',
  'ap-northeast-2',
  'ap-northeast-3',
  'ap-south-1',
  'ap-south-2',
  'ap-southeast-1',
  'ap-southeast-2',
  'ap-southeast-3',
  'ap-southeast-4',
  'ap-southeast-5',
  'ap-southeast-6',
  'ap-southeast-7',
  'ca-central-1',
  'ca-west-1',
  'eu-central-1',
  'eu-central-2',
  'eu-north-1',
  'eu-south-1',
  'eu-south-2',
  'eu-west-1',
  'eu-west-2',
  'eu-west-3',
  'il-central-1',
  'me-central-1',
  'me-south-1',
  'me-west-1',
  'mx-central-1',
  'sa-east-1',
  'sa-west-1',
  'us-east-1',
  'us-east-2',
  'us-west-1',
  'us-west-2',
  'cn-north-1',
  'cn-northwest-1',
  'eusc-de-east-1',
  'us-iso-east-1',
  'us-iso-west-1',
  'us-isob-east-1',
  'us-isob-west-1',
  'eu-isoe-west-1',
  'us-isof-east-1',
  'us-isof-south-1',
  'us-gov-east-1',
  'us-gov-west-1',
];

/** Levenshtein distance: how many one-character edits turn `a` into `b`. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j]! + 1,
        current[j - 1]! + 1,
        previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** Pure: the known region nearest to `text`. */
export function closestRegion(text: string): string {
  const wanted = text.trim().toLowerCase();
  let best = KNOWN_REGIONS[0]!;
  for (const region of KNOWN_REGIONS)
    if (editDistance(wanted, region) < editDistance(wanted, best)) best = region;
  return best;
}

/** Pure: refuses a region the SDK does not know (exit 2), naming the option and the closest match. */
export function assertKnownRegion(option: string, region: string): void {
  if (KNOWN_REGIONS.includes(region)) return;
  throw new UsageError(`${option}: "${region}" is not an AWS region; did you mean ${closestRegion(region)}?`);
}
