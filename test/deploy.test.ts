/**
 * The shipped deployment files (deploy/) against the code: each parses, and what it says the relay is given
 * (arguments, environment, secrets, ports, paths, metrics) is what the relay reads and answers. The nginx
 * file runs in the load-balancer tests (faults.test.ts); the Workers settings in edges.test.ts.
 */
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { parseServeArgs } from '../src/relay/node/config.js';
import { PromMetrics } from '../src/relay/node/prom-metrics.js';
import { WS_PATH, type Relay } from '../src/relay/node/server.js';
import { WRANGLER } from './helpers/edges.js';
import { renderFerryConf } from './helpers/nginx.js';
import { startRelay } from './helpers/relay.js';

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- manifests are free-form YAML
const read = (path: string): string => readFileSync(join('deploy', path), 'utf8');
const k8s = (name: string): Doc => {
  const docs = parseAllDocuments(read(`kubernetes/${name}.yaml`));
  for (const d of docs) expect(d.errors, name).toEqual([]);
  return docs[0]!.toJS() as Doc;
};

let relay: Relay;
beforeAll(async () => (relay = await startRelay()));
afterAll(() => relay.close());

/** What `ferry serve` makes of these arguments and environment, with each secret file holding `secrets[file]`. */
function serveConfig(args: string[], env: Record<string, string>, secrets: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-deploy-'));
  const local = args.map((a) => (a in secrets ? join(dir, a.replace(/\//g, '_')) : a));
  for (const [file, value] of Object.entries(secrets)) writeFileSync(join(dir, file.replace(/\//g, '_')), `${value}\n`);
  const config = parseServeArgs(local.slice(local.indexOf('serve') + 1), env);
  if (config === 'help') throw new Error('help');
  return config;
}

describe('Kubernetes manifests', () => {
  const deployment = k8s('deployment');
  const container = deployment.spec.template.spec.containers[0] as Doc;
  const secret = k8s('secret');
  const service = k8s('service');

  it('start the relay as the code reads its arguments, environment and secret files', () => {
    const env = Object.fromEntries((container.env as Doc[]).map((e) => [e.name, e.value]));
    const mount = (container.volumeMounts as Doc[])[0]!.mountPath as string;
    const items = deployment.spec.template.spec.volumes[0].secret.items as Doc[];
    expect(deployment.spec.template.spec.volumes[0].secret.secretName).toBe(secret.metadata.name);
    const files = Object.fromEntries(items.map((i) => [`${mount}/${i.path}`, secret.stringData[i.key] as string]));
    for (const file of container.args.filter((a: string) => a.startsWith(mount))) expect(Object.keys(files)).toContain(file);
    const config = serveConfig(container.args, env, files);
    expect(config).toMatchObject({ host: '0.0.0.0', trustProxy: true, password: secret.stringData.password, ticketSecrets: [secret.stringData['ticket-secret']] });
    expect(config.port).toBe((container.ports as Doc[])[0]!.containerPort);
    expect(config.metricsToken).toBe(secret.stringData['metrics-token']);
  });

  it('probe a path the relay answers, on the port the Service sends to', async () => {
    for (const probe of [container.readinessProbe, container.livenessProbe]) {
      expect(probe.httpGet.port).toBe(container.ports[0].name);
      expect((await fetch(`http://127.0.0.1:${relay.port}${probe.httpGet.path}`)).status).toBe(200);
    }
    expect(service.spec.ports[0].targetPort).toBe(container.ports[0].name);
    expect(service.spec.selector).toEqual(deployment.spec.selector.matchLabels);
  });

  it('route the Ingress to the Service, and its host is the origin the relays accept', () => {
    const ingress = k8s('ingress');
    const rule = ingress.spec.rules[0] as Doc;
    expect(rule.http.paths[0].backend.service).toEqual({ name: service.metadata.name, port: { name: service.spec.ports[0].name } });
    const origins = (container.env as Doc[]).find((e) => e.name === 'FERRY_ALLOW_ORIGINS')!.value as string;
    expect(origins.split(',')).toContain(`https://${rule.host}`);
    expect(ingress.metadata.annotations['nginx.ingress.kubernetes.io/proxy-buffering']).toBe('off');
  });

  it('scale on a metric the relay exports, for the Deployment it names', () => {
    const hpa = k8s('hpa');
    expect(hpa.spec.scaleTargetRef.name).toBe(deployment.metadata.name);
    const metric = (hpa.spec.metrics as Doc[]).find((m) => m.type === 'Pods')!.pods.metric.name as string;
    expect(new PromMetrics().registry.getSingleMetric(metric)).toBeDefined();
  });

  it('list every manifest in the kustomization', () => {
    expect(k8s('kustomization').resources.sort()).toEqual(['deployment.yaml', 'hpa.yaml', 'ingress.yaml', 'secret.yaml', 'service.yaml']);
  });
});

describe('compose.yaml', () => {
  const compose = parseYaml(read('compose.yaml')) as Doc;
  const relayService = compose.services.relay as Doc;

  it('starts relays the code accepts, behind the nginx file the tests run, reaching only the origin beside them', () => {
    const secrets = Object.fromEntries(Object.keys(compose.secrets).map((name) => [`/run/secrets/${name}`, 'x'.repeat(40)]));
    const env = { ...relayService.environment, FERRY_ALLOW_ORIGINS: 'http://localhost:8080' } as Record<string, string>;
    const config = serveConfig(relayService.command, env, secrets);
    expect(config).toMatchObject({ host: '0.0.0.0', port: 8080, trustProxy: true, allowHosts: [{ host: 'media', port: 80 }] });
    expect(Object.keys(compose.services)).toContain('media');
    const mounted = (compose.services.balancer.volumes as string[])[0]!.split(':')[0]!;
    expect(resolve('deploy', mounted)).toBe(resolve('deploy/nginx/ferry.conf'));
    // The nginx file's upstream is this service, on its port.
    expect(read('nginx/ferry.conf')).toMatch(new RegExp(`server relay:${config.port} `));
    expect(existsSync(resolve('deploy', relayService.build.context, relayService.build.dockerfile))).toBe(true);
  });
});

describe('the nginx file', () => {
  it('passes WebSocket upgrades and does not buffer; the tests render it with their own relays', () => {
    const conf = renderFerryConf([1111, 2222], 3333);
    expect(conf).toMatch(/server 127\.0\.0\.1:1111 .*\n\s*server 127\.0\.0\.1:2222 /);
    expect(conf).toMatch(/listen 127\.0\.0\.1:3333;/);
    expect(conf).toMatch(/proxy_set_header Upgrade \$http_upgrade;/);
    expect(conf).toMatch(/proxy_buffering off;/);
    expect(WS_PATH).toBe('/ws');
  });
});

describe('wrangler.json', () => {
  it('deploys the built Worker with the page as its assets', () => {
    const base = dirname(resolve('deploy/workers/wrangler.json'));
    expect(resolve(base, WRANGLER.main)).toBe(resolve('dist/worker/worker.js'));
    expect(resolve(base, WRANGLER.assets.directory)).toBe(resolve('dist/app'));
    expect(Object.keys(WRANGLER.vars).every((name) => name.startsWith('FERRY_'))).toBe(true);
  });
});
