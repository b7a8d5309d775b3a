// Writes a Hugging Face model folder's weights: one model.safetensors, or shards
// model-0000i-of-0000N.safetensors plus model.safetensors.index.json when over the shard size.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tensorBytes, writeSafetensors, type TensorToWrite } from './safetensors.js';

export function writeCheckpointTensors(dir: string, tensors: readonly TensorToWrite[], maxShardBytes = 2 ** 31): string[] {
  const shards: TensorToWrite[][] = [[]];
  let size = 0;
  for (const t of tensors) {
    const n = tensorBytes(t);
    if (size > 0 && size + n > maxShardBytes) {
      shards.push([]);
      size = 0;
    }
    shards[shards.length - 1]!.push(t);
    size += n;
  }
  if (shards.length === 1) {
    writeSafetensors(join(dir, 'model.safetensors'), tensors, { format: 'pt' });
    return ['model.safetensors'];
  }
  const pad = (i: number) => String(i).padStart(5, '0');
  const names = shards.map((_, i) => `model-${pad(i + 1)}-of-${pad(shards.length)}.safetensors`);
  const weightMap: Record<string, string> = {};
  shards.forEach((list, i) => {
    writeSafetensors(join(dir, names[i]!), list, { format: 'pt' });
    for (const t of list) weightMap[t.name] = names[i]!;
  });
  const total = tensors.reduce((a, t) => a + tensorBytes(t), 0);
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2));
  return names;
}
