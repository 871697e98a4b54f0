import {
  ChangeResourceRecordSetsCommand,
  ChangeTagsForResourceCommand,
  CreateHostedZoneCommand,
  type HostedZone,
  ListHostedZonesByNameCommand,
  ListResourceRecordSetsCommand,
  ListTagsForResourceCommand,
  type Route53Client,
} from '@aws-sdk/client-route-53';
import { CONTROLLER_DNS_NAME, KASM_DNS_NAME } from '../network/service-names';
import { COMPONENT } from './components';
import { type Ensured, tagRecord } from './ensured';
import { resourceTags, TAG_DEPLOYMENT } from './naming';
import { call, errorName } from './retry';

/** Two private zones, each answering its own name at the apex: never one zone "internal" (DESIGN §2). */
export const ZONES = {
  controller: { component: COMPONENT.controllerZone, name: CONTROLLER_DNS_NAME },
  kasm: { component: COMPONENT.kasmZone, name: KASM_DNS_NAME },
} as const;
export type ZoneKey = keyof typeof ZONES;

export const TAG_REGION = 'waveshift:region';

/**
 * Caller references identify our zones even before they are tagged (a run killed between CreateHostedZone
 * and ChangeTagsForResource). Region and deployment are in it: zones are account-global.
 */
export const callerReferencePrefix = (region: string, deployment: string) =>
  `wavectl:${region}:${deployment}:`;
export const callerReference = (region: string, deployment: string, component: string, vpcId: string) =>
  `${callerReferencePrefix(region, deployment)}${component}:${vpcId}`;

const zoneId = (zone: HostedZone) => (zone.Id ?? '').replace(/^\/hostedzone\//, '');

/** Every hosted zone named `name.` in the account. */
async function zonesNamed(route53: Route53Client, name: string): Promise<HostedZone[]> {
  const dnsName = `${name}.`;
  const out = await call('Route53 ListHostedZonesByName', () =>
    route53.send(new ListHostedZonesByNameCommand({ DNSName: dnsName, MaxItems: 100 })),
  );
  return (out.HostedZones ?? []).filter((z) => z.Name === dnsName);
}

export interface FoundZone {
  id: string;
  name: string;
  component: string;
  tagged: boolean;
}

/** The deployment's zones (both names), found by caller reference, and whether each carries its tags. */
export async function findZones(
  route53: Route53Client,
  deployment: string,
  region: string,
): Promise<FoundZone[]> {
  const found: FoundZone[] = [];
  for (const { component, name } of Object.values(ZONES)) {
    for (const zone of await zonesNamed(route53, name)) {
      if (!zone.CallerReference?.startsWith(`${callerReferencePrefix(region, deployment)}${component}:`))
        continue;
      const id = zoneId(zone);
      const tags = await call('Route53 ListTagsForResource', () =>
        route53.send(new ListTagsForResourceCommand({ ResourceType: 'hostedzone', ResourceId: id })),
      );
      const record = tagRecord(tags.ResourceTagSet?.Tags);
      found.push({ id, name, component, tagged: record[TAG_DEPLOYMENT] === deployment });
    }
  }
  return found;
}

async function tagZone(
  route53: Route53Client,
  id: string,
  deployment: string,
  region: string,
  component: string,
) {
  await call('Route53 ChangeTagsForResource', () =>
    route53.send(
      new ChangeTagsForResourceCommand({
        ResourceType: 'hostedzone',
        ResourceId: id,
        AddTags: [...resourceTags(deployment, component), { Key: TAG_REGION, Value: region }],
      }),
    ),
  );
}

/** The private hosted zone `key` associated with the VPC, tagged right after creation. */
export async function ensureZone(
  route53: Route53Client,
  deployment: string,
  region: string,
  key: ZoneKey,
  vpcId: string,
): Promise<Ensured> {
  const { component, name } = ZONES[key];
  const reference = callerReference(region, deployment, component, vpcId);
  const mine = (await zonesNamed(route53, name)).find((z) => z.CallerReference === reference);
  let id = mine ? zoneId(mine) : undefined;
  let created = false;
  if (!id) {
    try {
      const out = await route53.send(
        new CreateHostedZoneCommand({
          Name: name,
          CallerReference: reference,
          VPC: { VPCRegion: region as never, VPCId: vpcId },
          HostedZoneConfig: { PrivateZone: true, Comment: `Waveshift ${deployment} ${component}` },
        }),
      );
      id = out.HostedZone ? zoneId(out.HostedZone) : '';
      created = true;
    } catch (error) {
      // Same caller reference: an earlier run created it and was killed before we saw the answer.
      if (errorName(error) !== 'HostedZoneAlreadyExists') throw error;
      const again = (await zonesNamed(route53, name)).find((z) => z.CallerReference === reference);
      if (!again) throw error;
      id = zoneId(again);
    }
  }
  const zone = id;
  const tags = await call('Route53 ListTagsForResource', () =>
    route53.send(new ListTagsForResourceCommand({ ResourceType: 'hostedzone', ResourceId: zone })),
  );
  const tagged = tagRecord(tags.ResourceTagSet?.Tags)[TAG_DEPLOYMENT] === deployment;
  if (!tagged) await tagZone(route53, zone, deployment, region, component);
  if (created) return { status: 'created', id: zone, detail: name };
  return tagged ? { status: 'unchanged', id: zone } : { status: 'changed', id: zone, detail: 'tagged' };
}

/** The apex A record of the zone pointing at `ip` (UPSERT only when it differs). */
export async function ensureApexRecord(
  route53: Route53Client,
  zoneId: string,
  name: string,
  ip: string,
): Promise<Ensured> {
  const fqdn = `${name}.`;
  const out = await call('Route53 ListResourceRecordSets', () =>
    route53.send(
      new ListResourceRecordSetsCommand({
        HostedZoneId: zoneId,
        StartRecordName: fqdn,
        StartRecordType: 'A',
        MaxItems: 1,
      }),
    ),
  );
  const current = out.ResourceRecordSets?.find((r) => r.Name === fqdn && r.Type === 'A');
  const values = current?.ResourceRecords?.map((r) => r.Value) ?? [];
  if (values.length === 1 && values[0] === ip) return { status: 'unchanged', id: `${name} A ${ip}` };
  await call('Route53 ChangeResourceRecordSets', () =>
    route53.send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: zoneId,
        ChangeBatch: {
          Changes: [
            {
              Action: 'UPSERT',
              ResourceRecordSet: { Name: fqdn, Type: 'A', TTL: 60, ResourceRecords: [{ Value: ip }] },
            },
          ],
        },
      }),
    ),
  );
  return current
    ? { status: 'changed', id: `${name} A ${ip}`, detail: `was ${values.join(', ')}` }
    : { status: 'created', id: `${name} A ${ip}` };
}
