// Test support (not used by the service): story fixtures and an independent loudness meter.
import type { EventOf } from '@reelbus/contracts';
import { runFfmpeg } from '@reelbus/kit';
import { makeSpeech, testEvent } from '@reelbus/kit/testing';

export const STORY_TEXT =
  'When I was a boy we lived by the sea. Every morning my father took the boat out before sunrise, ' +
  'and every evening we waited on the pier to see his lantern coming home across the water.';

/** A validated story.received event. */
export function storyReceived(opts: { jobId: string; data: unknown }): EventOf<'story.received'> {
  return testEvent('story.received', opts.jobId, opts.data);
}

/** A spoken story made quiet (`gainDb` below espeak's level), so normalising has work to do. */
export async function makeQuietStory(opts: { dir: string; gainDb?: number; ext?: string }): Promise<string> {
  const { dir, gainDb = -14, ext = 'wav' } = opts;
  const raw = await makeSpeech({ text: STORY_TEXT, file: `${dir}/story-raw.wav`, sampleRate: 44_100 });
  const file = `${dir}/story-quiet.${ext}`;
  await runFfmpeg({
    step: 'fixture',
    args: ['-i', raw, '-af', `volume=${gainDb}dB`, ...(ext === 'wav' ? ['-c:a', 'pcm_s16le'] : []), file],
  });
  return file;
}

/** Integrated loudness (LUFS) of a file, measured with ffmpeg's ebur128 filter (independent of loudnorm). */
export async function integratedLoudness(file: string): Promise<number> {
  const lines: string[] = [];
  await runFfmpeg({
    step: 'measure',
    args: ['-i', file, '-af', 'ebur128=framelog=verbose', '-f', 'null', '-'],
    onStderrLine: (l) => lines.push(l),
  });
  const values = lines
    .map((l) => /^\s*I:\s+(-?[\d.]+) LUFS/.exec(l)?.[1])
    .filter((v): v is string => v !== undefined);
  if (!values.length) throw new Error(`no ebur128 summary for ${file}`);
  return Number(values.at(-1));
}
