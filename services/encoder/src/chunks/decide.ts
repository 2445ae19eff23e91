/**
 * The decisions of a chunked render, pure (each has a table test in decide.test.ts): whether a
 * Timeline is chunked, where its parts live, how the fan-in records a part and claims the join, and
 * what progress a user sees. The handlers in chunked.ts only carry them out.
 */
import {
  applyOutputPreset,
  Timeline,
  timelineFrames,
  type Job,
  type TimelineInput,
} from '@reelbus/contracts';
import { planChunks, type ChunkPlan } from './plan.ts';

/** Timelines longer than this many seconds are chunked (setting CHUNK_THRESHOLD_SEC; the reference's 90 s). */
export const DEFAULT_CHUNK_THRESHOLD_SEC = 90;

export interface ChunkingSettings {
  /** Chunk Timelines longer than this (seconds); 0 chunks every Timeline of more than one chunk. */
  thresholdSec: number;
  /** Seconds of output per chunk. */
  chunkSeconds: number;
}

export type ChunkingDecision =
  { chunked: false; reason: string } | { chunked: true; plan: ChunkPlan; durationSec: number };
export type ChunkPlanDecision = Extract<ChunkingDecision, { chunked: true }>;

/**
 * Whether a Timeline is rendered in chunks, and its plan. Only the `ffmpeg` backend chunks (MediaConvert
 * renders a whole job itself); a Timeline at or under the threshold, or one the plan leaves as a single
 * chunk, is rendered in one pass.
 */
export function decideChunking({
  timeline,
  backend,
  settings,
}: {
  timeline: Timeline | TimelineInput;
  backend: string;
  settings: ChunkingSettings;
}): ChunkingDecision {
  if (backend !== 'ffmpeg') return { chunked: false, reason: `the ${backend} backend renders whole jobs` };
  const t = applyOutputPreset(Timeline.parse(timeline));
  const durationSec = timelineFrames(t) / t.output.fps;
  if (durationSec <= settings.thresholdSec) {
    return {
      chunked: false,
      reason: `${round3(durationSec)} s is within CHUNK_THRESHOLD_SEC (${settings.thresholdSec} s)`,
    };
  }
  const plan = planChunks({ timeline: t, chunkSeconds: settings.chunkSeconds });
  if (plan.chunks.length < 2) return { chunked: false, reason: 'the plan has a single chunk' };
  return { chunked: true, plan, durationSec };
}

const round3 = (n: number) => Math.round(n * 1000) / 1000;

/** Where a chunked render keeps its parts (intermediates under `jobs/<jobId>/chunks/`). */
export const chunkKeys = {
  /** The claim check every chunk event points at: the Timeline, the plan, the probe facts. */
  plan: (jobId: string) => `jobs/${jobId}/chunks/plan.json`,
  /** Chunk `index`'s video-only MP4. */
  chunk: (jobId: string, index: number) => `jobs/${jobId}/chunks/chunk-${String(index).padStart(4, '0')}.mp4`,
  /** The whole Timeline's audio, rendered once. */
  audio: (jobId: string) => `jobs/${jobId}/chunks/audio.m4a`,
};

/** One chunk (or the audio) as the fan-in records it on the job. */
export interface RecordedPart {
  key: string;
  /** Video frames (chunks), or undefined for the audio. */
  frames?: number;
  /** When its `rendered` event happened. */
  at: string;
  /** CPU seconds its ffmpeg used, when known. */
  cpuSeconds?: number;
}

/** The fan-in's state on the job document, `job.state.chunkedRender`. */
export interface ChunkedRenderState {
  /** How many chunks the plan has (from the chunk events). */
  count?: number;
  /** Frames of the whole render (from the chunk events' plan). */
  totalFrames?: number;
  /** When the plan was made: the start of the render, for the time left. */
  plannedAt?: string;
  chunks: Record<string, RecordedPart>;
  audio?: RecordedPart;
  /** The event whose handler joins the parts (exactly one per job). */
  claim?: { by: string; at: string };
  /** A chunk (or the audio) failed for good: the others stop rendering. */
  failed?: { part: string; reason: string; at: string };
}

const STATE_KEY = 'chunkedRender';

/** The fan-in state of a job (empty when none yet). */
export function readChunkedState(job: Job): ChunkedRenderState {
  const s = job.state[STATE_KEY];
  if (!s || typeof s !== 'object') return { chunks: {} };
  const st = s as Partial<ChunkedRenderState>;
  return { ...st, chunks: { ...st.chunks } };
}

/** The job with its fan-in state replaced. */
export function writeChunkedState(job: Job, state: ChunkedRenderState): Job {
  return { ...job, state: { ...job.state, [STATE_KEY]: state } };
}

/** What a `rendered` event tells the fan-in. */
export type RenderedPart =
  | {
      type: 'chunk';
      index: number;
      count: number;
      key: string;
      frames: number;
      totalFrames: number;
      plannedAt: string;
      cpuSeconds?: number;
    }
  | { type: 'audio'; key: string; plannedAt: string; cpuSeconds?: number };

/** True when every chunk of the plan and the audio are recorded. */
export function partsComplete(s: ChunkedRenderState): boolean {
  if (s.count === undefined || !s.audio) return false;
  for (let i = 0; i < s.count; i++) if (!s.chunks[String(i)]) return false;
  return true;
}

/**
 * Inside a compare-and-set update of the job: records `part` and, when it completes the set and
 * nobody claimed the join yet, claims it for `claimant` (the event id). Because the claim is written
 * in the same update as the last part, two replicas recording the last two parts at once cannot both
 * see themselves as the claimant. Recording a part twice (a redelivery) changes nothing.
 */
export function recordPart({
  state,
  part,
  claimant,
  at,
}: {
  state: ChunkedRenderState;
  part: RenderedPart;
  claimant: string;
  at: string;
}): ChunkedRenderState {
  const next: ChunkedRenderState = { ...state, chunks: { ...state.chunks } };
  next.plannedAt = minIso(state.plannedAt, part.plannedAt);
  if (part.type === 'chunk') {
    next.count = part.count;
    next.totalFrames = part.totalFrames;
    next.chunks[String(part.index)] ??= { key: part.key, frames: part.frames, at, ...cpu(part) };
  } else {
    next.audio ??= { key: part.key, at, ...cpu(part) };
  }
  if (!next.claim && !next.failed && partsComplete(next)) next.claim = { by: claimant, at };
  return next;
}

const cpu = (p: { cpuSeconds?: number }) => (p.cpuSeconds !== undefined ? { cpuSeconds: p.cpuSeconds } : {});

/** CPU seconds of every part, when each part reported its own (else undefined: a partial sum would mislead). */
export function partsCpuSeconds(s: ChunkedRenderState): number | undefined {
  const parts = [...Object.values(s.chunks), ...(s.audio ? [s.audio] : [])];
  if (parts.length === 0 || parts.some((p) => p.cpuSeconds === undefined)) return undefined;
  return Math.round(parts.reduce((n, p) => n + p.cpuSeconds!, 0) * 100) / 100;
}

function minIso(a: string | undefined, b: string): string {
  return a === undefined || b < a ? b : a;
}

/** The fan-in's progress for users: chunks done, frames done, the encode step's percent, seconds left. */
export function chunkedProgress({ state, now }: { state: ChunkedRenderState; now: Date }): {
  chunks: { done: number; total: number };
  frames: { done: number; total: number };
  percent: number;
  etaSec?: number;
} {
  const total = state.count ?? 0;
  const recorded = Object.values(state.chunks);
  const framesDone = recorded.reduce((n, c) => n + (c.frames ?? 0), 0);
  const framesTotal = state.totalFrames ?? 0;
  // The join is a stream copy: rendering is ~95 % of a chunked encode.
  const percent = framesTotal > 0 ? Math.min(95, Math.floor((95 * framesDone) / framesTotal)) : 0;
  let etaSec: number | undefined;
  if (state.plannedAt && framesDone > 0 && framesTotal > 0) {
    const elapsed = Math.max(0, (now.getTime() - new Date(state.plannedAt).getTime()) / 1000);
    etaSec = Math.round((elapsed * (framesTotal - framesDone)) / framesDone);
  }
  return {
    chunks: { done: recorded.length, total },
    frames: { done: framesDone, total: framesTotal },
    percent,
    ...(etaSec !== undefined ? { etaSec } : {}),
  };
}

/** How a chunk is named in logs and errors: `chunk 3 of 10 (index 2, frames 1800-2699, 60-89.967 s)`. */
export function describeChunk({
  index,
  count,
  startFrame,
  frameCount,
  fps,
}: {
  index: number;
  count: number;
  startFrame: number;
  frameCount: number;
  fps: number;
}): string {
  const last = startFrame + frameCount - 1;
  return `chunk ${index + 1} of ${count} (index ${index}, frames ${startFrame}-${last}, ${round3(startFrame / fps)}-${round3(last / fps)} s)`;
}
