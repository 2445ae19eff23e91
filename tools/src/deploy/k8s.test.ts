import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { eventTypes, names } from '@reelbus/contracts';
import {
  K8S_DIR,
  k8sYamlFiles,
  loadK8sObjects,
  loadKustomization,
  parseK8sFile,
  podContainer,
  probePort,
  serviceEnvVars,
  serviceNames,
  type Container,
  type K8sObject,
} from './deploy-files.ts';

const services = serviceNames();
const objects = loadK8sObjects();
const find = (kind: string, name: string): K8sObject | undefined =>
  objects.find((o) => o.kind === kind && o.metadata.name === name);
const configMap = find('ConfigMap', 'reelbus-env')!;

describe('infra/k8s', () => {
  it('parses every YAML file, and every object has apiVersion, kind and a name', () => {
    const files = k8sYamlFiles();
    expect(files.length).toBeGreaterThan(5);
    for (const f of files) {
      for (const o of parseK8sFile(f)) {
        if (f === 'kustomization.yaml') continue;
        expect(o.apiVersion, f).toBeTruthy();
        expect(o.kind, f).toBeTruthy();
        expect(o.metadata?.name, f).toBeTruthy();
      }
    }
  });

  it('lists every manifest file in kustomization.yaml (examples/ apart) and the NATS config', () => {
    const k = loadKustomization();
    const manifests = k8sYamlFiles().filter((f) => f !== 'kustomization.yaml' && !f.startsWith('examples/'));
    expect([...k.resources].sort()).toEqual(manifests.sort());
    expect(k.namespace).toBe('reelbus');
    expect(k.configMapGenerator?.find((g) => g.name === 'nats-config')?.files).toEqual(['nats/nats.conf']);
    for (const s of services)
      expect(
        k.images?.map((i) => i.name),
        s,
      ).toContain(`reelbus/${s}`);
  });

  it('runs a 3-node NATS JetStream cluster with sync_interval always and routes to each pod', () => {
    const sts = find('StatefulSet', 'nats')!;
    expect(sts.spec?.replicas).toBe(3);
    expect(sts.spec?.serviceName).toBe('nats-headless');
    expect(find('Service', 'nats-headless')?.spec?.clusterIP).toBe('None');
    expect(find('PodDisruptionBudget', 'nats')?.spec?.maxUnavailable).toBe(1);
    const c = podContainer(sts);
    expect(c.image).toMatch(/^nats:2\.(1\d|[2-9]\d)/);
    for (const p of [c.livenessProbe!, c.readinessProbe!]) expect(probePort(c, p)).toBe(8222);
    const conf = readFileSync(join(K8S_DIR, 'nats', 'nats.conf'), 'utf8');
    expect(conf).toMatch(/jetstream\s*\{[^}]*sync_interval:\s*always/);
    expect(conf).toMatch(/server_name:\s*\$POD_NAME/);
    for (const i of [0, 1, 2])
      expect(conf).toContain(`nats://nats-${i}.nats-headless.reelbus.svc.cluster.local:6222`);
  });

  it('creates streams with 3 replicas (STREAM_REPLICAS) and connects services to the NATS Service', () => {
    expect(configMap.data?.STREAM_REPLICAS).toBe('3');
    expect(configMap.data?.NATS_URL).toBe('nats://nats:4222');
    const cluster = JSON.parse(
      readFileSync(join(K8S_DIR, '..', 'streams', 'cluster', 'events.stream.json'), 'utf8'),
    ) as { num_replicas: number };
    expect(cluster.num_replicas).toBe(3);
  });
});

describe.each(services)('infra/k8s for %s', (service) => {
  const deployment = find('Deployment', service);
  const c = (deployment ? podContainer(deployment) : undefined) as Container;
  const envValue = (name: string) => c.env?.find((e) => e.name === name)?.value ?? configMap.data?.[name];

  it('has a Deployment with resource requests and limits', () => {
    expect(deployment).toBeDefined();
    expect(c.image).toBe(`reelbus/${service}:latest`);
    for (const r of ['cpu', 'memory']) {
      expect(c.resources?.requests?.[r], `requests.${r}`).toBeTruthy();
      expect(c.resources?.limits?.[r], `limits.${r}`).toBeTruthy();
    }
  });

  it('probes /healthz (liveness) and /readyz (readiness) on the HEALTH_PORT it sets', () => {
    const healthPort = Number(envValue('HEALTH_PORT'));
    expect(healthPort).toBeGreaterThan(0);
    expect(c.livenessProbe?.httpGet?.path).toBe('/healthz');
    expect(c.readinessProbe?.httpGet?.path).toBe('/readyz');
    expect(probePort(c, c.livenessProbe!)).toBe(healthPort);
    expect(probePort(c, c.readinessProbe!)).toBe(healthPort);
  });

  it('has a PodDisruptionBudget selecting its pods', () => {
    const pdb = find('PodDisruptionBudget', service)!;
    expect(pdb).toBeDefined();
    const podLabels = (deployment!.spec as { template: { metadata: { labels: Record<string, string> } } })
      .template.metadata.labels;
    const sel = (pdb.spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels;
    for (const [k, v] of Object.entries(sel)) expect(podLabels[k]).toBe(v);
  });

  it('scales with a KEDA ScaledObject on nats-jetstream lag of its consumers, named as the kit names them', () => {
    const so = find('ScaledObject', service)!;
    expect((so.spec as { scaleTargetRef: { name: string } }).scaleTargetRef.name).toBe(service);
    const triggers = (so.spec as { triggers: Array<{ type: string; metadata: Record<string, string> }> })
      .triggers;
    expect(triggers.length).toBeGreaterThan(0);
    const n = names(configMap.data!.REELBUS_NAMESPACE);
    for (const t of triggers.filter((t) => t.type === 'nats-jetstream')) {
      const type = eventTypes.find((ty) => n.consumerName(service, ty) === t.metadata.consumer);
      expect(type, `${t.metadata.consumer} is <service>__<catalogue type>`).toBeDefined();
      expect(t.metadata).toMatchObject({ account: '$G', stream: n.eventsStream });
      // the headless service: KEDA reaches the consumer's leader at <pod>.<endpoint> (server_name = pod name)
      expect(t.metadata.natsServerMonitoringEndpoint).toBe('nats-headless.reelbus.svc.cluster.local:8222');
      expect(Number(t.metadata.lagThreshold)).toBeGreaterThan(0);
    }
  });

  it('sets every variable the service requires (ConfigMap, env or Secret)', async () => {
    const set = new Set([...Object.keys(configMap.data ?? {}), ...(c.env ?? []).map((e) => e.name)]);
    const missing = (await serviceEnvVars(service))
      .filter((v) => v.required && !set.has(v.name))
      .map((v) => v.name);
    expect(missing).toEqual([]);
    const secretKeys = readFileSync(join(K8S_DIR, 'secrets.env.example'), 'utf8');
    for (const e of c.env ?? []) {
      const ref = e.valueFrom?.secretKeyRef;
      if (ref)
        expect(secretKeys, `${e.name} documented in secrets.env.example`).toMatch(
          new RegExp(`^${ref.key}=`, 'm'),
        );
    }
  });
});
