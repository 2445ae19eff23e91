import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseServiceConfig } from '@reelbus/kit';
import {
  ROOT,
  composeEnvironment,
  interpolate,
  loadCompose,
  serviceEnvSchemas,
  serviceEnvVars,
  serviceNames,
  serviceNeeds,
} from './deploy-files.ts';

const compose = loadCompose();
const services = serviceNames();

describe('docker-compose.yml', () => {
  it('runs NATS with JetStream on a volume and the sync-always config, checked on /healthz', () => {
    const nats = compose.services.nats!;
    expect(nats.image).toMatch(/^nats:2\.(1\d|[2-9]\d)/); // >= 2.10: sync_interval
    // JetStream and store_dir come from the config (run by nats-config.test.ts).
    expect(nats.command).toEqual(['-c', '/etc/nats/nats.conf']);
    expect(nats.volumes).toEqual(expect.arrayContaining([expect.stringMatching(/^nats-data:\/data$/)]));
    const confMount = nats.volumes!.find((v) => v.includes('nats.conf'))!;
    const conf = readFileSync(join(ROOT, confMount.split(':')[0]!), 'utf8');
    expect(conf).toMatch(/jetstream\s*\{[^}]*sync_interval:\s*always/);
    expect(String(nats.healthcheck?.test)).toContain(':8222/healthz?js-enabled-only=true');
  });

  it('has MongoDB, MinIO with a bucket-creating one-shot, and Jaeger taking OTLP/HTTP', () => {
    expect(compose.services.mongodb?.image).toMatch(/^mongo:7/);
    expect(String(compose.services.mongodb?.healthcheck?.test)).toContain('ping');
    expect(compose.services.minio?.healthcheck).toBeDefined();
    const init = compose.services['minio-init']!;
    expect(init.depends_on?.minio?.condition).toBe('service_healthy');
    expect(interpolate(String(init.entrypoint))).toMatch(/mc mb --ignore-existing "local\/\$S3_BUCKET"/);
    expect(compose.services.jaeger?.ports).toEqual(expect.arrayContaining(['16686:16686', '4318:4318']));
    for (const v of ['nats-data', 'mongo-data', 'minio-data']) expect(compose.volumes).toHaveProperty(v);
  });

  it('has one container per service, built from the one Dockerfile with SERVICE selecting it', () => {
    const declared = Object.entries(compose.services)
      .filter(([, s]) => s.build)
      .map(([name]) => name)
      .sort();
    expect(declared).toEqual(services);
    for (const name of services) {
      const build = compose.services[name]!.build!;
      expect(build, name).toMatchObject({ context: '.', dockerfile: 'Dockerfile' });
      expect(build.args?.SERVICE, name).toBe(name);
    }
  });

  it("checks every service's /readyz on the HEALTH_PORT its environment sets", () => {
    for (const name of services) {
      const env = composeEnvironment(compose, name);
      const test = compose.services[name]!.healthcheck?.test;
      expect(Array.isArray(test) ? test.join(' ') : test, name).toMatch(
        /fetch\('http:\/\/127\.0\.0\.1:'\+process\.env\.HEALTH_PORT\+'\/readyz'\)/,
      );
      expect(Number(env.HEALTH_PORT), name).toBeGreaterThan(0);
    }
  });

  it('starts each service after NATS is healthy and the stores it uses are ready', () => {
    for (const name of services) {
      const deps = compose.services[name]!.depends_on ?? {};
      const needs = serviceNeeds(name);
      expect(deps.nats?.condition, name).toBe('service_healthy');
      if (needs.jobs) expect(deps.mongodb?.condition, `${name} uses the job store`).toBe('service_healthy');
      if (needs.blobs)
        expect(deps['minio-init']?.condition, `${name} uses the blob store`).toBe(
          'service_completed_successfully',
        );
      for (const [dep, { condition }] of Object.entries(deps)) {
        expect(compose.services[dep], `${name} depends on ${dep}`).toBeDefined();
        expect(['service_healthy', 'service_started', 'service_completed_successfully']).toContain(condition);
      }
    }
  });

  it('publishes the ingest API on port 8080', () => {
    expect(compose.services.ingest?.ports).toContain('8080:8080');
    expect(composeEnvironment(compose, 'ingest').INGEST_PORT).toBe('8080');
  });

  it('wires every service to NATS, MinIO, MongoDB and Jaeger by their compose hostnames', () => {
    for (const name of services) {
      const env = composeEnvironment(compose, name);
      expect(env, name).toMatchObject({
        NATS_URL: 'nats://nats:4222',
        BLOB_STORE: 's3',
        S3_ENDPOINT: 'http://minio:9000',
        S3_FORCE_PATH_STYLE: 'true',
        JOB_STORE: 'mongo',
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://jaeger:4318',
      });
      expect(env.MONGODB_URI, name).toMatch(/^mongodb:\/\/[^@]+@mongodb:27017\//);
      expect(env.AWS_ACCESS_KEY_ID, name).toBe(composeEnvironment(compose, 'minio').MINIO_ROOT_USER);
      expect(env.AWS_SECRET_ACCESS_KEY, name).toBe(composeEnvironment(compose, 'minio').MINIO_ROOT_PASSWORD);
      expect(env.S3_BUCKET, name).toBe(composeEnvironment(compose, 'minio-init').S3_BUCKET);
    }
  });

  it('sets every variable a service requires, and every one it reads is either set or has a default', async () => {
    const report: string[] = [];
    for (const name of services) {
      const env = composeEnvironment(compose, name);
      const vars = await serviceEnvVars(name);
      const missingRequired = vars.filter((v) => v.required && !env[v.name]).map((v) => v.name);
      expect(missingRequired, `${name}: required variables not set in compose`).toEqual([]);
      // Optional ones left to their defaults: listed so a reader sees what was left out on purpose.
      const defaulted = vars.filter((v) => !v.required && !(v.name in env)).map((v) => v.name);
      report.push(`${name}: ${defaulted.join(', ') || '(none)'}`);
      // The kit's own variables are all set explicitly: compose is where an operator looks for them.
      const kitUnset = vars.filter((v) => v.source === 'kit' && !(v.name in env)).map((v) => v.name);
      expect(kitUnset, `${name}: kit variables missing from x-service-env`).toEqual(['BLOB_DIR']);
    }
    expect(report).toHaveLength(services.length);
  });

  it("sets no variable a service does not read (typos), apart from the AWS SDK's", async () => {
    const sdk = new Set(['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_REGION']);
    for (const name of services) {
      const read = new Set((await serviceEnvVars(name)).map((v) => v.name));
      const unknown = Object.keys(composeEnvironment(compose, name)).filter(
        (k) => !read.has(k) && !sdk.has(k),
      );
      expect(unknown, name).toEqual([]);
    }
  });

  it("passes each service's full config validation with the out-of-the-box environment (no .env)", async () => {
    for (const name of services) {
      const schemas = await serviceEnvSchemas(name);
      for (const schema of schemas.length ? schemas : [undefined]) {
        expect(
          () => parseServiceConfig({ env: composeEnvironment(compose, name), schema }),
          name,
        ).not.toThrow();
      }
    }
  });

  it('keeps secrets in .env: every ${VAR} compose reads is documented in .env.example, none filled with a real secret', () => {
    const text = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8');
    const used = new Set([...text.matchAll(/\$\{([A-Z_][A-Z0-9_]*)/g)].map((m) => m[1]!));
    const example = readFileSync(join(ROOT, '.env.example'), 'utf8');
    const documented = new Map(
      [...example.matchAll(/^([A-Z_][A-Z0-9_]*)=(.*)$/gm)].map((m) => [m[1]!, m[2]!] as const),
    );
    expect([...used].filter((v) => !documented.has(v))).toEqual([]);
    for (const secret of [
      'API_KEY_HASHES',
      'LINK_SIGNING_SECRET',
      'WEBHOOK_SECRET',
      'MINIO_ROOT_PASSWORD',
      'MONGO_ROOT_PASSWORD',
      'FAL_KEY',
      'TWILIO_AUTH_TOKEN',
    ])
      expect(documented.get(secret), secret).toBe('');
  });

  it('lets a .env override the local-development defaults', () => {
    const env = composeEnvironment(compose, 'notifier', { WEBHOOK_SECRET: 'from-dot-env-0123456789' });
    expect(env.WEBHOOK_SECRET).toBe('from-dot-env-0123456789');
    expect(composeEnvironment(compose, 'notifier').WEBHOOK_SECRET).toMatch(/local-dev/);
  });
});

describe('Dockerfile', () => {
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');

  it('builds on Node 24 slim in stages, installs ffmpeg and the font, and runs as a non-root user', () => {
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:24-bookworm-slim$/m);
    expect(dockerfile.match(/^FROM /gm)!.length).toBeGreaterThanOrEqual(3);
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
    expect(dockerfile).toMatch(/apt-get install -y --no-install-recommends ffmpeg fonts-dejavu-core/);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/^HEALTHCHECK .*\n.*\/readyz/m);
  });

  it('selects the entrypoint with ARG SERVICE and starts it the way the local stack does', () => {
    expect(dockerfile).toMatch(/^ARG SERVICE$/m);
    expect(dockerfile).toMatch(/ln -s "services\/\$SERVICE\/src\/main\.ts" \/app\/main\.ts/);
    expect(dockerfile).toMatch(/^CMD \["node", "--import", "tsx", "\/app\/main\.ts"\]$/m);
  });

  it('builds the studio in its own stage and puts the build where ingest serves it from', () => {
    expect(dockerfile).toMatch(/^FROM deps AS studio$/m);
    expect(dockerfile).toMatch(/^RUN npm run build -w @reelbus\/studio$/m);
    // services/ingest/src/config.ts: DEFAULT_STUDIO_DIR is ../studio/dist from the ingest sources
    expect(dockerfile).toMatch(
      /^COPY --from=studio \/app\/services\/ingest\/studio\/dist\/ \.\/services\/ingest\/studio\/dist\/$/m,
    );
  });

  it('keeps node_modules, tests and local state out of the build context', () => {
    const ignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n');
    for (const p of ['**/node_modules', '.git', '.reelbus', '.env', '**/*.test.ts'])
      expect(ignore, p).toContain(p);
    // the workspaces' manifests must stay in, or `npm ci` cannot match the lockfile
    expect(ignore).toContain('!tools/package.json');
  });
});
