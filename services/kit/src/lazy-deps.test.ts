// A service on the embedded profile (filesystem blobs, NATS KV jobs, no OTLP endpoint) should not
// carry the AWS SDK, the MongoDB driver or the OpenTelemetry Node SDK in memory (~25 MB each, measured
// by `npm run bench -- --only throughput`): the kit loads them only when they are used.
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
const HEAVY =
  /[/\\](@aws-sdk[/\\]client-s3|@aws-sdk[/\\]lib-storage|mongodb|@opentelemetry[/\\]sdk-node)[/\\]/;

/** The heavy packages (CommonJS, so they show in the module cache) loaded after running `code`. */
function heavyLoadedAfter(code: string): string[] {
  const script = `
    import Module from 'node:module';
    const kit = await import(${JSON.stringify(join(here, 'index.ts'))});
    ${code}
    const heavy = Object.keys(Module._cache).map((k) => ${HEAVY}.exec(k)?.[1]).filter(Boolean);
    console.log(JSON.stringify([...new Set(heavy)].sort()));
    process.exit(0);`;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: here,
    encoding: 'utf8',
  });
  return JSON.parse(out.trim().split('\n').at(-1)!) as string[];
}

describe('heavy dependencies load on use', () => {
  it('importing the kit and starting telemetry without an endpoint loads none of them', () => {
    expect(heavyLoadedAfter(`await kit.startTelemetry({ serviceName: 'lazy' });`)).toEqual([]);
  });

  it('an S3 blob store loads the AWS SDK, an OTLP endpoint the OpenTelemetry Node SDK', () => {
    const loaded = heavyLoadedAfter(`
      new kit.S3BlobStore({ bucket: 'b', region: 'us-east-1', endpoint: 'http://127.0.0.1:9' });
      await kit.startTelemetry({ serviceName: 'lazy', otlpEndpoint: 'http://127.0.0.1:9' });`);
    expect(loaded).toEqual(['@aws-sdk/client-s3', '@aws-sdk/lib-storage', '@opentelemetry/sdk-node']);
  });
});
