// The fixed chat prompts of `npm run eval` (greedy answers, MTP acceptance), also used by
// test/kv-cache-dtype.test.ts (greedy tokens with each cache dtype).

export const FIXED_PROMPTS: readonly { readonly prompt: string; readonly thinking: boolean }[] = [
  { prompt: 'What is a cat?', thinking: true },
  { prompt: 'What is a cat?', thinking: false },
  { prompt: 'What is a dog?', thinking: false },
  { prompt: 'What is a house?', thinking: false },
  { prompt: 'What is water?', thinking: true },
  { prompt: 'What is a computer?', thinking: false },
  { prompt: 'What is a river?', thinking: true },
  { prompt: 'Define book.', thinking: false },
  { prompt: 'Hello!', thinking: false },
  { prompt: 'Who are you?', thinking: true },
];
