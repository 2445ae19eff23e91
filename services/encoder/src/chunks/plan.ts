import {
  applyOutputPreset,
  clipFrames,
  Timeline,
  timelineFrames,
  type Clip,
  type TimelineInput,
} from '@reelbus/contracts';
import { waveformSource } from '../waveform.ts';

/** Seconds of output per chunk (setting CHUNK_SECONDS). */
export const DEFAULT_CHUNK_SECONDS = 30;

/** One chunk: output frames [startFrame, startFrame + frameCount). */
export interface ChunkSpan {
  index: number;
  startFrame: number;
  frameCount: number;
}

export interface ChunkPlan {
  fps: number;
  /** round(duration × fps): what the joined chunks add up to. */
  totalFrames: number;
  /** Frames per chunk before any boundary moves out of a transition. */
  chunkFrames: number;
  chunks: ChunkSpan[];
}

/** A transition on the frame grid: the frames where two clips blend, [from, to). */
interface Blend {
  from: number;
  to: number;
}

/** Every transition's frames, in output frames (after the output preset). */
function blends(t: Timeline): Blend[] {
  const fps = t.output.fps;
  const out: Blend[] = [];
  for (const track of t.tracks) {
    track.clips.forEach((clip, i) => {
      const next = track.clips[i + 1];
      if (!clip.transition || !next) return;
      const to = clipFrames(clip, fps).endFrame;
      const from = clipFrames(next, fps).startFrame;
      if (to > from) out.push({ from, to });
    });
  }
  return out;
}

/**
 * Cuts a Timeline into chunks of equal frame counts (`chunkSeconds` × fps, on the output preset's frame
 * rate), the last one shorter. A boundary that would fall inside a transition moves to the
 * transition's end (xfade needs both clips in one render); the next boundaries stay on the grid.
 */
export function planChunks({
  timeline,
  chunkSeconds = DEFAULT_CHUNK_SECONDS,
}: {
  timeline: Timeline | TimelineInput;
  chunkSeconds?: number;
}): ChunkPlan {
  const t = applyOutputPreset(Timeline.parse(timeline));
  const fps = t.output.fps;
  const totalFrames = timelineFrames(t);
  const chunkFrames = Math.max(1, Math.round(chunkSeconds * fps));
  const inside = blends(t);
  const boundaries: number[] = [];
  for (let b = chunkFrames; b < totalFrames; b += chunkFrames) {
    let at = b;
    // Move out of every transition it falls in (they may chain across tracks).
    for (let moved = true; moved;) {
      moved = false;
      for (const x of inside) {
        if (at > x.from && at < x.to) {
          at = x.to;
          moved = true;
        }
      }
    }
    const last = boundaries[boundaries.length - 1] ?? 0;
    if (at > last && at < totalFrames) boundaries.push(at);
  }
  const edges = [0, ...boundaries, totalFrames];
  const chunks = edges.slice(0, -1).map((startFrame, index) => ({
    index,
    startFrame,
    frameCount: edges[index + 1]! - startFrame,
  }));
  return { fps, totalFrames, chunkFrames, chunks };
}

/**
 * The sub-Timeline of one chunk: only the clips that overlap frames [startFrame, startFrame +
 * frameCount), each moved to the chunk's clock. A clip that began before the chunk starts at 0 with
 * `elapsed` grown by the frames already shown, so its trim (the source is read from trimStart +
 * elapsed), Ken Burns path, fades and waveform continue exactly where they were; `duration` keeps the
 * clip's remaining length (the chunk's `duration` ends it), so fade-outs stay where they belong. A
 * waveform of a track becomes a waveform of the track's file at the same point. No audio tracks:
 * chunks are rendered video-only and the audio once for the whole Timeline.
 */
export function chunkTimeline({
  timeline,
  startFrame,
  frameCount,
}: {
  timeline: Timeline | TimelineInput;
  startFrame: number;
  frameCount: number;
}): Timeline {
  const t = applyOutputPreset(Timeline.parse(timeline));
  const fps = t.output.fps;
  const C = startFrame;
  const end = C + frameCount;
  const s = (frames: number) => frames / fps;
  const tracks = t.tracks.map((track) => {
    const kept = new Set<Clip>();
    for (const clip of track.clips) {
      const f = clipFrames(clip, fps);
      if (f.frames > 0 && f.startFrame < end && f.endFrame > C) kept.add(clip);
    }
    const clips: Clip[] = [];
    track.clips.forEach((clip, i) => {
      if (!kept.has(clip)) return;
      const f = clipFrames(clip, fps);
      const cut = Math.max(0, C - f.startFrame);
      const next = track.clips[i + 1];
      const moved: Clip = {
        ...clip,
        start: s(f.startFrame + cut - C),
        duration: s(f.frames - cut),
        elapsed: s(f.elapsedFrames + cut),
      };
      if (clip.type === 'waveform' && clip.track !== undefined && moved.type === 'waveform') {
        const { key, trimStart } = waveformSource({ clip, timeline: t });
        delete moved.track;
        moved.source = { key };
        // The file position of the clip's own frame 0, exactly as the whole render computes it.
        moved.trimStart = trimStart;
      }
      // A transition needs its next clip in the same render; the planner keeps both in one chunk.
      if (clip.transition && !(next && kept.has(next))) delete moved.transition;
      clips.push(moved);
    });
    return { ...track, clips };
  });
  return Timeline.parse({
    ...t,
    duration: s(frameCount),
    tracks,
    audio: [],
    output: { ...t.output, poster: false, formats: ['mp4'] },
  });
}
