{{/*
The `helm test` check: register a user through user-service, read it back through data-service
(retrying while the write propagates, and while a Service's endpoints are not yet routed), then delete it so repeated tests leave nothing behind.
Plain node (fetch is built in), so the test pod needs no image beyond user-service's own. With
authentication on it first proves that a write without a token is refused, then signs its own
short-lived token with the release's key (the image's token code, as `npm run token` does). With
an identity provider (auth.jwksUrl) it cannot get a token, so it stops after that first check.
*/}}
{{- define "users.testScript" -}}
const name = `helm-test-${Date.now().toString(36)}`;
const fail = (message) => { console.error(JSON.stringify({ msg: 'helm test failed', name, error: message })); process.exit(1); };
// `helm install --wait` sees the pods Ready before every node's kube-proxy has programmed the
// Services' new endpoints; until it has, a connection is refused. Only that is retried, never an answer.
const unreachable = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH']);
const call = async (base, path, init = {}) => {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fetch(new URL(path, base), { ...init, signal: AbortSignal.timeout(5000) });
    } catch (error) {
      if (attempt >= 60 || !unreachable.has(error?.cause?.code)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
};
const user = process.env.USER_SERVICE_URL;
const data = process.env.DATA_SERVICE_URL;
const auth = {};
if (process.env.AUTH !== 'disabled') {
  const anonymous = await call(user, '/register', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, info: 'no token' }) });
  if (anonymous.status !== 401) fail(`POST /register without a token answered ${anonymous.status}, expected 401`);
  if (!process.env.JWT_SECRET) {
    console.log(JSON.stringify({ msg: 'helm test passed', name, checked: 'writes without a token are refused; tokens come from the identity provider' }));
    process.exit(0);
  }
  const { signToken } = await import(new URL('dist/services/shared/src/auth/token.js', `file://${process.cwd()}/`).href);
  const token = await signToken({ secret: process.env.JWT_SECRET, scope: 'users:write users:read', ttlSeconds: 300, subject: 'helm-test', issuer: process.env.JWT_ISSUER, audience: process.env.JWT_AUDIENCE });
  auth.authorization = `Bearer ${token}`;
}
const registered = await call(user, '/register', { method: 'POST', headers: { 'content-type': 'application/json', ...auth }, body: JSON.stringify({ name, info: 'helm test' }) });
if (registered.status !== 201) fail(`POST /register answered ${registered.status}`);
let body;
for (let attempt = 0; attempt < 50 && !body; attempt++) {
  const read = await call(data, `/user/${name}`, { headers: auth });
  if (read.status === 200) body = await read.json();
  else await new Promise((resolve) => setTimeout(resolve, 200));
}
if (!body) fail(`GET /user/${name} never answered 200`);
if (body.name !== name || body.info !== 'helm test') fail(`GET /user/${name} returned ${JSON.stringify(body)}`);
const removed = await call(user, `/user/${name}`, { method: 'DELETE', headers: auth });
if (removed.status !== 204) fail(`DELETE /user/${name} answered ${removed.status}`);
console.log(JSON.stringify({ msg: 'helm test passed', name }));
{{- end -}}
