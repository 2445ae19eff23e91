import { z } from 'zod';
import { JobId, JobKind, MediaOutput, Step } from './common.ts';

/** The job document: the read model a user sees through `GET /v1/jobs/:id`. */

export const JobStatus = z.enum(['queued', 'running', 'completed', 'failed', 'stalled']);
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

export const Job = z.object({
  id: JobId,
  kind: JobKind,
  status: JobStatus,
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
  /** Key that makes a job unique beyond its id, e.g. `twilio:<RecordingSid>`. */
  dedupeKey: z.string().optional(),
  traceId: z.string().optional(),
  /** The data of the event that started the job. */
  input: z.record(z.string(), z.unknown()).default({}),
  steps: z.record(Step, StepState).default({}),
  progress: z.number().min(0).max(100).default(0),
  outputs: z
    .object({ video: MediaOutput.optional(), audio: MediaOutput.optional() })
    .catchall(MediaOutput)
    .default({}),
  warnings: z.array(z.string()).default([]),
  error: z.object({ step: z.string(), reason: z.string() }).optional(),
  fallback: z.enum(['audio_only']).optional(),
  /** Why the fallback was delivered instead of the video. */
  fallbackReason: z.string().optional(),
  callbackUrl: z.string().optional(),
  notifications: z.array(NotificationAttempt).default([]),
  cost: z
    .object({ backend: z.string(), estimateUsd: z.number().optional(), cpuSeconds: z.number().optional() })
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
