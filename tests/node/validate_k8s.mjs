// Validates Kubernetes objects against the official OpenAPI schemas, as packaged by kubernetes-models (one class
// per apiVersion and kind, generated from Kubernetes' own API definitions; validate() checks the whole object).
// Usage: NODE_TOOLS=build/npm-tests node tests/node/validate_k8s.mjs objects.json
// objects.json holds a JSON array of objects (YAML documents converted by the caller). Prints one line per
// object; exits 1 when any object is invalid or of an unknown kind (2: bad usage).
import { readFileSync } from "node:fs";
import process from "node:process";
import { pathToFileURL } from "node:url";

const file = process.argv[2];
if (!process.env.NODE_TOOLS || !file) {
    console.error("usage: NODE_TOOLS=<folder of `make node-tools`> node validate_k8s.mjs <objects.json>");
    process.exit(2);
}
const root = process.env.NODE_TOOLS + "/node_modules/kubernetes-models/";
const objects = JSON.parse(readFileSync(file, "utf8"));
let failures = 0;
for (const obj of objects) {
    const what = `${obj.apiVersion} ${obj.kind} ${obj.metadata && obj.metadata.name}`;
    // "v1" lives in v1/, "batch/v1" in batch/v1/, "rbac.authorization.k8s.io/v1" in rbac.authorization.k8s.io/v1/
    const modulePath = `${root}${obj.apiVersion}/${obj.kind}.js`;
    let Model;
    try {
        Model = (await import(pathToFileURL(modulePath).href))[obj.kind];
    } catch (err) {
        console.error(`unknown: ${what}: ${err.message}`);
        failures++;
        continue;
    }
    try {
        new Model(obj).validate();
        console.log(`valid: ${what}`);
    } catch (err) {
        console.error(`invalid: ${what}: ${err.message}`);
        failures++;
    }
}
process.exit(failures ? 1 : 0);
