// What the studio reads from the public /v1 API. The job document and event envelopes are the
// contracts' own types (type-only imports: nothing of @reelbus/contracts is bundled).
import type { EventOf, EventType, Job, JobKind, JobStatus, MediaOutput, StepState } from '@reelbus/contracts';

export type { EventType, Job, JobKind, JobStatus, MediaOutput, StepState };

/** `GET /v1/jobs/:id`: the job document plus links. */
export type JobView = Job & {
  links?: {
    self?: string;
    events?: string;
    /** A signed, expiring link to the video (no key needed). */
    video?: string;
    /** A signed link to the poster frame, when the job has one. */
    poster?: string;
    /** A signed link to the audio a speech, music or audio generation made. */
    audio?: string;
    /** The job's trace in Jaeger. */
    trace?: string;
  };
};

/** One bus event as the event streams send it (`data:` of a message), discriminated by `type`. */
export type Envelope = { [T in EventType]: EventOf<T> }[EventType];

/** `GET /v1/kinds`: a job kind, its steps with their weight in the overall progress, its phases. */
export interface KindSpec {
  kind: JobKind;
  description: string;
  steps: Array<{ name: string; weight: number; optional?: boolean; description: string }>;
  phases: string[];
}

/** A field the API named in a `400` (ingest answers every bad field at once in `issues`). */
export interface FieldIssue {
  field: string;
  message: string;
}

/** Every error answer of the API. */
export interface ApiErrorBody {
  error: { code: string; message: string; field?: string; issues?: FieldIssue[] };
}

/** `GET /v1/me`: the key the studio is signed in with. */
export interface Me {
  name: string;
  role: 'operator' | 'user';
}

/** `POST /v1/jobs/:id/links`. */
export interface SignedLink {
  url: string;
  expiresAt: string;
}

/** `202` of a job-creating route. */
export interface JobAccepted {
  jobId: string;
  statusUrl: string;
  eventsUrl: string;
}

/** The part of JSON Schema a model's params use (GET /v1/models → `params`). */
export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  anyOf?: JsonSchema[];
  enum?: unknown[];
  default?: unknown;
  description?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  multipleOf?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
}

export interface ModelPricing {
  unit: 'run' | 'output_second' | 'compute_second' | '1k_characters';
  /** US dollars per unit. */
  price: number;
  hardware?: string;
}

/** `GET /v1/models`: one model of the registry. */
export interface ModelInfo {
  id: string;
  type: 'image' | 'video' | 'audio' | 'speech' | 'avatar';
  provider: string;
  ref: string;
  description?: string;
  params: JsonSchema;
  pricing: ModelPricing;
  estimatedTimeSec: number;
}

/** `202` of `POST /v1/generations`. */
export interface GenerationAccepted extends JobAccepted {
  model: string;
  estimatedCostUsd: number;
  estimatedTimeSec: number;
}

/** `GET /v1/dead-letters`: a message a service gave up on. */
export interface DeadLetter {
  seq: number;
  at: string;
  reason: string;
  service: string;
  step: string;
  type?: string;
  jobId?: string;
  deliveries?: number;
  originalSubject: string;
  originalId?: string;
  event?: unknown;
  invalid?: string;
  raw?: string;
}

/** `POST /v1/dead-letters/:seq/replay`. */
export interface DeadLetterReplayed {
  seq: number;
  jobId?: string;
  type?: string;
  service: string;
  replay: { stream: string; seq: number; msgId: string };
}

/** `POST /v1/jobs/:id/retry`. */
export interface JobRetried {
  jobId: string;
  status: JobStatus;
  step?: string;
  replayed: DeadLetterReplayed[];
}
