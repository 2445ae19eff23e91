import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { filterPath, probe, runFfmpeg } from '@reelbus/kit';
import { clipOutputArgs } from '../filters.ts';
import { ffmpegColor, LABEL_BOX_COLOR, SPEAKER_PALETTE, speakerCardGeometry } from './local-look.ts';
import type { AvatarProvider, GenerateRequest, GeneratedClip, SpeakerRole } from './types.ts';

export const DEFAULT_FONT = '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf';
export const CLIP_FPS = 25;

export interface SpeakerCardArgsOptions {
  audioPath: string;
  /** Face image; a plain colour card when absent. */
  imagePath?: string | undefined;
  /** A file holding the label (read by drawtext, so no text escaping is needed). */
  labelFile: string;
  /** A second, smaller line under the label (e.g. 'unavailable'), also from a file. */
  noteFile?: string | undefined;
  outFile: string;
  durationSec: number;
  width: number;
  height: number;
  role: SpeakerRole;
  /** Animated waveform of the audio under the face. Off for placeholder cards. */
  waveform?: boolean;
  fps?: number;
  fontFile?: string;
}

/**
 * ffmpeg arguments for a speaker card: the face (or a colour card), the speaker's own audio drawn as a moving
 * waveform strip under it, the label on top, and that audio muxed in. H.264 yuv420p + AAC 48 kHz, `durationSec` long.
 */
export function buildSpeakerCardArgs(opts: SpeakerCardArgsOptions): string[] {
  const {
    audioPath,
    imagePath,
    labelFile,
    noteFile,
    outFile,
    durationSec,
    width,
    height,
    role,
    waveform = true,
    fps = CLIP_FPS,
    fontFile = DEFAULT_FONT,
  } = opts;
  const colours = {
    background: ffmpegColor(SPEAKER_PALETTE[role].background),
    wave: ffmpegColor(SPEAKER_PALETTE[role].wave),
  };
  // The look is shared with the compositor, which draws it straight into a call's Timeline.
  const { faceHeight, waveHeight, labelSize, labelBoxBorder, labelGap } = speakerCardGeometry({
    height,
    waveform,
  });
  const font = filterPath(fontFile);

  const inputs = imagePath
    ? ['-loop', '1', '-framerate', String(fps), '-i', imagePath]
    : ['-f', 'lavfi', '-i', `color=c=${colours.background}:s=${width}x${faceHeight}:r=${fps}`];

  const face = imagePath
    ? `[0:v]scale=${width}:${faceHeight}:force_original_aspect_ratio=decrease,` +
      `pad=${width}:${faceHeight}:(ow-iw)/2:(oh-ih)/2:color=${colours.background},setsar=1[face]`
    : `[0:v]setsar=1[face]`;
  const labelY = waveform ? `${faceHeight}-text_h-${labelGap}` : `(h-text_h)/2-${labelSize}`;
  const label =
    `drawtext=fontfile=${font}:textfile=${filterPath(labelFile)}:fontsize=${labelSize}:fontcolor=white:` +
    `x=(w-text_w)/2:y=${labelY}:box=1:boxcolor=${ffmpegColor(LABEL_BOX_COLOR)}:boxborderw=${labelBoxBorder}`;
  const note = noteFile
    ? `,drawtext=fontfile=${font}:textfile=${filterPath(noteFile)}:fontsize=${Math.round(labelSize * 0.7)}:` +
      `fontcolor=white@0.85:x=(w-text_w)/2:y=(h/2)+${labelSize}`
    : '';
  const finish = `fps=${fps},format=yuv420p[v]`;
  const graph = waveform
    ? [
        face,
        `[1:a]aformat=channel_layouts=mono,showwaves=s=${width}x${waveHeight}:mode=cline:rate=${fps}:colors=${colours.wave},setsar=1[wave]`,
        `[face][wave]vstack=inputs=2,${label}${note},${finish}`,
      ]
    : [`${face.replace('[face]', '')},${label}${note},${finish}`];

  return [
    ...inputs,
    '-i',
    audioPath,
    '-filter_complex',
    graph.join(';'),
    '-map',
    '[v]',
    '-map',
    '1:a:0',
    ...clipOutputArgs({ durationSec, fps, outFile }),
  ];
}

/** Renders a speaker card (see buildSpeakerCardArgs) and probes the result. */
export async function renderSpeakerCard(
  opts: Omit<SpeakerCardArgsOptions, 'labelFile' | 'noteFile' | 'outFile'> & {
    label: string;
    note?: string;
    outDir: string;
    fileName: string;
    step: string;
    signal?: AbortSignal;
    logger?: GenerateRequest['logger'];
    onProgress?: (percent: number) => void;
    stallTimeoutMs?: number;
  },
): Promise<GeneratedClip> {
  const { label, note, outDir, fileName, step, signal, logger, onProgress, stallTimeoutMs, ...card } = opts;
  const labelFile = join(outDir, `${fileName}.label.txt`);
  await writeFile(labelFile, label);
  let noteFile: string | undefined;
  if (note) {
    noteFile = join(outDir, `${fileName}.note.txt`);
    await writeFile(noteFile, note);
  }
  const outFile = join(outDir, fileName);
  await runFfmpeg({
    step,
    args: buildSpeakerCardArgs({ ...card, labelFile, noteFile, outFile }),
    durationSec: card.durationSec,
    ...(signal ? { signal } : {}),
    ...(logger ? { logger } : {}),
    ...(stallTimeoutMs ? { stallTimeoutMs } : {}),
    ...(onProgress ? { onProgress: (p) => p.percent !== undefined && onProgress(p.percent) } : {}),
  });
  const info = await probe(outFile);
  return {
    file: outFile,
    durationSec: info.durationSec,
    width: info.video?.width ?? card.width,
    height: info.video?.height ?? card.height,
  };
}

/**
 * The offline default: a real video from the channel's audio (face or colour card, moving waveform of that
 * speaker, label), exactly as long as the audio. Needs no account and no network.
 */
export function createLocalProvider(opts: {
  width: number;
  height: number;
  fontFile?: string;
  stallTimeoutMs?: number;
}): AvatarProvider {
  const { width, height, fontFile, stallTimeoutMs } = opts;
  return {
    name: 'local',
    model: 'local-avatar',
    exactOutput: true,
    generate: (req) =>
      renderSpeakerCard({
        audioPath: req.audioPath,
        imagePath: req.imagePath,
        durationSec: req.durationSec,
        width,
        height,
        role: req.role,
        label: req.label,
        outDir: req.outDir,
        fileName: `local-${req.role}.mp4`,
        step: 'generate',
        signal: req.signal,
        logger: req.logger,
        ...(fontFile ? { fontFile } : {}),
        ...(stallTimeoutMs ? { stallTimeoutMs } : {}),
        ...(req.onProgress ? { onProgress: (pct: number) => req.onProgress?.(pct) } : {}),
      }),
  };
}
