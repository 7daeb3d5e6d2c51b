/**
 * The "EKS control plane": etcd + kube-apiserver (RBAC on, static tokens),
 * and the cluster state Kubeflow + KServe leave behind: CRDs, namespaces,
 * profiles, Knative's `config-domain` and `config-network`, KServe's
 * `inferenceservice-config` (in `kubeflow`), the sample InferenceService, the
 * workflow's RBAC, and (Dex) the `istio-ingress` of the load-balancer guide.
 */
import { loadAllYaml } from '@kubernetes/client-node';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { KubeClient, type KubeConnection, type KubeObject } from './lib/kube';
import { freePort, httpRequest, LOOPBACK, waitFor } from './lib/net';
import type { Pki } from './lib/pki';
import type { ManagedProcess, ProcessSupervisor } from './lib/proc';
import { randomToken } from './aws';

export const WORKFLOW_USER = 'kserve-edge-workflow';
export const WORKFLOW_GROUP = 'kserve-edge:workflow';
export const PROFILE_OWNER = 'user@example.com';
export const MODEL_NAME = 'sklearn-irisv2';

export interface ControlPlane {
  server: string;
  caFile: string;
  caPem: string;
  admin: KubeConnection;
  workflow: KubeConnection;
  workflowTokenFile: string;
  adminKubeconfig: string;
  workflowKubeconfig: string;
  etcd: ManagedProcess;
  /** etcd's client URL (plain HTTP on loopback); the token issuer's Dex keeps its storage there too. */
  etcdUrl: string;
  apiserver: ManagedProcess;
  /** Starts kube-apiserver again with the same flags, port and etcd (after it was stopped); resolves once /readyz is 200 and the front door is open. */
  relaunchApiserver: () => Promise<ManagedProcess>;
  /** Closes the front door (clients get ECONNREFUSED, open connections are cut); before stopping kube-apiserver, and at teardown. */
  closeFrontDoor: () => Promise<void>;
}

/**
 * The control plane's front door, as a managed control plane has one: EKS
 * serves kube-apiserver behind a load balancer whose health check is
 * `/readyz`, so a client never reaches an API server that is still starting.
 * A starting kube-apiserver answers before it is ready: until its informers
 * have synced, the RBAC authorizer knows no bindings and every non-admin
 * request is refused with 403 (`/readyz` reports `informer-sync` and
 * `poststarthook/rbac/bootstrap-roles` not ready meanwhile). Clients connect
 * to `server` (this port); kube-apiserver listens on a private one, and the
 * door listens only while it is ready. A TCP pass-through: TLS ends in
 * kube-apiserver as before.
 */
class FrontDoor {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  constructor(
    private readonly port: number,
    private readonly backendPort: number,
  ) {}

  async open(): Promise<void> {
    if (this.server) return;
    const server = createServer((client) => {
      const upstream = connect(this.backendPort, LOOPBACK);
      for (const sock of [client, upstream]) {
        this.sockets.add(sock);
        sock.on('close', () => this.sockets.delete(sock));
        sock.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, LOOPBACK, () => resolve());
    });
    // The testbed's stop() closes it; unref keeps a forgotten door from holding a test process open.
    server.unref();
    this.server = server;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    for (const sock of this.sockets) sock.destroy();
    this.sockets.clear();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

function kubeconfig(name: string, server: string, caPem: string, user: string, token: string): string {
  return JSON.stringify(
    {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name, cluster: { server, 'certificate-authority-data': Buffer.from(caPem).toString('base64') } }],
      users: [{ name: user, user: { token } }],
      contexts: [{ name, context: { cluster: name, user } }],
      'current-context': name,
    },
    null,
    2,
  );
}

export async function startControlPlane(o: {
  supervisor: ProcessSupervisor;
  pki: Pki;
  etcdBin: string;
  apiserverBin: string;
  runDir: string;
}): Promise<ControlPlane> {
  const dir = join(o.runDir, 'cluster');
  mkdirSync(dir, { recursive: true });
  const [clientPort, peerPort, apiPort, backendPort] = [await freePort(), await freePort(), await freePort(), await freePort()];

  const etcd = o.supervisor.start(
    'etcd',
    o.etcdBin,
    [
      '--name=testbed',
      `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=http://${LOOPBACK}:${clientPort}`,
      `--advertise-client-urls=http://${LOOPBACK}:${clientPort}`,
      `--listen-peer-urls=http://${LOOPBACK}:${peerPort}`,
      `--initial-advertise-peer-urls=http://${LOOPBACK}:${peerPort}`,
      `--initial-cluster=testbed=http://${LOOPBACK}:${peerPort}`,
      '--unsafe-no-fsync',
      '--log-level=warn',
    ],
    { cwd: dir, stopLast: true },
  );

  // Certificates meanwhile: a cluster CA (as EKS has its own), the serving cert, the SA key.
  const ca = await o.pki.createCa(dir, 'cluster-ca', 'kubernetes (testbed)');
  const serving = await o.pki.issueLeaf(ca, dir, 'apiserver', {
    commonName: 'kube-apiserver',
    dnsNames: ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc'],
    ips: [LOOPBACK],
    days: 30,
  });
  const sa = await o.pki.keyPair(dir, 'service-account');
  const adminToken = randomToken(40);
  const workflowToken = randomToken(40);
  const tokenFile = join(dir, 'tokens.csv');
  writeFileSync(
    tokenFile,
    `${adminToken},testbed-admin,testbed-admin,"system:masters"\n${workflowToken},${WORKFLOW_USER},${WORKFLOW_USER},"${WORKFLOW_GROUP}"\n`,
    { mode: 0o600 },
  );
  const workflowTokenFile = join(dir, 'workflow.token');
  writeFileSync(workflowTokenFile, `${workflowToken}\n`, { mode: 0o600 });

  await waitFor(
    async () => (await httpRequest(`http://${LOOPBACK}:${clientPort}/health`, { timeoutMs: 1000 })).body.includes('"health":"true"'),
    {
      what: 'etcd /health',
      timeoutMs: 30_000,
      proc: etcd,
    },
  );

  const server = `https://${LOOPBACK}:${apiPort}`;
  const launchApiserver = (): ManagedProcess =>
    o.supervisor.start(
      'kube-apiserver',
      o.apiserverBin,
      [
        `--etcd-servers=http://${LOOPBACK}:${clientPort}`,
        // Clients come through the front door on apiPort (see FrontDoor).
        `--secure-port=${backendPort}`,
        `--bind-address=${LOOPBACK}`,
        `--advertise-address=${LOOPBACK}`,
        `--tls-cert-file=${serving.certFile}`,
        `--tls-private-key-file=${serving.keyFile}`,
        `--cert-dir=${dir}`,
        '--service-cluster-ip-range=10.0.0.0/24',
        '--allow-privileged=true',
        '--disable-admission-plugins=ServiceAccount',
        '--authorization-mode=RBAC',
        `--token-auth-file=${tokenFile}`,
        `--service-account-issuer=${server}/`,
        `--service-account-key-file=${sa.publicKeyFile}`,
        `--service-account-signing-key-file=${sa.privateKeyFile}`,
        '--enable-priority-and-fairness=false',
        '--endpoint-reconciler-type=none',
        '--profiling=false',
        '--v=1',
      ],
      { cwd: dir },
    );
  const admin: KubeConnection = { server, caData: ca.certPem, token: adminToken };
  const workflow: KubeConnection = { server, caData: ca.certPem, token: workflowToken };
  const door = new FrontDoor(apiPort, backendPort);
  const waitReady = async (proc: ManagedProcess): Promise<void> => {
    // The health check of the door: straight to kube-apiserver's private port.
    const probe = new KubeClient({ ...admin, server: `https://${LOOPBACK}:${backendPort}` });
    try {
      await waitFor(async () => (await probe.request('GET', '/readyz', { timeoutMs: 2000 })).status === 200, {
        what: 'kube-apiserver /readyz',
        timeoutMs: 90_000,
        intervalMs: 200,
        proc,
      });
    } finally {
      probe.close();
    }
    await door.open();
  };
  const apiserver = launchApiserver();
  await waitReady(apiserver);
  const adminKubeconfig = join(dir, 'admin.kubeconfig');
  const workflowKubeconfig = join(dir, 'workflow.kubeconfig');
  writeFileSync(adminKubeconfig, kubeconfig('testbed', server, ca.certPem, 'testbed-admin', adminToken), { mode: 0o600 });
  writeFileSync(workflowKubeconfig, kubeconfig('testbed', server, ca.certPem, WORKFLOW_USER, workflowToken), { mode: 0o600 });
  return {
    server,
    caFile: ca.certFile,
    caPem: ca.certPem,
    admin,
    workflow,
    workflowTokenFile,
    adminKubeconfig,
    workflowKubeconfig,
    etcd,
    etcdUrl: `http://${LOOPBACK}:${clientPort}`,
    apiserver,
    relaunchApiserver: async () => {
      const proc = launchApiserver();
      await waitReady(proc);
      return proc;
    },
    closeFrontDoor: () => door.close(),
  };
}

// ------------------------------------------------------------------ manifests

function crd(o: {
  group: string;
  kind: string;
  plural: string;
  singular: string;
  scope: 'Namespaced' | 'Cluster';
  versions: Array<{ name: string; storage: boolean }>;
  shortNames?: string[];
  categories?: string[];
  printerColumns?: Array<{ name: string; type: string; jsonPath: string }>;
}): KubeObject {
  const schema = {
    openAPIV3Schema: {
      type: 'object',
      properties: {
        spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
        status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
      },
    },
  };
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${o.plural}.${o.group}` },
    spec: {
      group: o.group,
      scope: o.scope,
      names: {
        kind: o.kind,
        listKind: `${o.kind}List`,
        plural: o.plural,
        singular: o.singular,
        ...(o.shortNames ? { shortNames: o.shortNames } : {}),
        ...(o.categories ? { categories: o.categories } : {}),
      },
      versions: o.versions.map((v) => ({
        name: v.name,
        served: true,
        storage: v.storage,
        schema,
        subresources: { status: {} },
        ...(o.printerColumns ? { additionalPrinterColumns: o.printerColumns } : {}),
      })),
    },
  };
}

export const CRDS: KubeObject[] = [
  crd({
    group: 'security.istio.io',
    kind: 'AuthorizationPolicy',
    plural: 'authorizationpolicies',
    singular: 'authorizationpolicy',
    scope: 'Namespaced',
    versions: [
      { name: 'v1', storage: false },
      { name: 'v1beta1', storage: true },
    ],
    shortNames: ['ap'],
    categories: ['istio-io', 'security-istio-io'],
  }),
  // Istio's RequestAuthentication (security.istio.io, v1 and v1beta1 served as for AuthorizationPolicy;
  // the storage version here is not checked against Istio's chart). JWT mode writes one on Kubeflow 1.9+
  // (issue 12).
  crd({
    group: 'security.istio.io',
    kind: 'RequestAuthentication',
    plural: 'requestauthentications',
    singular: 'requestauthentication',
    scope: 'Namespaced',
    versions: [
      { name: 'v1', storage: false },
      { name: 'v1beta1', storage: true },
    ],
    shortNames: ['ra'],
    categories: ['istio-io', 'security-istio-io'],
  }),
  crd({
    group: 'serving.kserve.io',
    kind: 'InferenceService',
    plural: 'inferenceservices',
    singular: 'inferenceservice',
    scope: 'Namespaced',
    versions: [{ name: 'v1beta1', storage: true }],
    shortNames: ['isvc'],
    printerColumns: [
      { name: 'URL', type: 'string', jsonPath: '.status.url' },
      { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
    ],
  }),
  crd({
    group: 'kubeflow.org',
    kind: 'Profile',
    plural: 'profiles',
    singular: 'profile',
    scope: 'Cluster',
    versions: [{ name: 'v1', storage: true }],
  }),
];

/** Knative Serving's `config-domain` as released (v1.0.x, which Kubeflow 1.5-1.6 ship): only `_example`. */
export function knativeConfigDomain(): KubeObject {
  const example = `################################
#                              #
#    EXAMPLE CONFIGURATION     #
#                              #
################################

# This block is not actually functional configuration,
# but serves to illustrate the available configuration
# options and document them in a way that is accessible
# to users that \`kubectl edit\` this config map.
#
# These sample configuration options may be copied out of
# this example block and unindented to be in the data block
# to actually change the configuration.

# Default value for domain.
# Although it will match all routes, it is the least-specific rule so it
# will only be used if no other domain matches.
example.com: |

# These are example settings of domain.
# example.org will be used for routes having app=nonprofit.
example.org: |
  selector:
    app: nonprofit

# Routes having the cluster domain suffix (by default 'svc.cluster.local')
# will not be exposed through Ingress. You can define your own label
# selector to assign that domain suffix to your Route here, or you can set
# the label
#    "networking.knative.dev/visibility=cluster-local"
# to achieve the same effect.  This shows how to make routes having
# the label app=secret only exposed to the local cluster.
svc.cluster.local: |
  selector:
    app: secret
`;
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: 'config-domain',
      namespace: 'knative-serving',
      labels: {
        'app.kubernetes.io/part-of': 'knative-serving',
        'app.kubernetes.io/version': '1.0.1',
        'serving.knative.dev/release': 'v1.0.1',
      },
      annotations: { 'knative.dev/example-checksum': '81552d0b' },
    },
    data: { _example: example },
  };
}

/** Knative Serving's `config-network` as released: only `_example`, so `domain-template` is Knative's default. */
export function knativeConfigNetwork(): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: 'config-network',
      namespace: 'knative-serving',
      labels: { 'app.kubernetes.io/part-of': 'knative-serving', 'serving.knative.dev/release': 'v1.0.1' },
    },
    data: {
      _example: [
        '# domain-template specifies the golang text template string to use',
        "# when constructing the Knative service's DNS name. The default",
        '# value is "{{.Name}}.{{.Namespace}}.{{.Domain}}".',
        'domain-template: "{{.Name}}.{{.Namespace}}.{{.Domain}}"',
        '',
      ].join('\n'),
    },
  };
}

/**
 * KServe's `inferenceservice-config` (its keys that decide hostnames), as
 * Kubeflow installs it into `kubeflow`: `deploy.defaultDeploymentMode` and the
 * `ingress` JSON with KServe's default `domainTemplate` and `ingressDomain`.
 */
export function kserveInferenceServiceConfig(defaultDeploymentMode: string, namespace = 'kubeflow'): KubeObject {
  const ingress = {
    enableGatewayApi: false,
    ingressGateway: 'kubeflow/kubeflow-gateway',
    ingressService: 'istio-ingressgateway.istio-system.svc.cluster.local',
    localGateway: 'knative-serving/knative-local-gateway',
    localGatewayService: 'knative-local-gateway.istio-system.svc.cluster.local',
    ingressDomain: 'example.com',
    ingressClassName: 'istio',
    domainTemplate: '{{ .Name }}-{{ .Namespace }}.{{ .IngressDomain }}',
    urlScheme: 'http',
    disableIstioVirtualHost: false,
  };
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'inferenceservice-config', namespace, labels: { app: 'kserve', 'app.kubernetes.io/name': 'kserve' } },
    data: {
      deploy: JSON.stringify({ defaultDeploymentMode }, null, 2),
      ingress: JSON.stringify(ingress, null, 2),
    },
  };
}

/** The profile namespace as Kubeflow's profile controller creates it. */
function profileNamespace(name: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name,
      labels: {
        'app.kubernetes.io/part-of': 'kubeflow-profile',
        'istio-injection': 'enabled',
        'katib.kubeflow.org/metrics-collector-injection': 'enabled',
        'pipelines.kubeflow.org/enabled': 'true',
        'serving.kubeflow.org/inferenceservice': 'enabled',
      },
      annotations: { owner: PROFILE_OWNER },
    },
  };
}

/** KServe's `sklearn-irisv2` sample (docs/samples/v1beta1/sklearn/v2). */
export function sampleInferenceService(namespace: string): KubeObject {
  return {
    apiVersion: 'serving.kserve.io/v1beta1',
    kind: 'InferenceService',
    metadata: { name: MODEL_NAME, namespace },
    spec: { predictor: { sklearn: { protocolVersion: 'v2', storageUri: 'gs://seldon-models/sklearn/iris' } } },
  };
}

/** The IngressClass `alb` as the AWS Load Balancer Controller's Helm chart creates it. */
export function albIngressClass(): KubeObject {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'IngressClass',
    metadata: { name: 'alb', labels: { 'app.kubernetes.io/name': 'aws-load-balancer-controller' } },
    spec: { controller: 'ingress.k8s.aws/alb' },
  };
}

/**
 * `spec.rules` of the guide's Ingresses (kubeflow-manifests
 * `awsconfigs/common/istio-ingress`): every path to the istio-ingressgateway
 * Service, port 80.
 */
export function gatewayRules(): Array<Record<string, unknown>> {
  return [
    {
      http: {
        paths: [
          {
            path: '/*',
            pathType: 'ImplementationSpecific',
            backend: { service: { name: 'istio-ingressgateway', port: { number: 80 } } },
          },
        ],
      },
    },
  ];
}

/** The api overlay's `actions.istio-ingressgateway` annotation: forward to the gateway's target group. */
export const FORWARD_TO_GATEWAY =
  '{"Type":"forward","ForwardConfig":{"TargetGroups":[{"ServiceName":"istio-ingressgateway","ServicePort":"80","Weight":100}]}}';

/** `istio-ingress` as kfm's load-balancer guide leaves it (base overlay, HTTP:80). */
export function guideIstioIngress(): KubeObject {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: {
      name: 'istio-ingress',
      namespace: 'istio-system',
      labels: { 'kustomize.component': 'istio-ingress' },
      annotations: {
        'kubernetes.io/ingress.class': 'alb',
        'alb.ingress.kubernetes.io/load-balancer-attributes': 'routing.http.drop_invalid_header_fields.enabled=true',
        'alb.ingress.kubernetes.io/scheme': 'internet-facing',
        'alb.ingress.kubernetes.io/listen-ports': '[{"HTTP": 80}]',
        'alb.ingress.kubernetes.io/target-type': 'ip',
      },
    },
    spec: {
      rules: gatewayRules(),
    },
  };
}

async function waitEstablished(kube: KubeClient, crdObject: KubeObject): Promise<void> {
  const name = crdObject.metadata.name;
  const spec = crdObject.spec as { group: string; versions: Array<{ name: string }>; names: { kind: string } };
  await waitFor(
    async () => {
      const c = await kube.get('apiextensions.k8s.io/v1', 'CustomResourceDefinition', undefined, name);
      const conds = (c?.status as { conditions?: Array<{ type: string; status: string }> } | undefined)?.conditions ?? [];
      if (!conds.some((x) => x.type === 'Established' && x.status === 'True')) return false;
      // Established comes before the storage is ready ("429 storage is (re)initializing").
      for (const v of spec.versions) await kube.list(`${spec.group}/${v.name}`, spec.names.kind);
      return true;
    },
    { what: `CRD ${name} Established and listable`, timeoutMs: 30_000, intervalMs: 100 },
  );
}

const MANAGER = 'kubectl';

/**
 * Installs the cluster state; `rbacFile` (deploy/rbac.yaml) is applied when it
 * exists. Returns the names of the objects it applied from that file.
 */
export async function bootstrapCluster(
  kube: KubeClient,
  o: {
    namespaces: string[];
    authProvider: 'cognito' | 'dex';
    rbacFile?: string;
    /** `inferenceservice-config`'s `deploy.defaultDeploymentMode` (default `Serverless`, KServe's old name for Knative). */
    kserveDefaultMode?: string;
    log: (m: string) => void;
  },
): Promise<{ rbacApplied: string[] }> {
  await Promise.all(CRDS.map((c) => kube.apply(c, { fieldManager: MANAGER, force: true })));
  await Promise.all(CRDS.map((c) => waitEstablished(kube, c)));

  const system = ['knative-serving', 'istio-system', 'kubeflow', 'auth'].map((name) => ({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name },
  }));
  await Promise.all([...system, ...o.namespaces.map(profileNamespace)].map((n) => kube.apply(n, { fieldManager: MANAGER, force: true })));

  const objects: KubeObject[] = [
    knativeConfigDomain(),
    knativeConfigNetwork(),
    kserveInferenceServiceConfig(o.kserveDefaultMode ?? 'Serverless'),
    // The AWS Load Balancer Controller's chart installs this class; our Ingress names it in spec.ingressClassName.
    albIngressClass(),
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {
        name: 'istio-ingressgateway',
        namespace: 'istio-system',
        labels: { app: 'istio-ingressgateway', istio: 'ingressgateway' },
      },
      spec: {
        type: 'ClusterIP',
        selector: { app: 'istio-ingressgateway', istio: 'ingressgateway' },
        ports: [
          { name: 'status-port', port: 15021, targetPort: 15021, protocol: 'TCP' },
          { name: 'http2', port: 80, targetPort: 8080, protocol: 'TCP' },
          { name: 'https', port: 443, targetPort: 8443, protocol: 'TCP' },
        ],
      },
    },
    ...o.namespaces.map((ns) => ({
      apiVersion: 'kubeflow.org/v1',
      kind: 'Profile',
      metadata: { name: ns },
      spec: { owner: { kind: 'User', name: PROFILE_OWNER } },
    })),
    ...o.namespaces.map(sampleInferenceService),
  ];
  await Promise.all(objects.map((obj) => kube.apply(obj, { fieldManager: MANAGER, force: true })));

  if (o.authProvider === 'dex') {
    await kube.apply(
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'istio-ingress-parameters', namespace: 'istio-system', labels: { 'kustomize.component': 'istio-ingress' } },
        data: { loadBalancerScheme: 'internet-facing' },
      },
      { fieldManager: MANAGER, force: true },
    );
    // Created once (a create: an Update by field manager "kubectl", no last-applied configuration):
    // nothing re-applies it, so a run may take its two annotations over. An Ingress that
    // `kubectl apply`, Argo CD or Flux keeps applying is refused unless adopt
    // (shared/plan/fieldOwnership.ts; test/integration/gitops.test.ts).
    await kube.create(guideIstioIngress(), MANAGER);
  }

  const rbacApplied: string[] = [];
  if (o.rbacFile && existsSync(o.rbacFile)) {
    const docs = (loadAllYaml(readFileSync(o.rbacFile, 'utf8')) as Array<KubeObject | null>).filter(
      (d): d is KubeObject => !!d && typeof d === 'object' && 'kind' in d,
    );
    for (const doc of docs) {
      await kube.apply(doc, { fieldManager: 'testbed-admin', force: true });
      rbacApplied.push(`${doc.kind}/${doc.metadata.namespace ? `${doc.metadata.namespace}/` : ''}${doc.metadata.name}`);
    }
    o.log(`applied ${o.rbacFile}: ${rbacApplied.join(', ')}`);
  } else {
    o.log(`no ${o.rbacFile ?? 'RBAC file'}: the workflow user ${WORKFLOW_USER} has no permissions beyond the defaults`);
  }
  return { rbacApplied };
}
