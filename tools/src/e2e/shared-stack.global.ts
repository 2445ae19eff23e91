// vitest globalSetup: the broker of the shared end-to-end stack (./shared-stack.ts). Cheap when no
// file asks for the stack: it is started by the first `sharedE2E()`.
import type { TestProject } from 'vitest/node';
import { ROOT } from './harness.ts';
import { SHARED_STACK_KEY, startSharedStackBroker } from './shared-stack.ts';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const broker = await startSharedStackBroker(ROOT);
  project.provide(SHARED_STACK_KEY, broker.url);
  return () => broker.close();
}
