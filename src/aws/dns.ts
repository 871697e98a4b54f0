import {
  ChangeResourceRecordSetsCommand,
  ChangeTagsForResourceCommand,
  CreateHostedZoneCommand,
  DeleteHostedZoneCommand,
  type HostedZone,
  ListHostedZonesByNameCommand,
  ListResourceRecordSetsCommand,
  ListTagsForResourcesCommand,
  paginateListHostedZones,
  type Route53Client,
} from '@aws-sdk/client-route-53';
import { CONTROLLER_DNS_NAME, KASM_DNS_NAME } from '../network/service-names';
import type { Change, Fields, Observed } from './change';
import { COMPONENT } from './components';
import { tagRecord } from './ensured';
import type { FoundResource } from './found';
import { resourceTags, TAG_DEPLOYMENT } from './naming';
import { retryNotFound } from './not-found';
import { ignoreMissing } from './removal';
import { call, collect, errorName } from './retry';

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

export const desiredZone = (deployment: string): Fields => ({ deployment });
export const desiredRecord = (ip: string): Fields => ({ a: ip });

export interface ZonesRead {
  zones: FoundResource[];
  /** The apex A record of each zone found, by zone component. */
  records: Record<string, Observed | undefined>;
}

/**
 * The deployment's zones, found by caller reference (which carries region and deployment), with their
 * tags (one batched call) and apex A records.
 */
export async function readZones(
  route53: Route53Client,
  deployment: string,
  region: string,
): Promise<ZonesRead> {
  const pages = await collect('Route53 ListHostedZones', paginateListHostedZones({ client: route53 }, {}));
  const ours = pages
    .flatMap((p) => p.HostedZones ?? [])
    .flatMap((zone) => {
      const match = Object.values(ZONES).find(
        (z) =>
          zone.Name === `${z.name}.` &&
          zone.CallerReference?.startsWith(`${callerReferencePrefix(region, deployment)}${z.component}:`),
      );
      return match ? [{ zone, ...match }] : [];
    });
  // Tags (batched by ten) and apex records are read side by side.
  const batches: string[][] = [];
  for (let i = 0; i < ours.length; i += 10) batches.push(ours.slice(i, i + 10).map((z) => zoneId(z.zone)));
  const [tagSets, apexes] = await Promise.all([
    Promise.all(
      batches.map((ResourceIds) =>
        call('Route53 ListTagsForResources', () =>
          route53.send(new ListTagsForResourcesCommand({ ResourceType: 'hostedzone', ResourceIds })),
        ),
      ),
    ),
    Promise.all(
      ours.map(({ zone, name }) =>
        call('Route53 ListResourceRecordSets', () =>
          route53.send(
            new ListResourceRecordSetsCommand({
              HostedZoneId: zoneId(zone),
              StartRecordName: `${name}.`,
              StartRecordType: 'A',
              MaxItems: 1,
            }),
          ),
        ),
      ),
    ),
  ]);
  const tags = new Map<string, Record<string, string>>();
  for (const out of tagSets)
    for (const set of out.ResourceTagSets ?? []) tags.set(set.ResourceId ?? '', tagRecord(set.Tags));
  const records: ZonesRead['records'] = {};
  const zones = ours.map(({ zone, component, name }, i) => {
    const id = zoneId(zone);
    const record = apexes[i]?.ResourceRecordSets?.find((r) => r.Name === `${name}.` && r.Type === 'A');
    if (record && !records[component]) {
      records[component] = {
        id: `${name} A`,
        fields: { a: (record.ResourceRecords ?? []).map((r) => r.Value ?? '').join(',') },
      };
    }
    const owner = tags.get(id)?.[TAG_DEPLOYMENT] ?? '';
    return {
      kind: 'hosted-zone' as const,
      component,
      id,
      state: owner === deployment ? 'tagged' : 'untagged',
      fields: { deployment: owner },
      facts: { name },
    };
  });
  return { zones, records };
}

async function zonesNamed(route53: Route53Client, name: string): Promise<HostedZone[]> {
  const dnsName = `${name}.`;
  const out = await call('Route53 ListHostedZonesByName', () =>
    route53.send(new ListHostedZonesByNameCommand({ DNSName: dnsName, MaxItems: 100 })),
  );
  return (out.HostedZones ?? []).filter((z) => z.Name === dnsName);
}

/** Creates the private zone associated with the VPC, or tags a zone of ours that lacks its tags. */
export async function applyZone(
  route53: Route53Client,
  scope: { deployment: string; region: string },
  key: ZoneKey,
  change: Change,
  vpcId: string,
): Promise<string> {
  const { deployment, region } = scope;
  const { component, name } = ZONES[key];
  let id = change.id ?? '';
  if (change.action === 'create') {
    const reference = callerReference(region, deployment, component, vpcId);
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
    } catch (error) {
      // Same caller reference: an earlier run created it and was killed before we saw the answer.
      if (errorName(error) !== 'HostedZoneAlreadyExists') throw error;
      const again = (await zonesNamed(route53, name)).find((z) => z.CallerReference === reference);
      if (!again) throw error;
      id = zoneId(again);
    }
  }
  if (change.action === 'create' || change.after?.deployment !== undefined) {
    await retryNotFound('Route53 ChangeTagsForResource', () =>
      route53.send(
        new ChangeTagsForResourceCommand({
          ResourceType: 'hostedzone',
          ResourceId: id,
          AddTags: [...resourceTags(deployment, component), { Key: TAG_REGION, Value: region }],
        }),
      ),
    );
  }
  return id;
}

/** The apex A record of the zone pointing at `ip`. */
export async function applyRecord(
  route53: Route53Client,
  zoneId: string,
  key: ZoneKey,
  change: Change,
  ip: string,
) {
  if (change.action === 'keep') return;
  await retryNotFound('Route53 ChangeResourceRecordSets', () =>
    route53.send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: zoneId,
        ChangeBatch: {
          Changes: [
            {
              Action: 'UPSERT',
              ResourceRecordSet: {
                Name: `${ZONES[key].name}.`,
                Type: 'A',
                TTL: 60,
                ResourceRecords: [{ Value: ip }],
              },
            },
          ],
        },
      }),
    ),
  );
}

export async function removeZone(route53: Route53Client, zone: FoundResource): Promise<void> {
  await ignoreMissing('Route53 delete zone', async () => {
    const records = await route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: zone.id }));
    const own = (records.ResourceRecordSets ?? []).filter((r) => r.Type !== 'SOA' && r.Type !== 'NS');
    if (own.length > 0) {
      await route53.send(
        new ChangeResourceRecordSetsCommand({
          HostedZoneId: zone.id,
          ChangeBatch: { Changes: own.map((r) => ({ Action: 'DELETE', ResourceRecordSet: r })) },
        }),
      );
    }
    await route53.send(new DeleteHostedZoneCommand({ Id: zone.id }));
  });
}
