import { z } from 'zod';
import { catalogue } from './catalogue.ts';
import { Job } from './job.ts';
import { Reel } from './reel.ts';
import { Project } from './project.ts';
import { Timeline, TIMELINE_CROSS_FIELD_RULES, TimelineRequest } from './timeline.ts';

/** The Timeline rules this schema cannot express, as its description states them. */
const ONLY_THE_API = `Checked by the API, not by this schema: ${TIMELINE_CROSS_FIELD_RULES.join('; ')}.`;

/** `<file name>` → JSON Schema text, for every event version plus the Timeline and job document. */
export function renderJsonSchemas(): Map<string, string> {
  const out = new Map<string, string>();
  const render = (id: string, title: string, schema: z.ZodType, description?: string) => {
    // `input`: what a publisher must send (fields with defaults are optional).
    const json = z.toJSONSchema(schema, {
      io: 'input',
      unrepresentable: 'any',
      target: 'draft-2020-12',
    }) as Record<string, unknown>;
    const doc = {
      $id: `https://reelbus.dev/schemas/${id}`,
      title,
      ...(description ? { description } : {}),
      ...json,
    };
    out.set(id, JSON.stringify(doc, null, 2) + '\n');
  };
  for (const def of catalogue) {
    render(`${def.type}.v${def.version}.json`, `${def.type} v${def.version}`, def.envelope, def.description);
  }
  render(
    'timeline.v1.json',
    'Timeline v1',
    Timeline,
    `A declarative description of one output video, resolved: numbers and blob keys only (what timeline.ready carries). ${ONLY_THE_API}`,
  );
  render(
    'timeline-request.v1.json',
    'Timeline request v1',
    TimelineRequest,
    `A Timeline as POST /v1/renders accepts it: start/duration may be "auto", sources may be { key }, { url } or { upload }; unknown fields are refused at every level. ${ONLY_THE_API}`,
  );
  render(
    'project.v1.json',
    'Scene project v1',
    Project,
    'A scene project as POST /v1/projects accepts it and GET /v1/projects/:id shows it (scenes, voice, music, brand, output).',
  );
  render('job.v1.json', 'Job document v1', Job, 'The job read model served by GET /v1/jobs/:id.');
  render(
    'reel.v1.json',
    'Reel document v1',
    Reel,
    'A reel as stored (sections, their takes, reviews, the latest compile); GET /v1/reels/:id serves it with its id, revision and links.',
  );
  return out;
}
