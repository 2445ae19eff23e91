import { z } from 'zod';
import { EnvelopeBase, type EventDefinition } from './envelope.ts';
import { AudioNormalizedV1 } from './events/audio-normalized.ts';
import { AudioSplitV1 } from './events/audio-split.ts';
import { ClipGeneratedV1 } from './events/clip-generated.ts';
import { ClipRequestedV1 } from './events/clip-requested.ts';
import { GenerationCallbackV1 } from './events/generation-callback.ts';
import { GenerationRequestedV1 } from './events/generation-requested.ts';
import { ImagesConvertedV1 } from './events/images-converted.ts';
import { JobCancelledV1 } from './events/job-cancelled.ts';
import { JobCompletedV1 } from './events/job-completed.ts';
import { JobFailedV1 } from './events/job-failed.ts';
import { JobProgressV1 } from './events/job-progress.ts';
import { JobStalledV1 } from './events/job-stalled.ts';
import { MergeRequestedV1 } from './events/merge-requested.ts';
import { ProjectAssetReadyV1 } from './events/project-asset-ready.ts';
import { ProjectAssetRequestedV1 } from './events/project-asset-requested.ts';
import { ProjectRenderRequestedV1 } from './events/project-render-requested.ts';
import { JobWarningV1 } from './events/job-warning.ts';
import { RecordingReceivedV1 } from './events/recording-received.ts';
import { ReelUpdatedV1 } from './events/reel-updated.ts';
import { RenderAudioRenderedV1 } from './events/render-audio-rendered.ts';
import { RenderAudioRequestedV1 } from './events/render-audio-requested.ts';
import { RenderChunkRenderedV1 } from './events/render-chunk-rendered.ts';
import { RenderChunkRequestedV1 } from './events/render-chunk-requested.ts';
import { RenderRequestedV1 } from './events/render-requested.ts';
import { StoryReceivedV1 } from './events/story-received.ts';
import { TimelineReadyV1 } from './events/timeline-ready.ts';
import { VideoEncodedV1 } from './events/video-encoded.ts';

/** Every event reelbus knows, at every version. A `v2` goes beside its `v1` here. */
export const catalogue = [
  RecordingReceivedV1,
  StoryReceivedV1,
  AudioSplitV1,
  AudioNormalizedV1,
  ImagesConvertedV1,
  ClipRequestedV1,
  ClipGeneratedV1,
  RenderRequestedV1,
  TimelineReadyV1,
  MergeRequestedV1,
  RenderChunkRequestedV1,
  RenderAudioRequestedV1,
  RenderChunkRenderedV1,
  RenderAudioRenderedV1,
  VideoEncodedV1,
  GenerationRequestedV1,
  GenerationCallbackV1,
  ReelUpdatedV1,
  ProjectRenderRequestedV1,
  ProjectAssetRequestedV1,
  ProjectAssetReadyV1,
  JobProgressV1,
  JobWarningV1,
  JobCompletedV1,
  JobFailedV1,
  JobStalledV1,
  JobCancelledV1,
] as const;

type Catalogue = (typeof catalogue)[number];

/** The newest definition of each type, keyed by type: what publishers use by default. */
export type EventType = Catalogue['type'];

/** Data of the newest version of an event type. */
export type EventData<T extends EventType> = z.infer<Extract<Catalogue, { type: T }>['data']>;
/** Data as a publisher may write it (defaults not yet applied). */
export type EventDataInput<T extends EventType> = z.input<Extract<Catalogue, { type: T }>['data']>;

/** A validated event of type T. */
export interface EventOf<T extends EventType> {
  id: string;
  type: T;
  version: number;
  jobId: string;
  occurredAt: string;
  /** The job is a test run (issue 15 §4); services carry it onto every event they publish for the job. */
  testMode?: boolean;
  data: EventData<T>;
}

export const eventTypes: EventType[] = [...new Set(catalogue.map((d) => d.type))];

const byKey = new Map<string, EventDefinition>(catalogue.map((d) => [`${d.type}@${d.version}`, d]));

/** The definition of `type` at `version`, or undefined. */
export function findEvent(type: string, version: number): EventDefinition | undefined {
  return byKey.get(`${type}@${version}`);
}

/** The newest version of `type`. */
export function latestEvent<T extends EventType>(type: T): Extract<Catalogue, { type: T }> {
  let best: EventDefinition | undefined;
  for (const d of catalogue) if (d.type === type && (!best || d.version > best.version)) best = d;
  if (!best) throw new Error(`unknown event type "${type}"`);
  return best as Extract<Catalogue, { type: T }>;
}

export type ParseResult =
  | { ok: true; event: EventOf<EventType> }
  | { ok: false; reason: string; partial?: { id?: string; type?: string; version?: number; jobId?: string } };

/** Formats zod issues as `field.path: message; …`, naming every bad field. */
export function formatIssues(error: z.ZodError, prefix = ''): string {
  return error.issues
    .map((i) => {
      const path = [prefix, ...i.path.map(String)].filter(Boolean).join('.');
      return `${path || '(root)'}: ${i.message}`;
    })
    .join('; ');
}

/**
 * Validates raw message bytes or an object as an envelope of a known type and version.
 * Never throws: an invalid message is a result with a reason (the consume loop dead-letters it).
 */
export function parseEnvelope(raw: Uint8Array | string | unknown): ParseResult {
  let value: unknown = raw;
  if (raw instanceof Uint8Array || typeof raw === 'string') {
    const text = typeof raw === 'string' ? raw : new TextDecoder().decode(raw);
    try {
      value = JSON.parse(text);
    } catch (err) {
      return { ok: false, reason: `message is not valid JSON: ${(err as Error).message}` };
    }
  }
  const base = EnvelopeBase.safeParse(value);
  const partial = pickPartial(value);
  if (!base.success) return { ok: false, reason: `invalid envelope: ${formatIssues(base.error)}`, partial };
  const def = findEvent(base.data.type, base.data.version);
  if (!def) {
    const known = catalogue.filter((d) => d.type === base.data.type).map((d) => `v${d.version}`);
    return {
      ok: false,
      partial,
      reason: known.length
        ? `unknown version v${base.data.version} of "${base.data.type}" (this consumer knows ${known.join(', ')})`
        : `unknown event type "${base.data.type}"`,
    };
  }
  const full = def.envelope.safeParse(value);
  if (!full.success) {
    return { ok: false, reason: `invalid ${def.type} v${def.version}: ${formatIssues(full.error)}`, partial };
  }
  return { ok: true, event: full.data as EventOf<EventType> };
}

function pickPartial(
  value: unknown,
): { id?: string; type?: string; version?: number; jobId?: string } | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const v = value as Record<string, unknown>;
  const out: { id?: string; type?: string; version?: number; jobId?: string } = {};
  if (typeof v.id === 'string') out.id = v.id;
  if (typeof v.type === 'string') out.type = v.type;
  if (typeof v.version === 'number') out.version = v.version;
  if (typeof v.jobId === 'string') out.jobId = v.jobId;
  return out;
}
