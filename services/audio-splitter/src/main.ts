import { startService } from '@reelbus/kit';
import { AudioSplitterEnv } from './config.ts';
import { handleRecording, type SplitterSettings } from './handle-recording.ts';
import { handleStoryAudio, splitterConcurrency, StoryAudioEnv, toStoryAudioSettings } from './story/index.ts';

const rt = await startService({
  name: 'audio-splitter',
  configSchema: AudioSplitterEnv.extend(StoryAudioEnv.shape),
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

const storySettings = toStoryAudioSettings({
  env: config,
  tmpDir: base.tmpDir,
  stallTimeoutMs: base.stallTimeoutMs,
});

await rt.bus.consume({
  service: rt.name,
  concurrency: splitterConcurrency(base.concurrency), // two consumed types: one slot each at least
  handlers: {
    'recording.received': {
      step: 'split',
      handle: (event, ctx) => handleRecording({ event, ctx, blobs: rt.blobs, settings }),
    },
    'story.received': {
      step: 'normalize',
      handle: (event, ctx) => handleStoryAudio({ event, ctx, blobs: rt.blobs, settings: storySettings }),
    },
  },
});
rt.logger.info(
  { silenceThresholdDb: settings.silenceThresholdDb },
  'audio-splitter consuming recording.received and story.received',
);
