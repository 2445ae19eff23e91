import type { Model } from './types.ts';

const round = (usd: number) => Math.round(usd * 1e6) / 1e6;

/** What a run is expected to cost, in US dollars, before it runs. */
export function estimateCostUsd(opts: { model: Model; params: Record<string, unknown> }): number {
  const { model, params } = opts;
  const { unit, price } = model.pricing;
  switch (unit) {
    case 'run':
      return round(price);
    case 'output_second': {
      const asked = params[model.pricing.durationParam ?? 'duration'];
      const sec = typeof asked === 'number' && asked > 0 ? asked : (model.pricing.assumedOutputSec ?? 0);
      return round(price * sec);
    }
    case 'compute_second':
      return round(price * model.estimatedTimeSec);
    case '1k_characters': {
      const text = params[model.pricing.textParam ?? 'text'];
      return round((price * (typeof text === 'string' ? text.length : 0)) / 1000);
    }
  }
}

/** Facts a finished run reports, from which its actual cost follows. */
export interface RunFacts {
  /** Replicate `metrics.predict_time`, seconds. */
  computeSec?: number | undefined;
  /** The probed length of the output, seconds. */
  outputSec?: number | undefined;
  /** Characters billed (ElevenLabs). */
  characters?: number | undefined;
  /** Outputs billed per run (e.g. images of one Replicate prediction). Default 1. */
  runs?: number | undefined;
}

/** What the run cost, when the facts it needs are known; undefined otherwise (e.g. compute time not reported). */
export function actualCostUsd(opts: { model: Model; facts: RunFacts }): number | undefined {
  const { model, facts } = opts;
  const { unit, price } = model.pricing;
  switch (unit) {
    case 'run':
      return round(price * (facts.runs ?? 1));
    case 'output_second':
      return facts.outputSec === undefined ? undefined : round(price * facts.outputSec);
    case 'compute_second':
      return facts.computeSec === undefined ? undefined : round(price * facts.computeSec);
    case '1k_characters':
      return facts.characters === undefined ? undefined : round((price * facts.characters) / 1000);
  }
}
