// Validates an OpenAPI document with @apidevtools/swagger-parser: against the OpenAPI schema, every $ref
// resolved, and swagger-parser's own checks (path parameters, duplicate parameters ...).
// Usage: NODE_TOOLS=build/npm-tests node tests/node/validate_openapi.mjs web/openapi.json
// Prints the API title, version and number of paths; on failure prints the errors and exits 1 (2: bad usage).
import { createRequire } from "node:module";
import process from "node:process";

const file = process.argv[2];
if (!process.env.NODE_TOOLS || !file) {
    console.error("usage: NODE_TOOLS=<folder of `make node-tools`> node validate_openapi.mjs <openapi.json>");
    process.exit(2);
}
const require = createRequire(process.env.NODE_TOOLS + "/package.json");
const SwaggerParser = require("@apidevtools/swagger-parser");

try {
    const api = await SwaggerParser.validate(file);
    const paths = Object.keys(api.paths || {}).length;
    console.log(`valid: ${api.info.title} ${api.info.version} (OpenAPI ${api.openapi}), ${paths} paths`);
} catch (err) {
    console.error(`invalid: ${file}`);
    console.error(err && err.message ? err.message : String(err));
    process.exit(1);
}
