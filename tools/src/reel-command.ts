// The `reel` command and `demo reel` of the CLI (the decisions are in reel.ts).
import { existsSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import type { Job } from '@reelbus/contracts';
import { freePort } from '@reelbus/kit/testing';
import { ReelbusClient } from './client.ts';
import { parseParamArgs } from './generate.ts';
import {
  approve,
  demoReelSpec,
  formatReel,
  readReelSpec,
  resolveSection,
  waitForTakes,
  type ReelView,
} from './reel.ts';
import { startStack, type Stack } from './stack.ts';

type FollowJob = (client: ReelbusClient, jobId: string) => Promise<Job>;
type PrintOutcome = (job: Job & { links?: { video?: string } }, blobDir?: string) => void;

const USAGE =
  'usage: reel create <spec.json> | show <id> | approve <id> <section> [take] | reject <id> <section> <take> | regenerate <id> <section> [key=value…] | order <id> <section>… | compile <id>';

const pathOf = (blobDir: string) => (key: string) => {
  const p = join(blobDir, key);
  return existsSync(p) ? realpathSync(p) : p;
};

/** `reel <subcommand> …` against a running ingest. */
export async function runReel(opts: {
  args: string[];
  client: ReelbusClient;
  blobDir: string;
  follow: boolean;
  reason?: string | undefined;
  followJob: FollowJob;
  printOutcome: PrintOutcome;
}): Promise<void> {
  const { args, client, blobDir, follow, reason, followJob, printOutcome } = opts;
  const [sub, id, ...rest] = args;
  const show = (reel: ReelView) => console.log(formatReel(reel, { blobPath: pathOf(blobDir) }));
  if (!sub) throw new Error(USAGE);
  if (!id) throw new Error(`usage: reel ${sub} ${sub === 'create' ? '<spec.json>' : '<id> …'}`);
  switch (sub) {
    case 'create': {
      const reel = await client.createReel<ReelView>(readReelSpec(id));
      console.log(`reel ${reel.id}: ${reel.sections.length} sections, one take generating for each`);
      if (!follow) return show(reel);
      return show(await waitForTakes({ client, reelId: reel.id, onChange: (l) => console.log(l) }));
    }
    case 'show':
      return show(await client.getReel<ReelView>(id));
    case 'approve': {
      const [section, take] = rest;
      if (!section) throw new Error('usage: reel approve <id> <section> [take]');
      const reel = await approve({ client, reel: await client.getReel<ReelView>(id), section, take });
      return show(reel);
    }
    case 'reject': {
      const [section, take] = rest;
      if (!section || !take) throw new Error('usage: reel reject <id> <section> <take> [--reason <text>]');
      const reel = await client.getReel<ReelView>(id);
      const s = resolveSection(reel, section);
      return show(
        await client.reviewTake<ReelView>({
          reelId: id,
          sectionId: s.id,
          takeId: take,
          verdict: 'reject',
          reason,
        }),
      );
    }
    case 'regenerate': {
      const [section, ...pairs] = rest;
      if (!section) throw new Error('usage: reel regenerate <id> <section> [key=value…]');
      const reel = await client.getReel<ReelView>(id);
      const s = resolveSection(reel, section);
      const { models } = await client.listModels();
      const model = models.find((m) => m.id === s.model);
      if (!model) throw new Error(`the model of section ${s.id}, "${s.model}", is no longer in the registry`);
      const accepted = await client.regenerate({
        reelId: id,
        sectionId: s.id,
        params: parseParamArgs({ args: pairs, model }),
      });
      console.log(`take ${accepted.takeId} of ${s.id}: job ${accepted.jobId}`);
      if (!follow) return;
      return show(await waitForTakes({ client, reelId: id, onChange: (l) => console.log(l) }));
    }
    case 'order': {
      if (rest.length === 0)
        throw new Error('usage: reel order <id> <section>… (every section, in the new order)');
      const reel = await client.getReel<ReelView>(id);
      const order = rest.map((arg) => resolveSection(reel, arg).id);
      return show(await client.patchReel<ReelView>(id, { sectionOrder: order }));
    }
    case 'compile': {
      const accepted = await client.compileReel(id);
      console.log(`compile job ${accepted.jobId}: ${accepted.videoCount} approved takes, in section order`);
      if (!follow) return;
      const job = await followJob(client, accepted.jobId);
      printOutcome(await client.getJob(job.id), blobDir);
      return;
    }
    default:
      throw new Error(`unknown reel command "${sub}"; ${USAGE}`);
  }
}

/**
 * `demo reel`, offline: starts the embedded stack, creates a 3-section reel of local videos, waits for the
 * takes, approves each, compiles, prints the MP4's path, stops.
 */
export async function runReelDemo(opts: {
  root: string;
  dataDir: string;
  /** How long each service may take to become healthy (the CLI allows 3 min: a loaded machine). */
  readyTimeoutMs?: number;
  followJob: FollowJob;
  printOutcome: PrintOutcome;
}): Promise<void> {
  const { root, dataDir, readyTimeoutMs, followJob, printOutcome } = opts;
  let stack: Stack | undefined;
  const logs: string[] = [];
  try {
    stack = await startStack({
      root,
      dataDir,
      natsPort: 0,
      ingestPort: await freePort(),
      services: ['notifier', 'ai-generator', 'encoder', 'ingest'],
      log: (l) => logs.push(l),
      ...(readyTimeoutMs ? { readyTimeoutMs } : {}),
    });
    console.log(`stack healthy (${stack.processes.length} services); creating a 3-section reel…`);
    const client = new ReelbusClient({ baseUrl: stack.ingestUrl, apiKey: stack.secrets.apiKey });
    const created = await client.createReel<ReelView>(demoReelSpec());
    console.log(`reel ${created.id}`);
    const ready = await waitForTakes({ client, reelId: created.id, onChange: (l) => console.log(`  ${l}`) });
    let reel = ready;
    for (const s of ready.sections) {
      reel = await approve({ client, reel, section: s.id });
      console.log(`  approved ${s.id} ${s.takes.at(-1)?.id ?? ''}`);
    }
    const blobPath = pathOf(stack.blobDir);
    console.log(formatReel(reel, { blobPath }));
    const accepted = await client.compileReel(created.id);
    console.log(`compiling (job ${accepted.jobId})…`);
    const job = await followJob(client, accepted.jobId);
    printOutcome(await client.getJob(job.id), stack.blobDir);
    if (job.status !== 'completed') throw new Error(`the compile ended ${job.status}`);
  } catch (err) {
    console.error(logs.slice(-40).join('\n'));
    throw err;
  } finally {
    await stack?.stop();
  }
}
