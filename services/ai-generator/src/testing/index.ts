// Test doubles speaking the providers' real HTTP protocols: `@reelbus/ai-generator/testing`.
export {
  startFakeFalServer,
  FAKE_FAL_ERROR,
  type FakeFalServer,
  type FakeBehaviour,
  type FakeRequest as FakeFalRequest,
  type FalRequestBehaviour,
} from './fake-fal-server.ts';
export {
  startFakeReplicateServer,
  type FakeReplicateServer,
  type FakePrediction,
  type ReplicateBehaviour,
} from './fake-replicate-server.ts';
export {
  startFakeElevenLabsServer,
  type FakeElevenLabsServer,
  type FakeSpeechRequest,
  type FakeSpeechError,
} from './fake-elevenlabs-server.ts';
