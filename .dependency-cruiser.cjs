// The layering of docs/architecture.md as rules `npm run depcruise` checks (part of `npm test`).
// Low to high: tensor → checkpoint / kernels → model → gguf / engine → server → cli; text stands alone beside
// them, and tools (the demo tools) sit on text. A layer imports only layers below it; node: built-ins and npm
// packages are always allowed. Type-only imports count (tsPreCompilationDeps): a type is a dependency too.

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'No import cycles anywhere in src/: each module must be loadable (and understandable) before the ones that use it.',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'tensor-imports-only-tensor',
      comment: 'src/tensor is the floor (element types, LinearWeight, fp8, RNG): it imports nothing of ours from outside itself.',
      severity: 'error',
      from: { path: '^src/tensor/' },
      to: { path: '^src/', pathNot: '^src/tensor/' },
    },
    {
      name: 'text-imports-only-text',
      comment: 'src/text (tokenizer, chat template, output parsers) stands alone: no model, engine, server or kernels.',
      severity: 'error',
      from: { path: '^src/text/' },
      to: { path: '^src/', pathNot: '^src/text/' },
    },
    {
      name: 'kernels-know-only-tensors',
      comment: 'src/kernels (the Ops interface, ref/, the native binding) know no model, engine, server or cli: only tensors.',
      severity: 'error',
      from: { path: '^src/kernels/' },
      to: { path: '^src/', pathNot: '^src/(kernels|tensor)/' },
    },
    {
      name: 'checkpoint-knows-only-files-and-tensors',
      comment:
        'src/checkpoint reads and writes safetensors: it uses tensor and, for mmap, kernels/native-addon.ts; ' +
        'nothing of the model, engine, server or cli (and no glm_moe_dsa names).',
      severity: 'error',
      from: { path: '^src/checkpoint/' },
      to: { path: '^src/', pathNot: ['^src/(checkpoint|tensor)/', '^src/kernels/native-addon\\.ts$'] },
    },
    {
      name: 'model-knows-no-requests',
      comment: 'src/model steps a batch of caches: it builds on checkpoint, kernels and tensor and knows no engine, server, cli or text.',
      severity: 'error',
      from: { path: '^src/model/' },
      to: { path: '^src/', pathNot: '^src/(model|checkpoint|kernels|tensor)/' },
    },
    {
      name: 'gguf-knows-no-serving',
      comment: 'src/gguf exports a checkpoint to GGUF: model, checkpoint and tensor only; no engine, server or cli.',
      severity: 'error',
      from: { path: '^src/gguf/' },
      to: { path: '^src/(engine|server|cli|tools)/' },
    },
    {
      name: 'hub-knows-no-serving',
      comment: 'src/hub downloads checkpoints from the Hugging Face Hub into the local cache: no engine, server or cli.',
      severity: 'error',
      from: { path: '^src/hub/' },
      to: { path: '^src/(engine|server|cli|tools)/' },
    },
    {
      name: 'engine-knows-no-http',
      comment: 'src/engine takes requests in and gives token events out: it knows no server (HTTP, wire protocols) and no cli.',
      severity: 'error',
      from: { path: '^src/engine/' },
      to: { path: '^src/(server|cli|gguf|tools)/' },
    },
    {
      name: 'server-reaches-the-model-through-the-engine',
      comment:
        'src/server maps wire protocols onto the engine and text: it never imports kernels (nor the model or the ' +
        'checkpoint reader) directly. The tensor floor (array helpers, element types) is allowed.',
      severity: 'error',
      from: { path: '^src/server/' },
      to: { path: '^src/(kernels|model|checkpoint|gguf)/' },
    },
    {
      name: 'upstream-is-an-engine-beside-the-engine',
      comment:
        'src/upstream (remote engines over vLLM, SGLang, llama-server or glm5 replicas; the router) speaks HTTP to ' +
        'upstreams but builds only on text, tensor and the engine contract (types, sampling params, stop strings): ' +
        'no server, model, kernels, checkpoint or cli.',
      severity: 'error',
      from: { path: '^src/upstream/' },
      to: { path: '^src/', pathNot: ['^src/(upstream|text|tensor)/', '^src/engine/(types|sampling-params|stop-strings)\\.ts$'] },
    },
    {
      name: 'only-cli-chooses-upstream',
      comment: 'The server sees a remote engine only as a ServingEngine (and its /workers admin interface); the cli builds it.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(cli|upstream)/' },
      to: { path: '^src/upstream/' },
    },
    {
      name: 'server-knows-no-cli',
      comment: 'src/server is started by the cli, never the other way round.',
      severity: 'error',
      from: { path: '^src/server/' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'tools-build-on-text-only',
      comment: 'src/tools (the demo tools that `glm5 chat` and the server both run) use text only.',
      severity: 'error',
      from: { path: '^src/tools/' },
      to: { path: '^src/', pathNot: '^src/(tools|text)/' },
    },
    {
      name: 'cli-not-into-server-protocol',
      comment:
        "src/cli may use any layer, but not the server's wire protocols: `glm5 chat` renders text/'s neutral output " +
        'events itself (it starts the server through src/server/server.ts, never a dialect module).',
      severity: 'error',
      from: { path: '^src/cli/' },
      to: { path: '^src/server/protocol/' },
    },
    {
      name: 'nothing-imports-cli',
      comment: 'src/cli is the top: the command-line entry points; no library module imports them.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/cli/' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'Every import resolves to a file or an installed package.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
    {
      name: 'not-to-dev-dep',
      comment: 'src/ ships: it may not import devDependencies (typescript, tsx, the SDK clients used by tests).',
      severity: 'error',
      from: { path: '^src/' },
      to: { dependencyTypes: ['npm-dev'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // NodeNext: sources import './x.js' for ./x.ts.
    enhancedResolveOptions: {
      extensions: ['.ts', '.js', '.json'],
      // package.json "exports" maps (hono/body-limit and the like), resolved as Node resolves an ES module.
      exportsFields: ['exports'],
      conditionNames: ['import', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
