import { basename, join } from 'node:path';
import type { EventOf } from '@reelbus/contracts';
import {
  describeError,
  isBlobNotFound,
  isFfmpegError,
  isPermanent,
  probe,
  withLocalFile,
  withTempDir,
  type BlobStore,
  type HandlerContext,
  type HandlerOutcome,
  type MediaInfo,
} from '@reelbus/kit';
import { assessDecodedAudio, DecodeErrorTally } from '../damage.ts';
import { fetchStoryAudio, type StoryFetchSettings } from './fetch-audio.ts';
import {
  buildApplyArgs,
  buildMeasureArgs,
  runLoudnormPass,
  VOICE_SAMPLE_RATE,
  type LoudnessTarget,
} from './loudnorm.ts';

export interface StoryAudioSettings {
  fetch: StoryFetchSettings;
  loudness: LoudnessTarget;
  /** Where temp dirs go (BaseConfig.tmpDir). */
  tmpDir: string;
  stallTimeoutMs?: number;
}

/** Blob keys this step writes (deterministic: a redelivery overwrites). */
export const storyKeys = {
  input: (jobId: string, ext: string) => `jobs/${jobId}/input/story-audio${ext}`,
  voice: (jobId: string) => `jobs/${jobId}/audio/voice.flac`,
};

type Fail = { outcome: 'fail'; step: string; reason: string };
const fail = (step: 'download' | 'normalize', reason: string): Fail => ({ outcome: 'fail', step, reason });

/**
 * story.received → the story audio (a blob key, or an https URL fetched safely into
 * `jobs/<id>/input/story-audio<ext>`) → probed for its real duration → loudness-normalised in two
 * loudnorm passes (measure, then apply the measured values) into lossless 48 kHz FLAC at
 * `jobs/<id>/audio/voice.flac` → audio.normalized with the output's probed duration and measured
 * loudness. Empty, non-audio, undecodable or silent audio fails the job with a reason (step `normalize`).
 */
export async function handleStoryAudio(opts: {
  event: EventOf<'story.received'>;
  ctx: HandlerContext;
  blobs: BlobStore;
  settings: StoryAudioSettings;
}): Promise<HandlerOutcome> {
  const { event, ctx, blobs, settings } = opts;
  const { jobId, data } = event;

  let inputKey: string;
  if ('key' in data.audio) {
    inputKey = data.audio.key;
  } else {
    await ctx.progress('download', 'started');
    try {
      const got = await fetchStoryAudio({
        url: data.audio.url,
        keyFor: (ext) => storyKeys.input(jobId, ext),
        blobs,
        settings: settings.fetch,
        signal: ctx.signal,
      });
      inputKey = got.key;
    } catch (err) {
      if (isPermanent(err)) return fail('download', describeError(err));
      throw err; // network trouble: redelivered with backoff
    }
    await ctx.progress('download', 'completed', 100);
  }

  await ctx.progress('normalize', 'started');
  const stat = await blobs.stat(inputKey);
  if (!stat) return fail('normalize', `the story audio was not found in blob storage (key ${inputKey})`);
  if (stat.size === 0) return fail('normalize', 'the story audio is empty (0 bytes)');
  try {
    return await withLocalFile({ blobs, key: inputKey, tmpDir: settings.tmpDir }, (input) =>
      normalizeLocal({ input, inputKey, jobId, ctx, blobs, settings }),
    );
  } catch (err) {
    if (isBlobNotFound(err))
      return fail('normalize', `the story audio was not found in blob storage (key ${inputKey})`);
    throw err;
  }
}

async function normalizeLocal(opts: {
  input: string;
  inputKey: string;
  jobId: string;
  ctx: HandlerContext;
  blobs: BlobStore;
  settings: StoryAudioSettings;
}): Promise<HandlerOutcome> {
  const { input, inputKey, jobId, ctx, blobs, settings } = opts;
  let info: MediaInfo;
  try {
    info = await probe(input);
  } catch (err) {
    if (!isPermanent(err)) throw err;
    const why = err instanceof Error && err.cause instanceof Error ? err.cause.message : describeError(err);
    return fail('normalize', `the story audio is not an audio file (ffprobe: ${why})`);
  }
  const audio = info.audio;
  if (!audio) {
    return fail(
      'normalize',
      `the story audio has no audio stream (${info.formatName}${info.video ? ', video only' : ''})`,
    );
  }
  // the real duration, from the media: never a default
  const sourceDurationSec = audio.durationSec ?? info.durationSec;
  if (!(sourceDurationSec > 0)) return fail('normalize', 'the story audio is empty (0 s of audio)');
  const channels = Math.min(2, Math.max(1, audio.channels ?? 1));
  const common = {
    durationSec: sourceDurationSec,
    signal: ctx.signal,
    logger: ctx.logger,
    ...(settings.stallTimeoutMs !== undefined ? { stallTimeoutMs: settings.stallTimeoutMs } : {}),
  };
  // a truncated or damaged file: what decodes, against what the container declares
  const tally = new DecodeErrorTally();
  let measuredSec = 0; // audio decoded by the measuring pass so far
  const assess = (decodedSec: number) =>
    assessDecodedAudio({
      input: `the story audio ${basename(inputKey)}`,
      file: input,
      probedSec: sourceDurationSec,
      formatName: info.formatName,
      decodedSec,
      tally,
      signal: ctx.signal,
    });
  /** ffmpeg gave up: a damaged file says how (when it printed decode errors), else "corrupt". */
  const corrupt = async (err: unknown): Promise<Fail | undefined> => {
    if (!isFfmpegError(err)) return undefined;
    if (tally.count > 0) {
      const damage = await assess(measuredSec);
      if (damage.verdict === 'fail') return fail('normalize', damage.reason);
    }
    const last = err.stderrTail.split('\n').filter(Boolean).at(-1) ?? `exit code ${err.exitCode}`;
    return fail('normalize', `the story audio could not be decoded; it may be corrupt (ffmpeg: ${last})`);
  };

  return withTempDir(
    'reelbus-story-audio',
    async (dir) => {
      // pass 1 (0-50 %): measure (and count decode errors: pass 2 decodes the same bytes)
      let measured;
      try {
        measured = await runLoudnormPass({
          step: 'normalize',
          args: buildMeasureArgs({ input, loudness: settings.loudness }),
          ...common,
          onStderrLine: tally.line,
          onProgress: (p) => {
            measuredSec = Math.max(measuredSec, p.timeSec);
            ctx.working();
            if (p.percent !== undefined)
              void ctx.progress('normalize', 'running', Math.round(p.percent / 2)).catch(() => undefined);
          },
        });
      } catch (err) {
        const f = await corrupt(err);
        if (f) return f;
        throw err;
      }
      if (!measured || !Number.isFinite(measured.inputI)) {
        const damage = await assess(measuredSec);
        if (damage.verdict === 'fail') return fail('normalize', damage.reason);
        const alsoDamaged = damage.verdict === 'warn' ? ` (${damage.message})` : '';
        return fail(
          'normalize',
          `the story audio is silent (no measurable loudness); record it again${alsoDamaged}`,
        );
      }

      // pass 2 (50-100 %): apply the measured values
      const output = join(dir, 'voice.flac');
      let applied;
      try {
        applied = await runLoudnormPass({
          step: 'normalize',
          args: buildApplyArgs({ input, output, measured, channels, loudness: settings.loudness }),
          ...common,
          onProgress: (p) => {
            ctx.working();
            if (p.percent !== undefined)
              void ctx
                .progress('normalize', 'running', 50 + Math.round(p.percent / 2))
                .catch(() => undefined);
          },
        });
      } catch (err) {
        const f = await corrupt(err);
        if (f) return f;
        throw err;
      }
      const out = await probe(output); // before putFile: on the fs store it moves the file
      const durationSec = out.audio?.durationSec ?? out.durationSec;
      const damage = await assess(durationSec);
      if (damage.verdict === 'fail') return fail('normalize', damage.reason);
      if (damage.verdict === 'warn') {
        ctx.logger.warn({ inputKey, durationSec, declaredSec: sourceDurationSec }, damage.message);
        await ctx.warn('normalize', damage.message);
      }
      const key = storyKeys.voice(jobId);
      await blobs.putFile(key, output, { contentType: 'audio/flac', retention: 'intermediate' });
      ctx.logger.info(
        {
          sourceDurationSec,
          durationSec,
          inputLufs: measured.inputI,
          outputLufs: applied?.outputI,
          mode: applied?.normalizationType,
        },
        'story audio normalised',
      );
      await ctx.publish(
        'audio.normalized',
        jobId,
        {
          sourceKey: inputKey,
          key,
          durationSec,
          ...(applied?.outputI !== undefined ? { integratedLufs: applied.outputI } : {}),
          sampleRate: out.audio?.sampleRate ?? VOICE_SAMPLE_RATE,
          channels: out.audio?.channels ?? channels,
          startSec: 0,
        },
        { id: `audio.normalized:${jobId}` },
      );
      await ctx.progress('normalize', 'completed', 100);
      return { outcome: 'ok' };
    },
    { tmpDir: settings.tmpDir },
  );
}
