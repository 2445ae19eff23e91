import { basename, join } from 'node:path';
import type { EventDataInput, EventOf } from '@reelbus/contracts';
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
import { assessDecodedAudio, DecodeErrorTally } from './damage.ts';
import { downloadRecording, type DownloadSettings } from './download.ts';
import { ROLES_BY_CHANNEL, splitChannels, type ChannelOutput } from './split.ts';

export interface SplitterSettings {
  download: DownloadSettings;
  /** dBFS: a channel whose peak stays below this is flagged silent. */
  silenceThresholdDb: number;
  /** Where temp dirs go (BaseConfig.tmpDir). */
  tmpDir: string;
  stallTimeoutMs?: number;
}

/** Blob keys this step writes (deterministic: a redelivery overwrites). */
export const keys = {
  input: (jobId: string) => `jobs/${jobId}/input/recording.wav`,
  split: (jobId: string, role: string) => `jobs/${jobId}/split/${role}.wav`,
};

type Fail = { outcome: 'fail'; step: string; reason: string };
const fail = (step: 'download' | 'split', reason: string): Fail => ({ outcome: 'fail', step, reason });

/**
 * recording.received → (download) → probe → split into one mono file per channel in one ffmpeg
 * pass → audio.split. Bad input returns a `fail` outcome whose reason a user can act on.
 */
export async function handleRecording(opts: {
  event: EventOf<'recording.received'>;
  ctx: HandlerContext;
  blobs: BlobStore;
  settings: SplitterSettings;
}): Promise<HandlerOutcome> {
  const { event, ctx, blobs, settings } = opts;
  const { jobId, data } = event;

  // 1. the input: in blob storage already, or downloaded into it
  let inputKey = data.recording.key;
  if (inputKey === undefined) {
    const url = data.recording.url;
    if (url === undefined) return fail('split', 'the event names neither recording.key nor recording.url');
    await ctx.progress('download', 'started');
    try {
      const got = await downloadRecording({
        url,
        source: data.source,
        key: keys.input(jobId),
        blobs,
        settings: settings.download,
        signal: ctx.signal,
        logger: ctx.logger,
        onProgress: (percent) => {
          ctx.working();
          void ctx.progress('download', 'running', Math.round(percent)).catch(() => undefined);
        },
      });
      inputKey = got.key;
    } catch (err) {
      if (isPermanent(err)) return fail('download', describeError(err));
      throw err;
    }
    await ctx.progress('download', 'completed', 100);
  }

  // 2. probe, then split in one pass
  await ctx.progress('split', 'started');
  const stat = await blobs.stat(inputKey);
  if (!stat) return fail('split', `the recording was not found in blob storage (key ${inputKey})`);
  if (stat.size === 0) return fail('split', 'the recording is empty (0 bytes)');

  let outcome: HandlerOutcome;
  try {
    outcome = await withLocalFile({ blobs, key: inputKey, tmpDir: settings.tmpDir }, (input) =>
      splitLocal({ input, inputKey, jobId, ctx, blobs, settings }),
    );
  } catch (err) {
    if (isBlobNotFound(err))
      return fail('split', `the recording was not found in blob storage (key ${inputKey})`);
    throw err;
  }
  return outcome;
}

async function splitLocal(opts: {
  input: string;
  inputKey: string;
  jobId: string;
  ctx: HandlerContext;
  blobs: BlobStore;
  settings: SplitterSettings;
}): Promise<HandlerOutcome> {
  const { input, inputKey, jobId, ctx, blobs, settings } = opts;
  let info: MediaInfo;
  try {
    info = await probe(input);
  } catch (err) {
    if (isPermanent(err)) {
      const why = err instanceof Error && err.cause instanceof Error ? err.cause.message : describeError(err);
      return fail('split', `the recording is not an audio file (ffprobe: ${why})`);
    }
    throw err;
  }
  const audio = info.audio;
  if (!audio)
    return fail(
      'split',
      `the recording has no audio stream (${info.formatName}${info.video ? ', video only' : ''})`,
    );
  const channels = audio.channels ?? 0;
  if (channels < 1) return fail('split', 'the recording’s audio stream has no channels');
  if (!audio.sampleRate)
    return fail('split', 'the recording’s audio stream has no sample rate; it may be corrupt');
  const sampleRate = audio.sampleRate;
  const durationSec = audio.durationSec ?? info.durationSec;
  if (!(durationSec > 0)) return fail('split', 'the recording is empty (0 s of audio)');
  if (channels > 2) {
    await ctx.warn(
      'split',
      `the recording has ${channels} channels; using the first two (left = caller, right = callee)`,
    );
  }

  const mode = channels === 1 ? 'mono' : 'stereo';
  const roles = ROLES_BY_CHANNEL.slice(0, mode === 'mono' ? 1 : 2);

  return withTempDir(
    'reelbus-split',
    async (dir) => {
      const outputs: ChannelOutput[] = roles.map((role, channel) => ({
        role,
        channel,
        file: join(dir, `${role}.wav`),
      }));
      const tally = new DecodeErrorTally();
      let splitSec = 0; // audio decoded so far
      const assess = (decodedSec: number) =>
        assessDecodedAudio({
          input: `the recording ${basename(inputKey)}`,
          file: input,
          probedSec: durationSec,
          formatName: info.formatName,
          decodedSec,
          tally,
          signal: ctx.signal,
        });
      let results;
      try {
        results = await splitChannels({
          input,
          outputs,
          durationSec,
          signal: ctx.signal,
          logger: ctx.logger,
          ...(settings.stallTimeoutMs !== undefined ? { stallTimeoutMs: settings.stallTimeoutMs } : {}),
          onStderrLine: tally.line,
          onProgress: (p) => {
            splitSec = Math.max(splitSec, p.timeSec);
            ctx.working();
            if (p.percent !== undefined)
              void ctx.progress('split', 'running', Math.round(p.percent)).catch(() => undefined);
          },
        });
      } catch (err) {
        // the input probed as audio and the command is ours: a failing decode means a corrupt recording
        if (isFfmpegError(err)) {
          // a damaged file says how, when ffmpeg printed decode errors before giving up
          const damage = tally.count > 0 ? await assess(splitSec) : undefined;
          if (damage?.verdict === 'fail') return fail('split', damage.reason);
          const last = err.stderrTail.split('\n').filter(Boolean).at(-1) ?? `exit code ${err.exitCode}`;
          return fail('split', `the recording could not be decoded; it may be corrupt (ffmpeg: ${last})`);
        }
        throw err;
      }

      // what really decoded, against what the container declares (a truncated or damaged recording)
      // (before putFile moves the files; an output with no samples may not even probe: 0 s)
      const decoded = await Promise.all(
        results.map((r) =>
          probe(r.file).then(
            (o) => o.durationSec,
            () => 0,
          ),
        ),
      );
      const decodedSec = Math.max(...decoded);
      const damage = await assess(decodedSec);
      if (damage.verdict === 'fail') return fail('split', damage.reason);
      const alsoDamaged = damage.verdict === 'warn' ? ` (${damage.message})` : '';

      const silent = (maxDb: number | undefined) =>
        maxDb === undefined || maxDb < settings.silenceThresholdDb;
      if (results.every((r) => silent(r.maxVolumeDb))) {
        return fail(
          'split',
          (mode === 'mono' ? 'the recording is silent' : 'the recording is silent on both channels') +
            alsoDamaged,
        );
      }
      if (damage.verdict === 'warn') {
        ctx.logger.warn({ inputKey, decodedSec, declaredSec: durationSec }, damage.message);
        await ctx.warn('split', damage.message);
      }

      const channelsOut: EventDataInput<'audio.split'>['channels'] = [];
      for (const [i, r] of results.entries()) {
        const key = keys.split(jobId, r.role);
        await blobs.putFile(key, r.file, { contentType: 'audio/wav', retention: 'intermediate' });
        channelsOut.push({
          role: r.role,
          key,
          durationSec: decoded[i]!,
          silent: silent(r.maxVolumeDb),
          ...(r.meanVolumeDb !== undefined && Number.isFinite(r.meanVolumeDb)
            ? { meanVolumeDb: r.meanVolumeDb }
            : {}),
        });
        if (silent(r.maxVolumeDb))
          ctx.logger.info({ role: r.role, maxVolumeDb: r.maxVolumeDb }, 'channel is silent');
      }

      await ctx.publish(
        'audio.split',
        jobId,
        {
          source: {
            key: inputKey,
            // a damaged recording is as long as what decoded: the video must not outlast its audio
            durationSec: damage.verdict === 'warn' ? decodedSec : info.durationSec,
            channels,
            sampleRate,
            codec: audio.codec,
            sizeBytes: info.sizeBytes,
          },
          mode,
          channels: channelsOut,
        },
        { id: `audio.split:${jobId}` },
      );
      await ctx.progress('split', 'completed', 100);
      return { outcome: 'ok' };
    },
    { tmpDir: settings.tmpDir },
  );
}
