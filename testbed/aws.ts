/**
 * moto server (ACM, Route 53, EKS, STS, Secrets Manager, SNS, CloudWatch,
 * EventBridge on one port) and the AWS state a user of the guide would have
 * before running kserve-edge.
 */
import { ACMClient } from '@aws-sdk/client-acm';
import { CreateClusterCommand, EKSClient } from '@aws-sdk/client-eks';
import { ChangeResourceRecordSetsCommand, CreateHostedZoneCommand, DeleteHostedZoneCommand, Route53Client } from '@aws-sdk/client-route-53';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CreateTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { freePort, httpRequest, LOOPBACK, waitFor } from './lib/net';
import type { ManagedProcess, ProcessSupervisor } from './lib/proc';

export const API_TOKENS_SECRET_ID = 'kserve-edge/api-tokens';
export const DEX_LOGIN_SECRET_ID = 'kserve-edge/dex-login';
export const SNS_TOPIC_NAME = 'kserve-edge-failures';
export const DEX_USERNAME = 'user@example.com';

export interface AwsClients {
  acm: ACMClient;
  route53: Route53Client;
  eks: EKSClient;
  secretsManager: SecretsManagerClient;
  sns: SNSClient;
  destroy(): void;
}

export function awsClients(motoUrl: string, region: string): AwsClients {
  const common = { endpoint: motoUrl, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' }, maxAttempts: 2 };
  const c = {
    acm: new ACMClient({ ...common, region }),
    route53: new Route53Client({ ...common, region: 'us-east-1' }),
    eks: new EKSClient({ ...common, region }),
    secretsManager: new SecretsManagerClient({ ...common, region }),
    sns: new SNSClient({ ...common, region }),
  };
  return { ...c, destroy: () => Object.values(c).forEach((x) => x.destroy()) };
}

/** Letters and digits, `length` long, from a CSPRNG. */
export function randomToken(length = 32): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = randomBytes(length * 2);
  let out = '';
  for (const b of bytes) {
    if (b >= 248) continue; // 248 = 62 * 4: keep the distribution uniform
    out += alphabet[b % 62];
    if (out.length === length) break;
  }
  return out.length === length ? out : randomToken(length);
}

export async function startMoto(
  supervisor: ProcessSupervisor,
  motoServer: string,
  runDir: string,
  acmValidationWaitSeconds: number,
): Promise<{ url: string; proc: ManagedProcess }> {
  const port = await freePort();
  const proc = supervisor.start('moto', motoServer, ['-H', LOOPBACK, '-p', String(port)], {
    cwd: runDir,
    env: {
      ...process.env,
      MOTO_ACM_VALIDATION_WAIT: String(acmValidationWaitSeconds),
      // No Docker here: Lambda invocations are not executed.
      MOTO_DOCKER_NETWORK_MODE: '',
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
    },
  });
  const url = `http://${LOOPBACK}:${port}`;
  await waitFor(async () => (await httpRequest(`${url}/moto-api/data.json`, { timeoutMs: 1000 })).status === 200, {
    what: 'moto server',
    timeoutMs: 60_000,
    intervalMs: 150,
    proc,
  });
  return { url, proc };
}

export interface SeededAws {
  hostedZoneId: string;
  snsTopicArn: string;
  clusterArn: string;
}

export async function seedAws(
  clients: AwsClients,
  o: { domain: string; clusterName: string; region: string; apiTokens: string[]; dexLogin: { username: string; password: string } },
): Promise<SeededAws> {
  // moto draws 22 random [A-Z0-9] characters; real Route 53 ids start with "Z"
  // (and the request schema insists on it), so redraw until one does.
  let hostedZoneId = '';
  for (let attempt = 0; attempt < 2000 && !/^Z[A-Z0-9]+$/.test(hostedZoneId); attempt++) {
    if (hostedZoneId) await clients.route53.send(new DeleteHostedZoneCommand({ Id: hostedZoneId }));
    const zone = await clients.route53.send(
      new CreateHostedZoneCommand({
        Name: o.domain,
        CallerReference: `kserve-edge-testbed-${randomToken(12)}`,
        HostedZoneConfig: { Comment: 'kserve-edge testbed', PrivateZone: false },
      }),
    );
    hostedZoneId = (zone.HostedZone?.Id ?? '').replace(/^\/hostedzone\//, '');
  }
  if (!/^Z[A-Z0-9]+$/.test(hostedZoneId)) throw new Error(`moto CreateHostedZone gave no Z… id (last: ${hostedZoneId})`);

  const cluster = await clients.eks.send(
    new CreateClusterCommand({
      name: o.clusterName,
      roleArn: 'arn:aws:iam::123456789012:role/eksctl-kubeflow-cluster-ServiceRole',
      resourcesVpcConfig: { subnetIds: ['subnet-0a1b2c3d4e5f60001', 'subnet-0a1b2c3d4e5f60002'], endpointPublicAccess: true },
      version: '1.30',
    }),
  );

  const topic = await clients.sns.send(new CreateTopicCommand({ Name: SNS_TOPIC_NAME }));

  // Both secrets exist in either mode, so a test can switch the request's provider.
  await clients.secretsManager.send(
    new CreateSecretCommand({ Name: API_TOKENS_SECRET_ID, SecretString: JSON.stringify({ headerValues: o.apiTokens }) }),
  );
  await clients.secretsManager.send(new CreateSecretCommand({ Name: DEX_LOGIN_SECRET_ID, SecretString: JSON.stringify(o.dexLogin) }));
  return { hostedZoneId, snsTopicArn: topic.TopicArn ?? '', clusterArn: cluster.cluster?.arn ?? '' };
}

/** UPSERT one CNAME (TTL 300), as a user following the load-balancer guide would. */
export async function upsertCname(clients: AwsClients, hostedZoneId: string, name: string, value: string): Promise<void> {
  await clients.route53.send(
    new ChangeResourceRecordSetsCommand({
      HostedZoneId: hostedZoneId,
      ChangeBatch: {
        Changes: [{ Action: 'UPSERT', ResourceRecordSet: { Name: name, Type: 'CNAME', TTL: 300, ResourceRecords: [{ Value: value }] } }],
      },
    }),
  );
}

/** bcrypt hash (cost 10) for Dex's staticPasswords, from the venv's `bcrypt` (password on stdin). */
export function bcryptHash(python: string, password: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      python,
      ['-c', 'import bcrypt,sys; print(bcrypt.hashpw(sys.stdin.read().encode(), bcrypt.gensalt(10)).decode())'],
      { timeout: 20_000 },
      (err, stdout) => {
        if (err) return reject(err);
        const hash = String(stdout).trim();
        if (!hash.startsWith('$2')) return reject(new Error('bcrypt did not return a hash'));
        resolve(hash);
      },
    );
    child.stdin?.end(password);
  });
}
