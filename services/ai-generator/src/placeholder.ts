import type { Logger } from '@reelbus/kit';
import { renderSpeakerCard } from './providers/local.ts';
import type { GeneratedClip, SpeakerRole } from './providers/types.ts';

/**
 * A stand-in clip for a side whose generation failed: a plain card with the label and 'unavailable',
 * exactly as long as the channel, with the channel's audio, so the call video still plays both voices.
 */
export function makePlaceholderClip(opts: {
  audioPath: string;
  durationSec: number;
  label: string;
  role: SpeakerRole;
  width: number;
  height: number;
  outDir: string;
  signal?: AbortSignal;
  logger?: Logger;
  fontFile?: string;
}): Promise<GeneratedClip> {
  const { audioPath, durationSec, label, role, width, height, outDir, signal, logger, fontFile } = opts;
  return renderSpeakerCard({
    audioPath,
    imagePath: undefined,
    durationSec,
    width,
    height,
    role,
    label,
    note: 'video unavailable',
    waveform: false,
    outDir,
    fileName: `placeholder-${role}.mp4`,
    step: 'generate',
    ...(signal ? { signal } : {}),
    ...(logger ? { logger } : {}),
    ...(fontFile ? { fontFile } : {}),
  });
}
