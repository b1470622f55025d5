{{/*
The `helm test` check: register a user through user-service, read it back through data-service
(retrying while the write propagates), then delete it so repeated tests leave nothing behind.
Plain node (fetch is built in), so the test pod needs no image beyond user-service's own.
*/}}
{{- define "users.testScript" -}}
const name = `helm-test-${Date.now().toString(36)}`;
const fail = (message) => { console.error(JSON.stringify({ msg: 'helm test failed', name, error: message })); process.exit(1); };
const call = (base, path, init = {}) => fetch(new URL(path, base), { ...init, signal: AbortSignal.timeout(5000) });
const user = process.env.USER_SERVICE_URL;
const data = process.env.DATA_SERVICE_URL;
const registered = await call(user, '/register', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, info: 'helm test' }) });
if (registered.status !== 201) fail(`POST /register answered ${registered.status}`);
let body;
for (let attempt = 0; attempt < 50 && !body; attempt++) {
  const read = await call(data, `/user/${name}`);
  if (read.status === 200) body = await read.json();
  else await new Promise((resolve) => setTimeout(resolve, 200));
}
if (!body) fail(`GET /user/${name} never answered 200`);
if (body.name !== name || body.info !== 'helm test') fail(`GET /user/${name} returned ${JSON.stringify(body)}`);
const removed = await call(user, `/user/${name}`, { method: 'DELETE' });
if (removed.status !== 204) fail(`DELETE /user/${name} answered ${removed.status}`);
console.log(JSON.stringify({ msg: 'helm test passed', name }));
{{- end -}}
