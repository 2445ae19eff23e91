import { z } from 'zod';
import { JobId, MediaOutput, Step } from './common.ts';
import { JobKind } from './kinds.ts';

/** The job document: the read model a user sees through `GET /v1/jobs/:id`. */

export const JobStatus = z.enum(['queued', 'running', 'completed', 'failed', 'stalled', 'cancelled']);
export type JobStatus = z.infer<typeof JobStatus>;

export const StepState = z.object({
  status: z.enum(['pending', 'running', 'completed', 'failed', 'skipped']),
  startedAt: z.iso.datetime().optional(),
  finishedAt: z.iso.datetime().optional(),
  durationMs: z.number().nonnegative().optional(),
  percent: z.number().min(0).max(100).optional(),
  attempts: z.number().int().nonnegative().optional(),
  message: z.string().optional(),
  error: z.string().optional(),
});
export type StepState = z.infer<typeof StepState>;

export const NotificationAttempt = z.object({
  at: z.iso.datetime(),
  url: z.string(),
  event: z.string(),
  attempt: z.number().int().positive(),
  ok: z.boolean(),
  status: z.number().int().optional(),
  error: z.string().optional(),
});
export type NotificationAttempt = z.infer<typeof NotificationAttempt>;

/** A finished job's status never changes again (a completion still beats a failure, see the notifier). */
export const TERMINAL_JOB_STATUSES: readonly JobStatus[] = ['completed', 'failed', 'cancelled'];

/** Why a job delivered something other than the full result. */
export const Fallback = z.enum(['audio_only', 'clips_only']);
export type Fallback = z.infer<typeof Fallback>;

/** A done/total pair (chunks, frames), never decreasing in the projection. */
export const Count = z.object({
  done: z.number().int().nonnegative(),
  total: z.number().int().nonnegative(),
});

/**
 * Live detail of a long step, like Remotion's render progress: the phase users see, chunks and
 * frames done, and an estimate of the time left. Projected from `job.progress`.
 */
export const ProgressDetail = z.object({
  /** One of the kind's `phases` (contracts/src/kinds.ts); only moves forward. */
  phase: z.string().max(40).optional(),
  message: z.string().max(2000).optional(),
  chunks: Count.optional(),
  frames: Count.optional(),
  /** Seconds left, estimated from the rate so far. */
  etaSec: z.number().nonnegative().optional(),
  updatedAt: z.iso.datetime().optional(),
});
export type ProgressDetail = z.infer<typeof ProgressDetail>;

/** The API key a request came with: its name and role (never the key). */
export const Principal = z.object({
  name: z.string().min(1).max(100),
  role: z.enum(['user', 'operator']),
});
export type Principal = z.infer<typeof Principal>;

/** The document a job belongs to, when it was started from one (a scene project's render, a reel's compile). */
export const JobOrigin = z.object({
  type: z.enum(['project', 'reel']),
  id: z.string().min(1).max(128),
  revision: z.number().int().nonnegative().optional(),
  /** Within a reel: the section and take a generation is for. */
  sectionId: z.string().max(128).optional(),
  takeId: z.string().max(128).optional(),
});
export type JobOrigin = z.infer<typeof JobOrigin>;

/**
 * What retention removed of a job (issue 15 §1): intermediates `INTERMEDIATE_TTL` after the job
 * finished, outputs `OUTPUT_TTL` after it (never by default). Written by the sweeper.
 */
export const JobRetention = z.object({
  /** When the job's intermediates (split audio, clips, converted images, chunks, fetched inputs) were removed. */
  intermediatesRemovedAt: z.iso.datetime().optional(),
  /** When its outputs (final video/audio, HLS, poster) were removed. */
  outputsRemovedAt: z.iso.datetime().optional(),
  /** Blobs and bytes removed so far. */
  blobsRemoved: z.number().int().nonnegative().optional(),
  bytesFreed: z.number().int().nonnegative().optional(),
});
export type JobRetention = z.infer<typeof JobRetention>;

export const Job = z.object({
  id: JobId,
  kind: JobKind,
  status: JobStatus,
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
  /** When the job reached its terminal status (completed, failed, cancelled): retention counts from here. */
  finishedAt: z.iso.datetime().optional(),
  /** Key that makes a job unique beyond its id, e.g. `twilio:<RecordingSid>`. */
  dedupeKey: z.string().optional(),
  traceId: z.string().optional(),
  /** The data of the event that started the job. */
  input: z.record(z.string(), z.unknown()).default({}),
  steps: z.record(Step, StepState).default({}),
  progress: z.number().min(0).max(100).default(0),
  progressDetail: ProgressDetail.optional(),
  outputs: z
    .object({ video: MediaOutput.optional(), audio: MediaOutput.optional() })
    .catchall(MediaOutput)
    .default({}),
  warnings: z.array(z.string()).default([]),
  error: z.object({ step: z.string(), reason: z.string() }).optional(),
  fallback: Fallback.optional(),
  /** Why the fallback was delivered instead of the video. */
  fallbackReason: z.string().optional(),
  callbackUrl: z.string().optional(),
  /** A test run (reference 000's testMode): same pipeline, tagged, excluded from success-rate and cost figures. */
  testMode: z.boolean().default(false),
  /** The API key that submitted the job. */
  submittedBy: Principal.optional(),
  origin: JobOrigin.optional(),
  /** Set when someone asked to cancel the job. */
  cancel: z
    .object({ requestedAt: z.iso.datetime(), by: z.string().optional(), reason: z.string().optional() })
    .optional(),
  retention: JobRetention.optional(),
  notifications: z.array(NotificationAttempt).default([]),
  cost: z
    .object({
      /** What did the work: `ffmpeg`, `mediaconvert`, a generation provider. */
      backend: z.string(),
      estimateUsd: z.number().optional(),
      /** What the provider reported it cost (Replicate predict_time × rate, ElevenLabs characters). */
      actualUsd: z.number().optional(),
      cpuSeconds: z.number().optional(),
    })
    .optional(),
  /** Scratch space for services that must coordinate through the store (fan-in, claims). */
  state: z.record(z.string(), z.unknown()).default({}),
});
export type Job = z.infer<typeof Job>;
export type JobInput = z.input<typeof Job>;

/** A fresh job document with defaults filled in. */
export function newJob(init: Pick<JobInput, 'id' | 'kind'> & Partial<JobInput>, now = new Date()): Job {
  const at = now.toISOString();
  return Job.parse({ status: 'queued', createdAt: at, updatedAt: at, ...init });
}
