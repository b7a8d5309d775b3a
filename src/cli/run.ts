// Process entry for running the CLI from source (bin/glm5.js runs the compiled copy).
import { main } from './main.js';

await main(process.argv.slice(2));
