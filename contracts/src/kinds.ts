import { z } from 'zod';

/**
 * Job kinds and the steps each one runs. A kind declares its steps (with their weight in the overall
 * progress) and the phases it shows users, here, so the notifier's projection needs no edit for a
 * new kind: add an entry, publish `job.progress` for its steps, and progress adds up.
 */

/** What made a job. */
export const JobKind = z.enum(['call', 'story', 'render', 'merge', 'generation', 'reel', 'project']);
export type JobKind = z.infer<typeof JobKind>;

export interface StepSpec {
  /** The step name used in `job.progress`, `job.failed` and the job document's `steps`. */
  name: string;
  /** Share of the overall progress (a kind's weights sum to 100). */
  weight: number;
  /** Counted only once the job document shows the step (e.g. `download` for Twilio calls only). */
  optional?: boolean;
  /** One line for users (API docs, the studio). */
  description: string;
}

export interface JobKindSpec {
  kind: JobKind;
  description: string;
  steps: readonly StepSpec[];
  /**
   * The phases a long job shows (`progressDetail.phase`), in order: a projected phase only moves
   * forward through this list. Empty for kinds without phases.
   */
  phases: readonly string[];
}

/** The phases of a rendered video, as Remotion's and the scene editor's users see them. */
export const RENDER_PHASES = ['preparing', 'rendering', 'concatenating', 'uploading', 'complete'] as const;

const ingest = (weight = 2): StepSpec => ({ name: 'ingest', weight, description: 'request accepted' });
const notify = (weight = 5): StepSpec => ({
  name: 'notify',
  weight,
  description: 'job document completed, webhook sent',
});

export const JOB_KINDS = {
  call: {
    kind: 'call',
    description: 'A dual-channel call recording → a split-screen talking video',
    steps: [
      ingest(),
      { name: 'download', weight: 3, optional: true, description: 'recording fetched (Twilio)' },
      { name: 'split', weight: 8, description: 'channels split and probed' },
      { name: 'generate', weight: 37, optional: true, description: 'avatar clips generated' },
      { name: 'compose', weight: 5, description: 'Timeline written' },
      { name: 'encode', weight: 40, description: 'video rendered' },
      notify(),
    ],
    phases: [],
  },
  story: {
    kind: 'story',
    description: 'A spoken story and photos → a branded slideshow with music under the voice',
    steps: [
      ingest(),
      { name: 'normalize', weight: 8, description: 'speech fetched, probed and loudness-normalised' },
      { name: 'images', weight: 12, description: 'photos fetched, oriented and converted' },
      { name: 'compose', weight: 5, description: 'Timeline written' },
      { name: 'encode', weight: 68, description: 'video rendered' },
      notify(),
    ],
    phases: [],
  },
  render: {
    kind: 'render',
    description: 'A submitted Timeline → an MP4 (and HLS), chunked when long',
    steps: [
      ingest(),
      { name: 'fetch', weight: 5, optional: true, description: 'URL sources fetched into storage' },
      { name: 'compose', weight: 5, description: 'auto starts and durations resolved' },
      { name: 'encode', weight: 83, description: 'video rendered' },
      notify(),
    ],
    phases: RENDER_PHASES,
  },
  merge: {
    kind: 'merge',
    description: 'N clips → one MP4, stream-copied when the inputs match',
    steps: [
      ingest(),
      { name: 'fetch', weight: 8, optional: true, description: 'URL inputs fetched into storage' },
      { name: 'merge', weight: 85, description: 'inputs compared, normalised where needed, joined' },
      notify(),
    ],
    phases: [],
  },
  generation: {
    kind: 'generation',
    description: 'One run of a model from the registry → media in blob storage',
    steps: [
      ingest(),
      { name: 'generate', weight: 88, description: 'the provider ran the model' },
      { name: 'store', weight: 5, description: 'output stored, probed, thumbnailed' },
      notify(),
    ],
    phases: [],
  },
  reel: {
    kind: 'reel',
    description: "A reel's compile: the approved takes merged in section order",
    steps: [ingest(), { name: 'merge', weight: 93, description: 'approved takes joined' }, notify()],
    phases: [],
  },
  project: {
    kind: 'project',
    description: 'A scene project revision → a preview or final video',
    steps: [
      ingest(),
      { name: 'prepare', weight: 25, description: 'voiceovers and visuals made or reused' },
      { name: 'compose', weight: 3, description: 'Timeline written' },
      { name: 'encode', weight: 65, description: 'video rendered' },
      notify(),
    ],
    phases: RENDER_PHASES,
  },
} as const satisfies { [K in JobKind]: JobKindSpec & { kind: K } };

/** The spec of `kind`. */
export function jobKind(kind: JobKind): JobKindSpec {
  return JOB_KINDS[kind];
}

/** Every step name some kind declares. */
export const KNOWN_STEPS: readonly string[] = [
  ...new Set(Object.values(JOB_KINDS).flatMap((k) => k.steps.map((s) => s.name))),
];

/**
 * The weights of `kind`'s steps that count for a job whose document shows `present` steps: every
 * required step, and the optional ones the job has run.
 */
export function progressWeights(kind: JobKind, present: ReadonlySet<string>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of jobKind(kind).steps) {
    if (!s.optional || present.has(s.name)) out[s.name] = s.weight;
  }
  return out;
}

/** Index of `phase` in the kind's phases (-1 when the kind does not list it). */
export function phaseRank(kind: JobKind, phase: string): number {
  return (jobKind(kind).phases as readonly string[]).indexOf(phase);
}
