// The look of the local avatar (registry model `local-avatar`): a speaker card with the face (or a
// colour card), the speaker's own waveform strip under it in the speaker's colour, and the label.
// One definition for the two ways it is drawn: the ai-generator's local provider renders it to a clip
// (`buildSpeakerCardArgs`), and the compositor draws it straight into the call's Timeline (image +
// waveform + text clips) so that an offline call is encoded once. This module imports nothing heavy,
// so the compositor can load it (`@reelbus/ai-generator/local-look`).
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type SpeakerRole = 'caller' | 'callee';

/** Each role's colours, as `#rrggbb`: the card behind the face, and the waveform. */
export const SPEAKER_PALETTE: Record<SpeakerRole, { background: string; wave: string }> = {
  caller: { background: '#1f3b5c', wave: '#8fd3ff' },
  callee: { background: '#4b2a5c', wave: '#ffb38f' },
};

/** The label's box: black at 45 % (`#rrggbbaa`, as ffmpeg's `0xRRGGBBAA` reads it). */
export const LABEL_BOX_COLOR = '#00000073';

/** A card's size when nothing else says (the ai-generator's CLIP_WIDTH × CLIP_HEIGHT defaults). */
export const SPEAKER_CARD_SIZE = { width: 640, height: 720 } as const;

/**
 * DejaVu Sans' cap height as a share of the font size: the height drawtext gives a label of capitals
 * and lower-case letters without descenders ("Caller", "Callee"), used to place a label by its bottom.
 */
export const LABEL_CAP_HEIGHT = 0.73;

/** Where the parts of a speaker card sit (pixels from the card's top-left corner). */
export interface SpeakerCardGeometry {
  /** The face (or colour card) fills the top `faceHeight` rows. */
  faceHeight: number;
  /** The waveform strip fills the `waveHeight` rows under it (0 without a waveform). */
  waveHeight: number;
  /** The label's font size. */
  labelSize: number;
  /** The label's box border (drawtext `boxborderw`). */
  labelBoxBorder: number;
  /** With a waveform: the label's text ends this many rows above the strip. */
  labelGap: number;
}

/** A card's layout by its height: 22 % for the waveform strip (even, for yuv420p), the label at 1/18. */
export function speakerCardGeometry({
  height,
  waveform = true,
}: {
  height: number;
  waveform?: boolean;
}): SpeakerCardGeometry {
  const waveHeight = waveform ? even(Math.round(height * 0.22)) : 0;
  const labelSize = Math.max(16, Math.round(height / 18));
  return {
    faceHeight: height - waveHeight,
    waveHeight,
    labelSize,
    labelBoxBorder: Math.round(labelSize / 3),
    labelGap: Math.round(labelSize * 0.6),
  };
}

const ASSETS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'assets');

/** The bundled neutral illustrated faces (assets/*.png). */
export const BUNDLED_FACES: Record<SpeakerRole, string> = {
  caller: join(ASSETS, 'caller.png'),
  callee: join(ASSETS, 'callee.png'),
};

/** `#rrggbb` → ffmpeg's `0xrrggbb`. */
export function ffmpegColor(hex: string): string {
  return `0x${hex.slice(1).toLowerCase()}`;
}

function even(n: number): number {
  return n % 2 === 0 ? n : n + 1;
}
