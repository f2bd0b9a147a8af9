// dist/cjs holds CommonJS modules in an ESM package ("type": "module"): this tells Node so.
import { writeFileSync } from "node:fs";
writeFileSync(new URL("../dist/cjs/package.json", import.meta.url), '{ "type": "commonjs" }\n');
