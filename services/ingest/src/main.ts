import { loadModelRegistryOrExit } from '@reelbus/ai-generator/models';
import { startService } from '@reelbus/kit';
import { buildApp } from './app.ts';
import { IngestEnv, modelsConfigPath, toIngestConfig } from './config.ts';

// an invalid model registry stops the service before it starts, one line per problem (exit 78)
const models = loadModelRegistryOrExit({ path: modelsConfigPath(), service: 'ingest' });
const rt = await startService({
  name: 'ingest',
  configSchema: IngestEnv,
  needs: { blobs: true, jobs: true },
  consumes: false, // the HTTP edge publishes; it reads no durable consumer
});
const config = toIngestConfig(rt.config);
const app = buildApp({ config, bus: rt.bus, jobs: rt.jobs, blobs: rt.blobs, logger: rt.logger, models });
rt.onShutdown(() => app.close());
await app.listen({ host: config.host, port: config.port });
rt.addReadinessCheck('http', () => app.server.listening);
if (!config.twilioAuthToken) rt.logger.warn('TWILIO_AUTH_TOKEN is not set: the Twilio webhook answers 503');
rt.logger.info({ publicBaseUrl: config.publicBaseUrl, port: config.port }, 'ingest listening');
