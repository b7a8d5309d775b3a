// glm5 pull: downloads a Hugging Face model (only the files glm5 reads) into the local Hugging Face cache,
// or completes / refreshes one that is there; prints the snapshot folder.

import type { Command } from '../command.js';
import { UsageError } from '../command.js';
import { parse } from '../args.js';
import { hubSettings, MODEL_SOURCE_FLAGS, pullHubModel } from '../model-source.js';
import { parseHubId } from '../../hub/repo-id.js';

const USAGE = `glm5 pull ID [--revision R]

Downloads the Hugging Face model ID (e.g. zai-org/GLM-4.7-Flash) into the Hugging Face cache, the layout
Python's huggingface_hub uses, so either side finds what the other fetched. Only config, generation config,
tokenizer, chat template and safetensors files are fetched; an interrupted pull resumes where it stopped.
Prints the snapshot folder, which every glm5 command accepts (as does the id itself).

options:
  --revision R    branch, tag or commit (default main)

environment: HF_HUB_CACHE or HF_HOME (cache, default ~/.cache/huggingface/hub), HF_ENDPOINT (default
https://huggingface.co), HF_TOKEN (gated or private repos; else the token huggingface-cli login saved),
HF_HUB_OFFLINE=1 (never download).`;

export const command: Command = {
  summary: 'download a Hugging Face model (e.g. zai-org/GLM-4.7-Flash) into the local Hugging Face cache',
  async run(argv) {
    if (argv.includes('--help') || argv.includes('-h')) {
      console.log(USAGE);
      return;
    }
    const { values, positionals } = parse(argv, { ...MODEL_SOURCE_FLAGS }, USAGE);
    if (positionals.length !== 1) throw new UsageError(`expected one model id\nusage: ${USAGE}`);
    const repo = parseHubId(positionals[0]!);
    if (!repo) throw new UsageError(`'${positionals[0]}' is not a Hugging Face model id (org/name)`);
    const hub = hubSettings();
    const r = await pullHubModel(repo, values.revision ?? 'main', hub);
    console.error(`glm5 pull: ${positionals[0]} at ${r.commit.slice(0, 12)}: ${r.files.length} files, ${(r.downloadedBytes / 1e6).toFixed(1)} MB downloaded`);
    console.log(r.dir);
  },
};
