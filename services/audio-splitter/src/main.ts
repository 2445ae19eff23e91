import { startService } from '@reelbus/kit';
import { AudioSplitterEnv } from './config.ts';
import { handleRecording, type SplitterSettings } from './handle-recording.ts';

const rt = await startService({
  name: 'audio-splitter',
  configSchema: AudioSplitterEnv,
  needs: { blobs: true, jobs: false }, // the splitter keeps no job state
});
const { config, base } = rt;

const settings: SplitterSettings = {
  download: {
    timeoutMs: config.DOWNLOAD_TIMEOUT_MS,
    attempts: config.DOWNLOAD_ATTEMPTS,
    backoffMs: config.DOWNLOAD_BACKOFF_MS,
    ...(config.TWILIO_ACCOUNT_SID && config.TWILIO_AUTH_TOKEN
      ? { twilioAuth: { accountSid: config.TWILIO_ACCOUNT_SID, authToken: config.TWILIO_AUTH_TOKEN } }
      : {}),
  },
  silenceThresholdDb: config.SILENCE_THRESHOLD_DB,
  tmpDir: base.tmpDir,
  stallTimeoutMs: base.stallTimeoutMs,
};

await rt.bus.consume({
  service: rt.name,
  concurrency: base.concurrency,
  handlers: {
    'recording.received': {
      step: 'split',
      handle: (event, ctx) => handleRecording({ event, ctx, blobs: rt.blobs, settings }),
    },
  },
});
rt.logger.info(
  { silenceThresholdDb: settings.silenceThresholdDb },
  'audio-splitter consuming recording.received',
);
