import type { Timeline, WaveformClip } from '@reelbus/contracts';

/** The sample rate every waveform is drawn from (the output's). */
export const WAVEFORM_SAMPLE_RATE = 48000;

/**
 * The file a waveform clip draws, and where in it the clip's frame 0 is: its own `source` and
 * `trimStart`, or, for `track`, the track's file at the point the track plays when the clip starts
 * (track trim + clip start − track start − elapsed). Clip frame k draws the audio at
 * `trimStart + k / fps`, whatever chunk renders it.
 */
export function waveformSource({ clip, timeline }: { clip: WaveformClip; timeline: Timeline }): {
  key: string;
  trimStart: number;
} {
  if (clip.source) return { key: clip.source.key, trimStart: clip.trimStart };
  const track = timeline.audio.find((a) => a.name === clip.track);
  if (!track) throw new Error(`internal: waveform track "${clip.track}" is not in the timeline`);
  const trimStart = track.trimStart + clip.start - track.start - clip.elapsed;
  return { key: track.source.key, trimStart: Math.max(0, Math.round(trimStart * 1e6) / 1e6) };
}

/**
 * showwaves geometry that makes one video frame from exactly 48000/fps samples: `n` samples per
 * column and `columns` = samplesPerFrame / n columns (at least `width`, scaled down to it afterwards).
 * Undefined when 48000 is not a multiple of fps (frames would drift against the samples).
 */
export function waveformGeometry({
  fps,
  width,
}: {
  fps: number;
  width: number;
}): { samplesPerFrame: number; n: number; columns: number } | undefined {
  const samplesPerFrame = WAVEFORM_SAMPLE_RATE / fps;
  if (!Number.isInteger(samplesPerFrame)) return undefined;
  let n = Math.max(1, Math.floor(samplesPerFrame / Math.max(1, width)));
  while (samplesPerFrame % n !== 0) n--;
  return { samplesPerFrame, n, columns: samplesPerFrame / n };
}
