import { Timeline, type ClipInput, type SpeakerRole, type TimelineInput } from '@reelbus/contracts';
import {
  LABEL_BOX_COLOR,
  LABEL_CAP_HEIGHT,
  SPEAKER_CARD_SIZE,
  SPEAKER_PALETTE,
  speakerCardGeometry,
} from '@reelbus/ai-generator/local-look';

/** A speaker's clip as the compositor knows it from `clip.generated`. */
export interface CallClip {
  key: string;
  durationSec: number;
  width: number;
  height: number;
  placeholder?: boolean;
}

/** A speaker the Timeline draws itself (the `local` provider's look): no clip was made. */
export interface DrawnSpeaker {
  /** The face image (blob key). */
  faceKey: string;
  /** The speaker's own audio (the split channel), drawn as the waveform strip. */
  audioKey: string;
}

type Rect = { x: number; y: number; width: number; height: number };

export interface BuildCallTimelineOptions {
  /** The original call recording (both voices) and its probed duration. */
  recording: { key: string; durationSec: number };
  /** The clip of each side that has one (a provider made it). */
  clips: Partial<Record<SpeakerRole, CallClip>>;
  /**
   * The sides drawn in the Timeline (face card, the speaker's waveform strip, label), for a side
   * without a clip. A side with neither (a silent channel) gets a labelled card.
   */
  drawn?: Partial<Record<SpeakerRole, DrawnSpeaker>>;
  /** A drawn card's shape, fitted into its side (the local provider's clip size, 640×720). */
  cardSize?: { width: number; height: number };
  /** Output size; 1280×720 by default. */
  size?: { width: number; height: number };
  /** stereo: caller left, callee right. mono: one speaker, centred, full frame. */
  mode: 'stereo' | 'mono';
  fps?: number;
}

export const ROLE_LABEL: Record<SpeakerRole, string> = { caller: 'Caller', callee: 'Callee' };

const BACKGROUND = '#000000';
const CARD_COLOR = '#1f2933';
const CARD_TEXT = '#cbd2d9';

/**
 * The Timeline of a call video: the two speakers side by side (each letterboxed in its half to keep
 * its aspect), or one speaker full frame for a mono call; the audio is the original recording and
 * the video lasts exactly as long as it. A speaker is a provider's clip, or drawn here (`drawn`).
 */
export function buildCallTimeline({
  recording,
  clips,
  drawn = {},
  cardSize = SPEAKER_CARD_SIZE,
  size = { width: 1280, height: 720 },
  mode,
  fps = 30,
}: BuildCallTimelineOptions): Timeline {
  const { width: W, height: H } = size;
  const T = recording.durationSec;
  const sides: Array<{ role: SpeakerRole; rect: { x: number; y: number; width: number; height: number } }> =
    mode === 'mono'
      ? [{ role: 'caller', rect: { x: 0, y: 0, width: W, height: H } }]
      : (() => {
          // Even halves: yuv420p needs even sizes and positions; a spare pixel column goes to the right.
          const half = Math.floor(W / 4) * 2;
          return [
            { role: 'caller' as const, rect: { x: 0, y: 0, width: half, height: H } },
            { role: 'callee' as const, rect: { x: half, y: 0, width: W - half, height: H } },
          ];
        })();

  const clipsOut: ClipInput[] = [];
  for (const { role, rect } of sides) {
    const clip = clips[role];
    const speaker = drawn[role];
    if (!clip && speaker) {
      clipsOut.push(...speakerCardClips({ role, speaker, rect: fitRect(cardSize, rect), durationSec: T }));
    } else if (clip) {
      clipsOut.push({
        type: 'video',
        source: { key: clip.key },
        start: 0,
        duration: T,
        position: rect,
        fit: 'contain',
        // The call's own recording (the audio track) already carries both voices; the avatar clips'
        // sound would double them.
        volume: 0,
      });
    } else {
      clipsOut.push({
        type: 'color',
        color: CARD_COLOR,
        start: 0,
        duration: T,
        position: inset(rect, mode === 'mono' ? 0 : 8),
      });
      clipsOut.push({
        type: 'text',
        text: `${ROLE_LABEL[role]} — silent`,
        fontSize: Math.max(16, Math.round(rect.width / 16)),
        color: CARD_TEXT,
        start: 0,
        duration: T,
        position: rect,
      });
    }
  }
  const timeline: TimelineInput = {
    version: 1,
    output: { width: W, height: H, fps },
    duration: T,
    background: BACKGROUND,
    tracks: [
      { name: 'speakers', clips: clipsOut.filter((c) => c.type !== 'waveform') },
      // The waveforms on a track of their own above the cards (they touch nothing else on screen):
      // the cards and labels do not change from frame to frame, so the encoder draws them once.
      ...(clipsOut.some((c) => c.type === 'waveform')
        ? [{ name: 'waves', clips: clipsOut.filter((c) => c.type === 'waveform') }]
        : []),
    ],
    audio: [{ name: 'call', source: { key: recording.key } }],
  };
  return Timeline.parse(timeline);
}

/**
 * The local provider's speaker card drawn with Timeline clips (the look of the ai-generator's
 * `buildSpeakerCardArgs`, from the same definition): the role's colour with the face letterboxed on
 * it, the speaker's own waveform in the role's colour on a black strip under it (the background), and
 * the label just above the strip on a see-through box.
 */
export function speakerCardClips({
  role,
  speaker,
  rect,
  durationSec,
}: {
  role: SpeakerRole;
  speaker: DrawnSpeaker;
  /** The card's rect in the output (even size and position). */
  rect: Rect;
  durationSec: number;
}): ClipInput[] {
  const { faceHeight, waveHeight, labelSize, labelGap } = speakerCardGeometry({ height: rect.height });
  const colours = SPEAKER_PALETTE[role];
  const face = { x: rect.x, y: rect.y, width: rect.width, height: faceHeight };
  // drawtext centres a label in its box: a box one cap height tall puts the text's bottom where the card's does.
  const capHeight = Math.max(1, Math.round(labelSize * LABEL_CAP_HEIGHT));
  const timing = { start: 0, duration: durationSec };
  return [
    { type: 'color', color: colours.background, ...timing, position: face },
    { type: 'image', source: { key: speaker.faceKey }, fit: 'contain', ...timing, position: face },
    {
      type: 'waveform',
      source: { key: speaker.audioKey },
      channel: 'mix',
      style: 'cline',
      amplitude: 'lin',
      color: colours.wave,
      ...timing,
      position: { x: rect.x, y: rect.y + faceHeight, width: rect.width, height: waveHeight },
    },
    {
      type: 'text',
      text: ROLE_LABEL[role],
      fontSize: labelSize,
      color: '#ffffff',
      boxColor: LABEL_BOX_COLOR,
      ...timing,
      position: {
        x: rect.x,
        y: rect.y + faceHeight - labelGap - capHeight,
        width: rect.width,
        height: capHeight,
      },
    },
  ];
}

/** The largest rect of `shape`'s aspect inside `box`, centred, with even size and position (yuv420p). */
export function fitRect(shape: { width: number; height: number }, box: Rect): Rect {
  const scale = Math.min(box.width / shape.width, box.height / shape.height);
  const evenDown = (n: number) => Math.max(2, Math.floor(n / 2) * 2);
  const width = Math.min(box.width, evenDown(shape.width * scale));
  const height = Math.min(box.height, evenDown(shape.height * scale));
  return {
    x: box.x + Math.floor((box.width - width) / 4) * 2,
    y: box.y + Math.floor((box.height - height) / 4) * 2,
    width,
    height,
  };
}

/** A rect shrunk by `by` pixels on each side (kept even), so two cards side by side read as two panels. */
function inset(r: { x: number; y: number; width: number; height: number }, by: number) {
  return { x: r.x + by, y: r.y + by, width: r.width - 2 * by, height: r.height - 2 * by };
}
