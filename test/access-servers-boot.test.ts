import { RunInstancesCommand } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseBootCheck } from '../src/access-servers/boot-check';
import { verifyAccessServerBoot } from '../src/access-servers/verify-boot';
import { resolveAmi } from '../src/aws/instances';
import { InstanceBootError } from '../src/errors';
import { rawClients } from './helpers/deploy-fixture';
import { type MotoServer, startMoto } from './helpers/moto';

describe('access-server boot verification', () => {
  it('reads the boot check: up, booting, failed with the log tail, or no answer at all', () => {
    expect(parseBootCheck('WAVESHIFT-BOOT up\n')).toEqual({ state: 'up' });
    expect(parseBootCheck('WAVESHIFT-BOOT booting\n')).toEqual({ state: 'booting' });
    expect(parseBootCheck('WAVESHIFT-BOOT failed: u is failed, wg0 is absent\nline 1\nline 2\n')).toEqual({
      state: 'failed',
      reason: 'u is failed, wg0 is absent',
      logTail: 'line 1\nline 2',
    });
    expect(parseBootCheck('', 'sh: 1: wg: not found')).toEqual({
      state: 'failed',
      reason: 'the boot check printed no result',
      logTail: 'sh: 1: wg: not found',
    });
  });

  describe('through SSM (moto)', () => {
    let moto: MotoServer;
    let instanceId: string;
    beforeAll(async () => {
      moto = await startMoto();
      const { ec2, ssm } = rawClients(moto.endpoint, 'us-east-1');
      const ami = await resolveAmi(ec2, ssm, 'controller', true);
      const out = await ec2.send(
        new RunInstancesCommand({ ImageId: ami.imageId, InstanceType: 't3.micro', MinCount: 1, MaxCount: 1 }),
      );
      instanceId = out.Instances![0]!.InstanceId!;
    });
    afterAll(() => moto.stop());

    const server = () => ({ index: 0, publicKey: 'k', listenPort: 51820, instanceId });

    it('says unverified under the emulator, which runs no command', async () => {
      const { ssm } = rawClients(moto.endpoint, 'us-east-1');
      const result = await verifyAccessServerBoot(ssm, [server()], { emulator: true });
      expect(result.status).toBe('unverified');
    });

    it('treats a command that printed nothing as a failed boot, never as up', async () => {
      // moto reports every command a success with empty output: what a real instance must not be taken for.
      const { ssm } = rawClients(moto.endpoint, 'us-east-1');
      const check = verifyAccessServerBoot(ssm, [server()], { emulator: false, pollMs: 10 });
      await expect(check).rejects.toBeInstanceOf(InstanceBootError);
      await expect(check).rejects.toThrow(/access server 0 \(i-[0-9a-f]+\) did not bring WireGuard up/);
    });
  });
});
