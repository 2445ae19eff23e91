import { parseXML } from '@aws-sdk/xml-builder';
import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { lifecycleEnv, runStorageLifecycle } from './storage.ts';

/*
 * `storage lifecycle --apply` through the real AWS SDK against a local server speaking the S3 API's
 * `?lifecycle` subresource (s3rver does not implement it): the server answers the GET with a
 * configuration that holds someone else's rule and an old reelbus rule, captures the PUT, and the
 * test checks the body against the shape the S3 API reference gives PutBucketLifecycleConfiguration.
 */

const S3_NS = 'http://s3.amazonaws.com/doc/2006-03-01/';
const EXISTING = `<?xml version="1.0" encoding="UTF-8"?>
<LifecycleConfiguration xmlns="${S3_NS}">
  <Rule><ID>logs-expire</ID><Filter><Prefix>logs/</Prefix></Filter><Status>Enabled</Status><Expiration><Days>30</Days></Expiration></Rule>
  <Rule><ID>reelbus-intermediate-expire</ID><Filter><Prefix>jobs/</Prefix></Filter><Status>Enabled</Status><Expiration><Days>99</Days></Expiration></Rule>
</LifecycleConfiguration>`;

interface Captured {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

let server: Server;
let endpoint: string;
const requests: Captured[] = [];
beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push({
        method: req.method!,
        url: req.url!,
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      });
      if (!req.url!.includes('lifecycle')) {
        res.writeHead(400).end();
        return;
      }
      if (req.method === 'GET') {
        res.writeHead(200, { 'content-type': 'application/xml' }).end(EXISTING);
        return;
      }
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
});

// The request body of PutBucketLifecycleConfiguration as the S3 API reference describes it (the
// elements reelbus uses; strict, so a misspelt or misplaced element fails).
const Tag = z.strictObject({ Key: z.string().min(1).max(128), Value: z.string().max(256) });
const PositiveInt = z.string().regex(/^[1-9]\d*$/, 'a positive whole number of days');
const Rule = z.strictObject({
  ID: z.string().min(1).max(255),
  Status: z.enum(['Enabled', 'Disabled']),
  Filter: z.union([
    z.strictObject({ Prefix: z.string() }),
    z.strictObject({ Tag }),
    z.strictObject({
      And: z.strictObject({ Prefix: z.string().optional(), Tag: z.union([Tag, z.array(Tag)]) }),
    }),
  ]),
  Expiration: z.strictObject({ Days: PositiveInt }).optional(),
  AbortIncompleteMultipartUpload: z.strictObject({ DaysAfterInitiation: PositiveInt }).optional(),
});
const LifecycleBody = z.strictObject({
  LifecycleConfiguration: z.strictObject({
    xmlns: z.literal(S3_NS),
    Rule: z.union([Rule, z.array(Rule).min(1).max(1000)]),
  }),
});

describe('reelbus storage lifecycle', () => {
  it('--print shows tag-based rules in whole days (7d intermediates, outputs kept)', async () => {
    const lines: string[] = [];
    await runStorageLifecycle({ mode: 'print', env: {}, out: (l) => lines.push(l) });
    const json = JSON.parse(lines.filter((l) => !l.startsWith('#')).join('\n'));
    expect(json.Rules).toEqual([
      {
        ID: 'reelbus-intermediate-expire',
        Status: 'Enabled',
        Filter: { And: { Prefix: 'jobs/', Tags: [{ Key: 'reelbus-retention', Value: 'intermediate' }] } },
        Expiration: { Days: 7 },
      },
      {
        ID: 'reelbus-abort-incomplete-uploads',
        Status: 'Enabled',
        Filter: { Prefix: 'jobs/' },
        AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
      },
    ]);
    expect(lines).toContain('# outputs: kept (OUTPUT_TTL=never): no rule');
  });

  it('--print rounds a TTL up to whole days and leaves a TTL under a day to the sweeper', async () => {
    const lines: string[] = [];
    await runStorageLifecycle({
      mode: 'print',
      env: { INTERMEDIATE_TTL: '12h', OUTPUT_TTL: '36h' },
      out: (l) => lines.push(l),
    });
    const rules = JSON.parse(lines.filter((l) => !l.startsWith('#')).join('\n')).Rules;
    expect(rules.map((r: { ID: string }) => r.ID)).toEqual([
      'reelbus-output-expire',
      'reelbus-abort-incomplete-uploads',
    ]);
    expect(rules[0].Expiration).toEqual({ Days: 2 });
    expect(lines.some((l) => /intermediates: no rule \(INTERMEDIATE_TTL=12h is under a day/.test(l))).toBe(
      true,
    );
  });

  it('names a bad TTL and a missing bucket', async () => {
    expect(() => lifecycleEnv({ OUTPUT_TTL: 'soon' })).toThrow(/^OUTPUT_TTL: "soon" is not a time to live/);
    await expect(runStorageLifecycle({ mode: 'apply', env: {}, out: () => {} })).rejects.toThrow(
      /^S3_BUCKET: required/,
    );
  });

  it('--apply sends PutBucketLifecycleConfiguration with a valid body, keeping rules that are not reelbus’s', async () => {
    const lines: string[] = [];
    const prev = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
    process.env.AWS_ACCESS_KEY_ID = 'AKIDEXAMPLE';
    process.env.AWS_SECRET_ACCESS_KEY = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';
    try {
      await runStorageLifecycle({
        mode: 'apply',
        env: { S3_BUCKET: 'media', S3_ENDPOINT: endpoint, S3_FORCE_PATH_STYLE: 'true', OUTPUT_TTL: '90d' },
        out: (l) => lines.push(l),
      });
    } finally {
      process.env.AWS_ACCESS_KEY_ID = prev.id;
      process.env.AWS_SECRET_ACCESS_KEY = prev.secret;
      if (prev.id === undefined) delete process.env.AWS_ACCESS_KEY_ID;
      if (prev.secret === undefined) delete process.env.AWS_SECRET_ACCESS_KEY;
    }
    const put = requests.find((r) => r.method === 'PUT');
    expect(put, 'a PUT reached the server').toBeDefined();
    expect(put!.url).toMatch(/^\/media\/?\?lifecycle(=|&|$)/);
    expect(put!.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\//);
    // S3 refuses the call without an integrity header: Content-MD5 or an x-amz-checksum-*.
    const md5 = put!.headers['content-md5'];
    const checksum = Object.keys(put!.headers).find(
      (h) => h.startsWith('x-amz-checksum-') && h !== 'x-amz-checksum-algorithm',
    );
    expect(md5 !== undefined || checksum !== undefined).toBe(true);
    if (md5) expect(md5).toBe(createHash('md5').update(put!.body).digest('base64'));

    const parsed = LifecycleBody.parse(parseXML(put!.body));
    const rules = [parsed.LifecycleConfiguration.Rule].flat();
    expect(rules.map((r) => r.ID)).toEqual([
      'logs-expire',
      'reelbus-intermediate-expire',
      'reelbus-output-expire',
      'reelbus-abort-incomplete-uploads',
    ]);
    expect(rules[1]).toEqual({
      ID: 'reelbus-intermediate-expire',
      Status: 'Enabled',
      Filter: { And: { Prefix: 'jobs/', Tag: { Key: 'reelbus-retention', Value: 'intermediate' } } },
      Expiration: { Days: '7' },
    });
    expect(rules[2]).toMatchObject({
      Filter: { And: { Tag: { Value: 'output' } } },
      Expiration: { Days: '90' },
    });
    expect(lines[0]).toBe('wrote 4 lifecycle rule(s) to s3://media:');
  });
});
