import { startService } from '@reelbus/kit';
import { buildApp } from './app.ts';
import { IngestEnv, toIngestConfig } from './config.ts';

const rt = await startService({
  name: 'ingest',
  configSchema: IngestEnv,
  needs: { blobs: true, jobs: true },
});
const config = toIngestConfig(rt.config);
// The full bus: the event stream route needs `watchJob`, which the BusHandle view does not have.
const app = buildApp({ config, bus: rt.fullBus, jobs: rt.jobs, blobs: rt.blobs, logger: rt.logger });
rt.onShutdown(() => app.close());
await app.listen({ host: config.host, port: config.port });
rt.addReadinessCheck('http', () => app.server.listening);
if (!config.twilioAuthToken) rt.logger.warn('TWILIO_AUTH_TOKEN is not set: the Twilio webhook answers 503');
rt.logger.info({ publicBaseUrl: config.publicBaseUrl, port: config.port }, 'ingest listening');
