#!/usr/bin/env node
// `reelbus` as the docs name it (`npx reelbus render timeline.json`): the `bin` of @reelbus/tools, which
// npm links into the repository's node_modules/.bin. The CLI is TypeScript run from source, so tsx is
// registered in this process (not a child: Ctrl-C and the exit code reach the CLI as they would directly).
import { register } from 'tsx/esm/api';

register();
await import(new URL('../src/cli.ts', import.meta.url).href);
