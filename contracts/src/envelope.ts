import { z } from 'zod';
import { JobId } from './common.ts';
import { DEFAULT_NAMESPACE, names } from './subjects.ts';

/** The fields every event shares. `data` is typed per event. */
export const EnvelopeBase = z.object({
  id: z
    .string()
    .min(1)
    .max(256)
    .describe('Unique event id; also sent as Nats-Msg-Id so JetStream drops duplicates'),
  type: z.string().regex(/^[a-z][a-z0-9]*(\.[a-z][a-z0-9_]*)+$/, 'must look like "noun.verb"'),
  version: z.number().int().min(1),
  jobId: JobId,
  occurredAt: z.iso.datetime({ offset: true }),
  testMode: z
    .boolean()
    .optional()
    .describe(
      'The job is a test run (issue 15 §4): same pipeline, tagged in the job document, metrics, traces and webhook, the `local` provider unless the job names another, left out of success-rate and cost figures. Services copy it onto every event they publish for the job.',
    ),
  data: z.unknown(),
});

export interface EventDefinition<
  T extends string = string,
  V extends number = number,
  D extends z.ZodType = z.ZodType,
> {
  type: T;
  version: V;
  description: string;
  /** Schema of `data`. */
  data: D;
  /** Schema of the whole envelope. */
  envelope: z.ZodType<Envelope<T, V, z.infer<D>>>;
  /** Subject in the default namespace (see `names()` for others). */
  subject: string;
}

export interface Envelope<T extends string = string, V extends number = number, D = unknown> {
  id: string;
  type: T;
  version: V;
  jobId: string;
  occurredAt: string;
  /** The job is a test run (see `EnvelopeBase`); absent = false. */
  testMode?: boolean;
  data: D;
}

/** Declares one event type at one version: its data schema, envelope schema and subject, side by side. */
export function defineEvent<const T extends string, const V extends number, D extends z.ZodType>(def: {
  type: T;
  version: V;
  description: string;
  data: D;
}): EventDefinition<T, V, D> {
  const envelope = EnvelopeBase.extend({
    type: z.literal(def.type),
    version: z.literal(def.version),
    data: def.data,
  }).describe(def.description) as unknown as z.ZodType<Envelope<T, V, z.infer<D>>>;
  return { ...def, envelope, subject: names(DEFAULT_NAMESPACE).eventSubject(def.type) };
}
