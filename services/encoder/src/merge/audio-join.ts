/*
 * Joining the clips' AAC sound without decoding it, in sync with the picture at every join.
 *
 * A naive copy join drifts: every AAC stream starts with encoder priming (1024 samples from ffmpeg,
 * 2112 from Apple's encoder) that the MP4 edit list hides, and ends with padding to a whole frame.
 * Joined, each clip's priming and padding become sound: 20 clips of 2 s from ffmpeg decode to 40.53 s
 * of audio under 40 s of picture. So the sound is joined frame by frame instead: each clip's priming
 * frames are dropped (the first clip's are kept before time 0, hidden by the output's edit list), and
 * frames are taken, dropped or filled with silent frames so that each clip's sound starts where its
 * picture starts and the total never drifts by more than half a frame (10.7 ms at 48 kHz).
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
 * Plans the joined sound. Invariant: after each clip the output holds within half a frame of the
 * picture's samples so far, so errors never add up, and each clip's sound starts within half a frame
 * of its picture (plus its own lead).
 */
export function planAudioJoin({
  clips,
  frameSamples = 1024,
}: {
  clips: readonly AudioJoinClip[];
  frameSamples?: number;
}): AudioJoinPlan {
  const half = frameSamples / 2;
  const preroll: FrameRef[] = [];
  const frames: FrameRef[] = [];
  const starts: AudioJoinPlan['starts'] = [];
  let silentFrames = 0;
  let pos = 0; // output samples from time 0
  let videoStart = 0;
  const silence = () => {
    frames.push({ silence: true });
    silentFrames++;
    pos += frameSamples;
  };
  clips.forEach((clip, ci) => {
    const videoEnd = videoStart + clip.videoSamples;
    const a = clip.audio;
    if (a) {
      const primingFrames = Math.floor(a.primingSamples / frameSamples);
      // Priming beyond whole frames stays in the first kept frame: its real sound starts that far in.
      const residual = a.primingSamples - primingFrames * frameSamples;
      if (ci === 0)
        for (let f = 0; f < primingFrames && f < a.frames; f++) preroll.push({ clip: ci, frame: f });
      const contentStart = videoStart + a.leadSamples - residual;
      while (pos + half <= contentStart && pos + half <= videoEnd) silence();
      starts.push({ audioSample: pos + residual, videoSample: videoStart });
      for (let f = primingFrames; f < a.frames; f++) {
        if (pos + half > videoEnd) break;
        frames.push({ clip: ci, frame: f });
        pos += frameSamples;
      }
    } else {
      starts.push({ audioSample: pos, videoSample: videoStart });
    }
    while (pos + half <= videoEnd) silence();
    videoStart = videoEnd;
  });
  return { preroll, frames, starts, silentFrames };
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
