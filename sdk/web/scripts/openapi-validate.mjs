// openapi-validate.mjs: validates an OpenAPI description (docs/openapi.yaml)
// with swagger-parser: the document against the OpenAPI 3.x schema, every
// $ref resolved, and the checks the schema cannot express (unique
// operationIds, path parameters declared). Exits 0 when valid, 1 with the
// errors otherwise.
//
//   node scripts/openapi-validate.mjs ../../docs/openapi.yaml
import SwaggerParser from '@apidevtools/swagger-parser';

const file = process.argv[2];
if (!file) {
  console.error('usage: openapi-validate.mjs FILE');
  process.exit(2);
}
try {
  const api = await SwaggerParser.validate(file);
  let ops = 0;
  for (const item of Object.values(api.paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (!['get', 'head', 'post', 'put', 'delete', 'options', 'patch'].includes(method)) continue;
      ops++;
      // Rules of this project on top of the specification's own.
      if (!op.operationId || !op.summary) throw new Error(`${method} without operationId or summary`);
    }
  }
  console.log(`OK: ${file}: OpenAPI ${api.openapi}, ${Object.keys(api.paths).length} paths, ${ops} operations`);
} catch (err) {
  console.error(`${file}: ${err.message}`);
  process.exit(1);
}
