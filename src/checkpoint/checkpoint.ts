// A Hugging Face model folder: config.json plus one safetensors file or a sharded set with
// model.safetensors.index.json. Tensors are looked up by their checkpoint name.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { CheckpointError } from './errors.js';
import { SafetensorsFile, type TensorView } from './safetensors.js';

export class Checkpoint {
  private readonly tensors = new Map<string, TensorView>();

  private constructor(
    readonly dir: string,
    readonly files: readonly SafetensorsFile[],
  ) {
    for (const f of files) for (const [n, t] of f.tensors) this.tensors.set(n, t);
  }

  static open(dir: string): Checkpoint {
    const indexPath = join(dir, 'model.safetensors.index.json');
    let fileNames: string[];
    let weightMap: Record<string, string> | undefined;
    if (existsSync(indexPath)) {
      try {
        weightMap = JSON.parse(readFileSync(indexPath, 'utf8')).weight_map;
        if (typeof weightMap !== 'object' || weightMap === null) throw new Error('no weight_map');
      } catch (e) {
        throw new CheckpointError('model.safetensors.index.json', `bad index JSON (${(e as Error).message})`);
      }
      fileNames = [...new Set(Object.values(weightMap))].sort();
    } else if (existsSync(join(dir, 'model.safetensors'))) {
      fileNames = ['model.safetensors'];
    } else {
      fileNames = existsSync(dir)
        ? readdirSync(dir)
            .filter((f) => f.endsWith('.safetensors'))
            .sort()
        : [];
      if (fileNames.length === 0) throw new CheckpointError(basename(dir) || dir, 'no *.safetensors files in folder');
    }
    for (const f of fileNames) {
      if (!existsSync(join(dir, f))) throw new CheckpointError(f, 'shard listed in model.safetensors.index.json is missing');
    }
    const files = fileNames.map((f) => SafetensorsFile.open(join(dir, f)));
    const ckpt = new Checkpoint(dir, files);
    if (weightMap) {
      for (const [name, file] of Object.entries(weightMap)) {
        const t = ckpt.tensors.get(name);
        if (!t) throw new CheckpointError(file, 'listed in the index but not in the shard', name);
        if (t.file !== file) throw new CheckpointError(file, `index says ${file} but tensor is in ${t.file}`, name);
      }
    }
    return ckpt;
  }

  has(name: string): boolean {
    return this.tensors.has(name);
  }

  names(): string[] {
    return [...this.tensors.keys()];
  }

  get(name: string, expectShape?: readonly number[]): TensorView {
    const t = this.tensors.get(name);
    if (!t) throw new CheckpointError(this.files.length === 1 ? this.files[0]!.path.split('/').pop()! : basename(this.dir), 'missing tensor', name);
    if (expectShape && (expectShape.length !== t.shape.length || expectShape.some((d, i) => d !== t.shape[i]))) {
      throw new CheckpointError(t.file, `unexpected shape [${t.shape.join(', ')}], expected [${expectShape.join(', ')}]`, name);
    }
    return t;
  }
}
