import {
  resolvePosition,
  Timeline,
  timelineDuration,
  type AudioTrack,
  type Clip,
  type KenBurns,
  type TimelineInput,
} from '@reelbus/contracts';

/** The font every text clip is drawn with (Debian `fonts-dejavu-core`). */
export const DEFAULT_FONT = '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf';

/**
 * Ken Burns renders from an image scaled to this multiple of its on-screen size: zoompan crops at
 * whole (even, for chroma) pixels of its input, so on a ×4 input a crop step is half an output pixel
 * and the pan/zoom reads as smooth instead of the 1-2 px stair-stepping zoompan shows at ×1.
 */
export const KEN_BURNS_OVERSAMPLE = 4;
/** Largest side of the oversampled Ken Burns image (memory bound; ×4 of 1920 fits). */
const KEN_BURNS_MAX_SIDE = 8192;

export interface BuildRenderArgsOptions {
  /** A Timeline, parsed or not (it is parsed here, which applies defaults). */
  timeline: Timeline | TimelineInput;
  /** The local file of a blob key. */
  inputs: (key: string) => string;
  /** The output file. */
  output: string;
  /** Overrides `output.video.preset` (service setting ENCODER_PRESET). */
  preset?: string;
  /** Font file for text clips. */
  fontFile?: string;
}

export interface RenderArgs {
  /** Everything after `ffmpeg`. */
  args: string[];
  /** The output's length in seconds. */
  durationSec: number;
}

/** Raised for a Timeline feature this backend cannot render; `path` names the field. */
export class UnsupportedTimelineError extends Error {
  override name = 'UnsupportedTimelineError';
  readonly permanent = true;
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
  }
}

/**
 * Turns a Timeline into ONE ffmpeg command (one lossy encode): a colour base for the whole duration,
 * every clip overlaid in track order within its time window, the audio tracks mixed at 48 kHz stereo.
 * Pure: no files are touched, so tests assert the exact arguments.
 */
export function buildRenderArgs({
  timeline,
  inputs,
  output,
  preset,
  fontFile = DEFAULT_FONT,
}: BuildRenderArgsOptions): RenderArgs {
  const t = Timeline.parse(timeline);
  const T = timelineDuration(t);
  const { width: W, height: H, fps } = t.output;
  const inputArgs: string[] = [];
  let nextInput = 0;
  const addInput = (args: string[]): number => {
    inputArgs.push(...args);
    return nextInput++;
  };

  const chains: string[] = [];
  chains.push(`color=c=${hex(t.background)}:s=${W}x${H}:r=${fps}:d=${num(T)},format=yuv420p[base]`);
  let current = 'base';
  let label = 0;

  t.tracks.forEach((track, ti) => {
    track.clips.forEach((clip, ci) => {
      const path = `tracks[${ti}].clips[${ci}]`;
      if (clip.start >= T) return; // never visible
      const rect = resolvePosition({ position: clip.position, frame: { width: W, height: H } });
      const end = Math.min(clip.start + clip.duration, T);
      const enable = `enable='between(t,${num(clip.start)},${num(end)})'`;
      if (clip.motion && clip.type !== 'image') {
        throw new UnsupportedTimelineError(
          `${path}.motion`,
          'Ken Burns motion is only supported on image clips',
        );
      }

      if (clip.type === 'waveform' || clip.transition) {
        // Rendered by the frame-exact graph that replaces this one in the next commit.
        throw new UnsupportedTimelineError(
          clip.type === 'waveform' ? path : `${path}.transition`,
          `${clip.type === 'waveform' ? 'waveform clips' : 'transitions'} are not rendered by this encoder yet`,
        );
      }
      if (clip.type === 'text') {
        const out = `v${label++}`;
        chains.push(`[${current}]${drawText({ clip, rect, fontFile, end })}[${out}]`);
        current = out;
        return;
      }

      let source: string;
      if (clip.type === 'color') {
        source = `color=c=${hex(clip.color)}:s=${rect.width}x${rect.height}:r=${fps}:d=${num(clip.duration)},format=yuva420p`;
      } else if (clip.type === 'image' && clip.motion) {
        // One decoded frame, oversampled once; zoompan makes every output frame from it.
        const i = addInput(['-i', inputs(clip.source.key)]);
        source = `[${i}:v]${kenBurns({ motion: clip.motion, fit: clip.fit, rect, fps, duration: clip.duration })}`;
      } else if (clip.type === 'image') {
        const i = addInput([
          '-loop',
          '1',
          '-framerate',
          String(fps),
          '-t',
          num(clip.duration),
          '-i',
          inputs(clip.source.key),
        ]);
        source = `[${i}:v]${fitFilters(clip.fit, rect.width, rect.height)}`;
      } else {
        const i = addInput([
          ...(clip.loop ? ['-stream_loop', '-1'] : []),
          ...(clip.trimStart > 0 ? ['-ss', num(clip.trimStart)] : []),
          '-t',
          num(clip.duration),
          '-i',
          inputs(clip.source.key),
        ]);
        // A source a few frames short holds its last frame, so the clip (and its fade-out) lasts `duration`.
        source =
          `[${i}:v]fps=${fps},${fitFilters(clip.fit, rect.width, rect.height)}` +
          `,tpad=stop_mode=clone:stop_duration=${num(clip.duration)},trim=duration=${num(clip.duration)}`;
      }
      const alpha = alphaFilters(clip);
      const clipLabel = `c${label}`;
      chains.push(
        `${source}${alpha ? `,${alpha}` : ''},setpts=PTS-STARTPTS+${num(clip.start)}/TB[${clipLabel}]`,
      );
      const out = `v${label++}`;
      chains.push(
        `[${current}][${clipLabel}]overlay=x=${rect.x}:y=${rect.y}:eof_action=pass:${enable}[${out}]`,
      );
      current = out;
    });
  });
  chains.push(`[${current}]format=yuv420p[v]`);

  chains.push(...audioChains({ tracks: t.audio, T, addInput, inputs }));

  const v = t.output.video;
  const a = t.output.audio;
  const rate = v.bitrateKbps
    ? ['-b:v', `${v.bitrateKbps}k`, '-maxrate', `${v.bitrateKbps}k`, '-bufsize', `${v.bitrateKbps * 2}k`]
    : ['-crf', String(v.crf)];
  const args = [
    ...inputArgs,
    '-filter_complex',
    chains.join(';'),
    '-map',
    '[v]',
    '-map',
    '[a]',
    '-c:v',
    'libx264',
    '-profile:v',
    v.profile,
    '-pix_fmt',
    'yuv420p',
    '-preset',
    x264Preset({ preset: preset ?? v.preset, profile: v.profile }),
    ...rate,
    '-r',
    String(fps),
    '-c:a',
    'aac',
    '-b:a',
    `${a.bitrateKbps}k`,
    '-ar',
    String(a.sampleRate),
    '-ac',
    String(a.channels),
    '-movflags',
    '+faststart',
    '-t',
    num(T),
    output,
  ];
  return { args, durationSec: T };
}

/**
 * x264's ultrafast turns off CABAC and 8x8 transforms, so its stream is Constrained Baseline whatever
 * `-profile:v` says; superfast is the fastest preset that keeps the High/Main profile promised.
 */
function x264Preset({ preset, profile }: { preset: string; profile: string }): string {
  return preset === 'ultrafast' && profile !== 'baseline' ? 'superfast' : preset;
}

type Rect = { x: number; y: number; width: number; height: number };

/**
 * Scales a source into a w×h rect with transparent padding (contain), so the letterbox shows what
 * is underneath and opacity/fades act on the picture only.
 */
export function fitFilters(fit: Clip['fit'], w: number, h: number): string {
  switch (fit) {
    case 'contain':
      return (
        `scale=${w}:${h}:force_original_aspect_ratio=decrease:force_divisible_by=2,setsar=1,` +
        `format=yuva420p,pad=${w}:${h}:(ow-iw)/2:(oh-ih)/2:color=black@0`
      );
    case 'cover':
      return `scale=${w}:${h}:force_original_aspect_ratio=increase,crop=${w}:${h},setsar=1,format=yuva420p`;
    case 'fill':
      return `scale=${w}:${h},setsar=1,format=yuva420p`;
  }
}

/**
 * Ken Burns by zoompan on an oversampled frame. `x`/`y` place the visible window within the room the
 * zoom leaves (0 = left/top edge, 0.5 = centred, 1 = right/bottom edge), so any value is valid at
 * any zoom and the path never hits a clamp (which would stop the motion with a jolt).
 */
export function kenBurns({
  motion,
  fit,
  rect,
  fps,
  duration,
}: {
  motion: KenBurns;
  fit: Clip['fit'];
  rect: Rect;
  fps: number;
  duration: number;
}): string {
  const k = Math.max(
    1,
    Math.min(KEN_BURNS_OVERSAMPLE, Math.floor(KEN_BURNS_MAX_SIDE / Math.max(rect.width, rect.height))),
  );
  const bw = even(rect.width * k);
  const bh = even(rect.height * k);
  const frames = Math.max(1, Math.round(duration * fps));
  const p = frames > 1 ? `on/${frames - 1}` : '0';
  const lerp = (a: number, b: number) => (a === b ? num(a) : `(${num(a)}+${num(b - a)}*${p})`);
  const z = lerp(motion.from.zoom, motion.to.zoom);
  const x = `(iw-iw/zoom)*${lerp(motion.from.x, motion.to.x)}`;
  const y = `(ih-ih/zoom)*${lerp(motion.from.y, motion.to.y)}`;
  return (
    `${fitFilters(fit, bw, bh)},` +
    `zoompan=z='${z}':x='${x}':y='${y}':d=${frames}:s=${rect.width}x${rect.height}:fps=${fps},` +
    `trim=duration=${num(duration)}`
  );
}

/** Opacity and alpha fades, in the clip's own time (before it is shifted to its start). */
function alphaFilters(clip: Clip): string {
  const f: string[] = [];
  if (clip.opacity < 1) f.push(`colorchannelmixer=aa=${num(clip.opacity)}`);
  if (clip.fadeIn > 0) f.push(`fade=t=in:st=0:d=${num(clip.fadeIn)}:alpha=1`);
  if (clip.fadeOut > 0) {
    f.push(`fade=t=out:st=${num(Math.max(0, clip.duration - clip.fadeOut))}:d=${num(clip.fadeOut)}:alpha=1`);
  }
  return f.join(',');
}

function drawText({
  clip,
  rect,
  fontFile,
  end,
}: {
  clip: Extract<Clip, { type: 'text' }>;
  rect: Rect;
  fontFile: string;
  end: number;
}): string {
  const s = clip.start;
  let alpha = clip.opacity < 1 ? num(clip.opacity) : '';
  const ramps: string[] = [];
  if (clip.fadeIn > 0) ramps.push(`clip((t-${num(s)})/${num(clip.fadeIn)},0,1)`);
  if (clip.fadeOut > 0) ramps.push(`clip((${num(s + clip.duration)}-t)/${num(clip.fadeOut)},0,1)`);
  if (ramps.length) alpha = [alpha, ...ramps].filter(Boolean).join('*');
  const opts = [
    `fontfile=${escapeFilterValue(fontFile)}`,
    'expansion=none',
    `text=${escapeFilterValue(clip.text)}`,
    `fontsize=${clip.fontSize}`,
    `fontcolor=${hex(clip.color)}`,
    // Centred in its rect.
    `x=${rect.x}+(${rect.width}-text_w)/2`,
    `y=${rect.y}+(${rect.height}-text_h)/2`,
    ...(clip.boxColor
      ? [
          'box=1',
          `boxcolor=${hex(clip.boxColor)}`,
          `boxborderw=${Math.max(4, Math.round(clip.fontSize / 3))}`,
        ]
      : []),
    ...(alpha ? [`alpha='${alpha}'`] : []),
    `enable='between(t,${num(s)},${num(end)})'`,
  ];
  return `drawtext=${opts.join(':')}`;
}

function audioChains({
  tracks,
  T,
  addInput,
  inputs,
}: {
  tracks: AudioTrack[];
  T: number;
  addInput: (args: string[]) => number;
  inputs: (key: string) => string;
}): string[] {
  const chains: string[] = [];
  if (tracks.length === 0) {
    // Players expect an audio track; a silent one keeps the output uniform (AAC stereo).
    chains.push(`anullsrc=r=48000:cl=stereo,atrim=duration=${num(T)}[a]`);
    return chains;
  }
  const keyed = new Set(tracks.flatMap((a) => (a.duck ? [a.duck.under] : [])));
  const keyUses = new Map<string, number>();
  for (const a of tracks) if (a.duck) keyUses.set(a.duck.under, (keyUses.get(a.duck.under) ?? 0) + 1);
  const labelOf = (name: string) => `a_${name.replace(/[^A-Za-z0-9]/g, '_')}`;

  tracks.forEach((track, i) => {
    // How long this track may play: its own duration, or to the timeline's end.
    const room = Math.max(0, T - track.start);
    const length = track.duration !== undefined ? Math.min(track.duration, room) : room;
    const idx = addInput([
      ...(track.loop ? ['-stream_loop', '-1'] : []),
      ...(track.trimStart > 0 ? ['-ss', num(track.trimStart)] : []),
      '-t',
      num(length),
      '-i',
      inputs(track.source.key),
    ]);
    const f = [
      `[${idx}:a]asetpts=PTS-STARTPTS`,
      'aresample=48000',
      'aformat=sample_fmts=fltp:channel_layouts=stereo',
    ];
    if (track.gainDb !== 0) f.push(`volume=${num(track.gainDb)}dB`);
    if (track.fadeIn > 0) f.push(`afade=t=in:st=0:d=${num(track.fadeIn)}`);
    // A source shorter than `length` ends before this fade; the fade needs a known end.
    if (track.fadeOut > 0)
      f.push(`afade=t=out:st=${num(Math.max(0, length - track.fadeOut))}:d=${num(track.fadeOut)}`);
    if (track.start > 0) f.push(`adelay=delays=${Math.round(track.start * 1000)}:all=1`);
    // Every track spans the whole timeline, so the ducking key and the mix never end early.
    f.push(`apad=whole_dur=${num(T)}`, `atrim=duration=${num(T)}`);
    const name = labelOf(track.name);
    if (keyed.has(track.name)) {
      const n = keyUses.get(track.name) ?? 0;
      const outs = [`${name}_mix`, ...Array.from({ length: n }, (_, k) => `${name}_key${k}`)];
      chains.push(`${f.join(',')},asplit=${outs.length}${outs.map((o) => `[${o}]`).join('')}`);
    } else {
      chains.push(`${f.join(',')}[${name}_mix]`);
    }
    void i;
  });

  const keyNext = new Map<string, number>();
  const mixInputs: string[] = [];
  for (const track of tracks) {
    const name = labelOf(track.name);
    if (!track.duck) {
      mixInputs.push(`${name}_mix`);
      continue;
    }
    const key = labelOf(track.duck.under);
    const k = keyNext.get(track.duck.under) ?? 0;
    keyNext.set(track.duck.under, k + 1);
    chains.push(`[${name}_mix][${key}_key${k}]${sidechain(track.duck)}[${name}_ducked]`);
    mixInputs.push(`${name}_ducked`);
  }
  const tail = 'aresample=48000,aformat=sample_fmts=fltp:channel_layouts=stereo';
  if (mixInputs.length === 1) {
    chains.push(`[${mixInputs[0]}]${tail}[a]`);
  } else {
    // normalize=0: amix would otherwise divide every input by the input count, silently lowering
    // the voice by 6 dB with one music bed; gains are the Timeline's to set.
    chains.push(
      `${mixInputs.map((m) => `[${m}]`).join('')}amix=inputs=${mixInputs.length}:duration=longest:dropout_transition=0:normalize=0,${tail}[a]`,
    );
  }
  return chains;
}

/**
 * Ducking with sidechaincompress. A compressor's dip grows with how far the key is over threshold;
 * at the highest ratio (20) the dip is ~0.95 dB per dB over. The threshold sits `amountDb` under
 * typical speech (-20 dBFS RMS), so speech at that level dips the bed by about `amountDb`.
 */
function sidechain(duck: NonNullable<AudioTrack['duck']>): string {
  const thresholdDb = -20 - duck.amountDb / 0.95;
  const threshold = Math.max(0.000977, Math.min(1, 10 ** (thresholdDb / 20)));
  return `sidechaincompress=threshold=${num(threshold, 6)}:ratio=20:attack=${num(duck.attackMs)}:release=${num(duck.releaseMs)}:makeup=1`;
}

/**
 * Escapes a value for a filter option inside -filter_complex: first for the option parser
 * (`\ ' :`), then for the graph parser (`\ ' [ ] , ;`).
 */
export function escapeFilterValue(value: string): string {
  const level1 = value.replace(/[\\':]/g, (c) => `\\${c}`);
  return level1.replace(/[\\'[\],;]/g, (c) => `\\${c}`);
}

function hex(color: string): string {
  return `0x${color.slice(1).toLowerCase()}`;
}

function even(n: number): number {
  return Math.max(2, Math.round(n / 2) * 2);
}

/** A number as ffmpeg reads it: no exponent, at most `digits` decimals, no trailing zeros. */
function num(n: number, digits = 3): string {
  const s = n.toFixed(digits);
  return s.includes('.') ? s.replace(/\.?0+$/, '') || '0' : s;
}
