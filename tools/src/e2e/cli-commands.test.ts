// The CLI's project, reel, cancel and delete commands run as a user runs them (a child process against
// the shared stack), each checked by what it prints and by what the API shows afterwards. The jobs to
// cancel and delete merge clips at URLs this file serves and holds open, so they are still running when
// the command runs. Also `reelbus` as npm links it (tools/bin/reelbus.js).
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '../client.ts';
import { projectApi } from '../project.ts';
import type { ReelView } from '../reel.ts';
import { ROOT, runCli, sharedE2E, type SharedE2E } from './harness.ts';

const run = promisify(execFile);
let e2e: SharedE2E;
let server: Server;
let base: string;
/** Requests for /held/… : answered only when the test closes the server. */
const held: ServerResponse[] = [];
/** Who waits for the first request for /held/<name>-…. */
const askedFor = new Map<string, () => void>();

/** `reelbus <args…>` against the shared stack; rejects (with stdout and stderr) on a non-zero exit. */
function reelbus(...args: string[]) {
  return runCli(e2e, args);
}

/** The exit code, stdout and stderr of a command expected to fail. */
async function reelbusFailing(...args: string[]) {
  const err = (await reelbus(...args).then(
    () => undefined,
    (e: unknown) => e,
  )) as { code?: number; stdout: string; stderr: string } | undefined;
  expect(err, `reelbus ${args.join(' ')} should have failed`).toBeDefined();
  return err!;
}

/** Writes a file into this test's dir and returns its path. */
function writeJson(name: string, value: unknown): string {
  const file = join(e2e.dir, name);
  writeFileSync(file, JSON.stringify(value));
  return file;
}

/**
 * Submits (with `merge --no-follow`) a merge that stays running: its clips are URLs this file holds
 * open; resolves once the encoder has asked for one of them (the job is then running).
 */
async function startHeldMerge(name: string): Promise<string> {
  const asked = new Promise<void>((r) => askedFor.set(name, r));
  const { stdout } = await reelbus(
    'merge',
    `${base}/held/${name}-a.mp4`,
    `${base}/held/${name}-b.mp4`,
    '--no-follow',
  );
  const jobId = /^job (\S+) \(2 clips\)$/m.exec(stdout)?.[1];
  expect(jobId, stdout).toBeDefined();
  // A merge that ends first (a refused URL, say) fails here with its reason, not at the test's timeout.
  const watch = new AbortController();
  const ended = e2e.client
    .follow(jobId!, () => {}, { signal: watch.signal, pollMs: 250 })
    .then(
      (job) => {
        throw new Error(`the merge ended ${job.status} before asking for its clips: ${job.error?.reason}`);
      },
      () => undefined, // aborted: it asked
    );
  ended.catch(() => {}); // handled by the race below, or too late to matter
  try {
    await Promise.race([asked, ended]);
  } finally {
    watch.abort();
  }
  return jobId!;
}

beforeAll(async () => {
  e2e = await sharedE2E();
  server = createServer((req, res) => {
    const name = /^\/held\/([^-]+)-/.exec(req.url ?? '')?.[1];
    if (name === undefined) {
      res.writeHead(404).end();
      return;
    }
    held.push(res);
    askedFor.get(name)?.();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 300_000);
afterAll(async () => {
  for (const res of held) res.destroy();
  server?.closeAllConnections();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  await e2e?.close();
});

describe('reelbus project create | undo | redo', () => {
  it('creates the project in the spec file and walks its history, each step a new revision', async () => {
    const spec = writeJson('project.json', {
      title: 'CLI project',
      music: { source: { mood: 'calm' }, volume: 0.15 },
      scenes: [
        { id: 'one', narration: 'Hello.', visual: { model: 'local-image', params: { prompt: 'a hill' } } },
      ],
    });
    const created = await reelbus('project', 'create', spec);
    const projectId = /^project (prj_\S+) \(revision 1\)$/m.exec(created.stdout)?.[1];
    expect(projectId, created.stdout).toBeDefined();
    const client = { baseUrl: e2e.stack.ingestUrl, apiKey: e2e.stack.secrets.apiKey };
    type View = { revision: number; project: { title: string; music: { volume: number } } };
    const get = () => projectApi<View>({ client, method: 'GET', path: `/v1/projects/${projectId}` });
    expect(await get()).toMatchObject({ revision: 1, project: { title: 'CLI project' } });

    await projectApi({
      client,
      method: 'PATCH',
      path: `/v1/projects/${projectId}/music`,
      body: { volume: 0.4 },
      ifMatch: 1,
    });
    const undone = await reelbus('project', 'undo', projectId!);
    expect(undone.stdout).toMatch(/^undid "change music volume": revision 3 \(0 to undo, 1 to redo\)$/m);
    expect(await get()).toMatchObject({ revision: 3, project: { music: { volume: 0.15 } } });

    const redone = await reelbus('project', 'redo', projectId!);
    expect(redone.stdout).toMatch(/^redid "change music volume": revision 4 \(1 to undo, 0 to redo\)$/m);
    expect(await get()).toMatchObject({ revision: 4, project: { music: { volume: 0.4 } } });

    const nothing = await reelbusFailing('project', 'redo', projectId!);
    expect(nothing.code).toBe(1);
    expect(nothing.stderr).toMatch(/^reelbus: POST \/v1\/projects\/\S+\/redo: 409 /m);
  });

  it('names the file when the spec is not JSON, and exits 1', async () => {
    const file = join(e2e.dir, 'broken.json');
    writeFileSync(file, '{ "title": ');
    const err = await reelbusFailing('project', 'create', file);
    expect(err.code).toBe(1);
    expect(err.stderr).toContain(`reelbus: ${file}: not a JSON project spec`);
  });
});

describe('reelbus reel create', () => {
  it('creates the reel in the spec file, waits for its take and shows it', async () => {
    const spec = writeJson('reel.json', {
      title: 'CLI reel',
      sections: ['a lighthouse', 'the sea'].map((prompt) => ({
        model: 'local-video',
        params: { prompt, duration: 1, width: 320, height: 180 },
      })),
    });
    const { stdout } = await reelbus('reel', 'create', spec);
    const reelId = /^reel (\S+): 2 sections, one take generating for each$/m.exec(stdout)?.[1];
    expect(reelId, stdout).toBeDefined();
    for (const s of ['s1', 's2']) expect(stdout).toMatch(new RegExp(`^${s} t1: ready$`, 'm'));
    const reel = await e2e.client.getReel<ReelView>(reelId!);
    expect(reel.title).toBe('CLI reel');
    expect(reel.sections.map((x) => x.takes.map((t) => t.status))).toEqual([['ready'], ['ready']]);
  }, 180_000);
});

describe('reelbus cancel | delete', () => {
  it('cancels a running job with the reason; following it then exits 1 with that reason', async () => {
    const jobId = await startHeldMerge('cancel');
    const { stdout } = await reelbus('cancel', jobId, '--reason', 'changed my mind');
    expect(stdout).toMatch(new RegExp(`^job ${jobId} cancelled$`, 'm'));

    // `follow` waits for the end: cancelled is not a success
    const followed = await reelbusFailing('follow', jobId);
    expect(followed.code).toBe(1);
    expect(followed.stderr).toMatch(
      new RegExp(`^job ${jobId} ended cancelled by \\S+: changed my mind$`, 'm'),
    );
    expect(await e2e.client.getJob(jobId)).toMatchObject({
      status: 'cancelled',
      cancel: { reason: 'changed my mind' },
    });

    const again = await reelbus('cancel', jobId);
    expect(again.stdout).toMatch(new RegExp(`^job ${jobId} was already cancelled$`, 'm'));

    const deleted = await reelbus('delete', jobId);
    expect(deleted.stdout).toMatch(
      new RegExp(`^job ${jobId} deleted: \\d+ blob\\(s\\), \\d+ bytes, 0 dead letter\\(s\\)$`, 'm'),
    );
    const gone = await e2e.client.getJob(jobId).catch((e: unknown) => e);
    expect(gone).toBeInstanceOf(ApiError);
    expect((gone as ApiError).status).toBe(404);
  }, 180_000);

  it('deletes a running job only with --cancel, which stops it first', async () => {
    const jobId = await startHeldMerge('delete');
    const refused = await reelbusFailing('delete', jobId);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^reelbus: .*409/m);
    expect((await e2e.client.getJob(jobId)).status).toMatch(/^(queued|running)$/);

    const { stdout } = await reelbus('delete', jobId, '--cancel');
    expect(stdout).toMatch(new RegExp(`^job ${jobId} deleted \\(cancelled first\\): \\d+ blob\\(s\\)`, 'm'));
    const gone = await e2e.client.getJob(jobId).catch((e: unknown) => e);
    expect((gone as ApiError).status).toBe(404);
  }, 180_000);
});

describe('the reelbus launcher npm links (tools/bin/reelbus.js)', () => {
  it('runs the CLI from source: --help prints the usage', async () => {
    const { stdout } = await run(process.execPath, [join(ROOT, 'tools/bin/reelbus.js'), '--help'], {
      cwd: ROOT,
      timeout: 60_000,
    });
    expect(stdout).toMatch(/^Usage: npx reelbus <command> \[options\]/m);
    expect(stdout).toMatch(/^ {2}render <timeline\.json>/m);
  });

  it('hands the CLI its exit code', async () => {
    const err = (await run(process.execPath, [join(ROOT, 'tools/bin/reelbus.js'), 'no-such-command'], {
      cwd: ROOT,
      timeout: 60_000,
    }).catch((e: unknown) => e)) as { code?: number; stderr?: string };
    expect(err.code).toBe(1);
    expect(err.stderr).toContain('reelbus: unknown command "no-such-command"');
  });
});
