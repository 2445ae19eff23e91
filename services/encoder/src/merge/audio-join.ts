/*
 * Joining the clips' AAC sound without decoding it, in sync with the picture at every join.
 *
 * A naive copy join drifts: every AAC stream starts with encoder priming (1024 samples from ffmpeg,
 * 2112 from Apple's encoder) that the MP4 edit list hides, and ends with padding to a whole frame.
 * Joined, each clip's priming and padding become sound: 20 clips of 2 s from ffmpeg decode to 40.53 s
 * of audio under 40 s of picture. So the sound is joined frame by frame instead (see `planAudioJoin`):
 * each clip's sound starts where its picture starts and the total never drifts by more than half a
 * frame (10.7 ms at 48 kHz).
 * `planAudioJoin` decides (pure); `parseAdts` / `joinAdts` carry it out on ADTS frames.
 */

/** One clip's sound as the join sees it. */
export interface AudioJoinClip {
  /** Samples of picture (the clip's video duration × sample rate). */
  videoSamples: number;
  /** Absent: the clip has no sound (silence fills it). */
  audio?: {
    /** AAC frames available (ADTS frames extracted). */
    frames: number;
    /** Samples of encoder priming at the start. */
    primingSamples: number;
    /** Samples between the picture's start and the first real audio sample. */
    leadSamples: number;
  };
}

/** One output frame: frame `frame` of clip `clip`, or a silent frame. */
export type FrameRef = { clip: number; frame: number } | { silence: true };

export interface AudioJoinPlan {
  /** Frames placed before time 0 (the first clip's priming): the output's edit list hides them. */
  preroll: FrameRef[];
  /** The frames from time 0 on, in order. */
  frames: FrameRef[];
  /** Per clip: output sample where its first real sound lands, and where its picture starts. */
  starts: Array<{ audioSample: number; videoSample: number }>;
  /** Silent frames needed (a silent frame must be made when > 0). */
  silentFrames: number;
}

/**
 * Plans the joined sound. Each clip keeps its priming frames, placed so that they END where its
 * picture starts: they give the decoder the context of the clip's first real frame (without them its
 * first 21 ms would decode as a fade-in from the previous clip), and what they decode to (the
 * encoder's start-up, near silence) replaces the previous clip's last few milliseconds. Then frames
 * are taken, dropped or filled with silence so that after each clip the output holds within half a
 * frame of the picture's samples so far: errors never add up, and each clip's real sound starts
 * within half a frame of its picture (plus its own lead).
 */
export function planAudioJoin({
  clips,
  frameSamples = 1024,
}: {
  clips: readonly AudioJoinClip[];
  frameSamples?: number;
}): AudioJoinPlan {
  const half = frameSamples / 2;
  const videoStarts: number[] = [];
  let total = 0;
  for (const c of clips) {
    videoStarts.push(total);
    total += c.videoSamples;
  }
  /** Where clip k's frame 0 should go: its priming ends at its picture's start (plus lead). */
  const slotStart = (k: number): number => {
    const c = clips[k];
    if (!c) return total;
    return c.audio ? videoStarts[k]! + c.audio.leadSamples - c.audio.primingSamples : videoStarts[k]!;
  };
  const preroll: FrameRef[] = [];
  const frames: FrameRef[] = [];
  const starts: AudioJoinPlan['starts'] = [];
  let silentFrames = 0;
  // Frames before time 0 (the first clip's priming) are hidden by the output's edit list.
  let pos = Math.min(0, slotStart(0));
  const push = (ref: FrameRef) => {
    (pos < 0 ? preroll : frames).push(ref);
    if ('silence' in ref) silentFrames++;
    pos += frameSamples;
  };
  clips.forEach((clip, k) => {
    const end = Math.min(k + 1 < clips.length ? slotStart(k + 1) : total, total);
    const a = clip.audio;
    if (a) {
      const start = slotStart(k);
      while (pos + half <= start && pos + half <= end) push({ silence: true });
      starts.push({ audioSample: pos + a.primingSamples, videoSample: videoStarts[k]! });
      for (let f = 0; f < a.frames && pos + half <= end; f++) push({ clip: k, frame: f });
    } else {
      starts.push({ audioSample: pos, videoSample: videoStarts[k]! });
    }
    while (pos + half <= end) push({ silence: true });
  });
  return { preroll, frames, starts, silentFrames };
}

const ADTS_RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];

/**
 * The 7-byte ADTS header (ISO 13818-7, no CRC) of a raw AAC frame of `payloadBytes`, as ffmpeg's ADTS
 * muxer writes it; undefined when ADTS cannot say this configuration (an explicit sample rate, a
 * channel configuration of 0 or above 7, an object type above 4).
 */
export function adtsHeader({
  objectType,
  sampleRate,
  channelConfig,
  payloadBytes,
}: {
  objectType: number;
  sampleRate: number;
  channelConfig: number;
  payloadBytes: number;
}): Uint8Array | undefined {
  const freq = ADTS_RATES.indexOf(sampleRate);
  const length = payloadBytes + 7;
  if (
    freq < 0 ||
    objectType < 1 ||
    objectType > 4 ||
    channelConfig < 1 ||
    channelConfig > 7 ||
    length > 0x1fff
  )
    return undefined;
  return Uint8Array.of(
    0xff,
    0xf1,
    ((objectType - 1) << 6) | (freq << 2) | (channelConfig >> 2),
    ((channelConfig & 3) << 6) | (length >> 11),
    (length >> 3) & 0xff,
    ((length & 7) << 5) | 0x1f,
    0xfc,
  );
}

/** One ADTS frame: its bytes (header included). */
export type AdtsFrame = Uint8Array;

/** Splits an ADTS stream (ffmpeg `-f adts`) into frames. Throws on a broken header. */
export function parseAdts(data: Uint8Array): AdtsFrame[] {
  const frames: AdtsFrame[] = [];
  let i = 0;
  while (i < data.length) {
    if (i + 7 > data.length) throw new Error(`ADTS: ${data.length - i} trailing bytes at ${i}`);
    if (data[i] !== 0xff || ((data[i + 1] ?? 0) & 0xf6) !== 0xf0)
      throw new Error(`ADTS: no sync word at byte ${i}`);
    const length = ((data[i + 3]! & 0x03) << 11) | (data[i + 4]! << 3) | (data[i + 5]! >> 5);
    const blocks = (data[i + 6]! & 0x03) + 1;
    if (blocks !== 1)
      throw new Error(`ADTS: ${blocks} raw data blocks in the frame at byte ${i}; expected 1`);
    if (length < 7 || i + length > data.length)
      throw new Error(`ADTS: bad frame length ${length} at byte ${i}`);
    frames.push(data.subarray(i, i + length));
    i += length;
  }
  return frames;
}

/** The joined ADTS stream for `plan`: the clips' frames and `silentFrame` where silence goes. */
export function joinAdts({
  plan,
  clipFrames,
  silentFrame,
}: {
  plan: AudioJoinPlan;
  /** Per clip, its ADTS frames (empty for a clip without sound). */
  clipFrames: readonly (readonly AdtsFrame[])[];
  silentFrame?: AdtsFrame;
}): Buffer {
  const parts: Uint8Array[] = [];
  for (const ref of [...plan.preroll, ...plan.frames]) {
    if ('silence' in ref) {
      if (!silentFrame) throw new Error('joinAdts: the plan needs silence but no silent frame was given');
      parts.push(silentFrame);
    } else {
      const f = clipFrames[ref.clip]?.[ref.frame];
      if (!f) throw new Error(`joinAdts: clip ${ref.clip} has no frame ${ref.frame}`);
      parts.push(f);
    }
  }
  return Buffer.concat(parts);
}
