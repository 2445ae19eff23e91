import { Reel } from '@reelbus/contracts';
import { loadModelRegistryOrExit } from '@reelbus/ai-generator/models';
import { DeletedJobs, retryStartup, startService } from '@reelbus/kit';
import { legacyKeyName } from './api-keys.ts';
import { ProjectDocument } from '@reelbus/contracts';
import { buildApp } from './app.ts';
import { IngestEnv, modelsConfigPath, toIngestConfig } from './config.ts';
import { busJobOperations } from './jobs/operations.ts';
import { openLimitStores, usageBuckets } from './limits/buckets.ts';
import { s3MediaOrigin } from './studio.ts';

// an invalid model registry stops the service before it starts, one line per problem (exit 78)
const models = loadModelRegistryOrExit({ path: modelsConfigPath(), service: 'ingest' });
const rt = await startService({
  name: 'ingest',
  configSchema: IngestEnv,
  needs: { blobs: true, jobs: true },
  consumes: false, // the HTTP edge publishes; it reads no durable consumer
});
const config = toIngestConfig(rt.config);
// Videos and posters on S3 are 302s to presigned bucket URLs: the studio's CSP must allow that origin.
const bucketOrigin = rt.base.blobStore === 's3' ? s3MediaOrigin(rt.base.s3) : undefined;
if (config.studio && bucketOrigin) config.studio.mediaOrigins.push(bucketOrigin);
// Not ready until the HTTP server listens: the limit buckets and the routes take a moment after the
// kit's own checks pass, and a client told "ready" must not find the port closed.
let listening = false;
rt.addReadinessCheck('http', () => listening);
// The API limits count in NATS KV, so every ingest replica sees the same numbers.
const limitStores = await retryStartup(
  'open the API limit buckets',
  () =>
    openLimitStores({ nc: rt.fullBus.nc, namespace: rt.base.namespace, replicas: rt.base.streamReplicas }),
  { logger: rt.logger },
);
// Reels are revisioned documents on the job store's backend (KV bucket or MongoDB collection `reels`).
const reels = await rt.openDocuments({ collection: 'reels', schema: Reel });
// Cancel and delete: the kit bus (cancelled-jobs bucket, dead letters) and the deleted-jobs tombstones.
const deletedJobs = await retryStartup(
  'open the deleted-jobs bucket',
  () =>
    DeletedJobs.open({
      nc: rt.fullBus.nc,
      bucket: rt.fullBus.names.deletedBucket,
      replicas: rt.base.streamReplicas,
    }),
  { logger: rt.logger },
);
// Scene projects live in the job store's backend (NATS KV or MongoDB), never in this process.
const projects = await rt.openDocuments({ collection: 'projects', schema: ProjectDocument });
const app = buildApp({
  config,
  bus: rt.bus,
  jobs: rt.jobs,
  blobs: rt.blobs,
  logger: rt.logger,
  opsBus: rt.fullBus,
  limitStores,
  models,
  reels,
  operations: busJobOperations({ bus: rt.fullBus, deleted: deletedJobs }),
  projects,
});
rt.onShutdown(() => {
  listening = false;
  return app.close();
});
await app.listen({ host: config.host, port: config.port });
listening = true;
if (!config.twilioAuthToken) rt.logger.warn('TWILIO_AUTH_TOKEN is not set: the Twilio webhook answers 503');
if (rt.config.API_KEY_HASHES?.length) {
  rt.logger.warn(
    { keys: rt.config.API_KEY_HASHES.map(legacyKeyName) },
    'API_KEY_HASHES is the older, anonymous form: those keys are user keys named key-<hash prefix>; name them (and give operators their role) with API_KEYS=name:role:sha256:<hex>,…',
  );
}
rt.logger.info(
  {
    publicBaseUrl: config.publicBaseUrl,
    port: config.port,
    keys: config.apiKeys.map((k) => `${k.name} (${k.role})`),
    limits: { ...config.limits, buckets: usageBuckets(rt.base.namespace) },
    studio: config.studio ? `${config.publicBaseUrl}/` : 'off',
  },
  'ingest listening',
);
