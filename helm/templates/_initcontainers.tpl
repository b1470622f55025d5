{{/*
Waits until PostgreSQL accepts TCP connections. On a first install the subchart's PostgreSQL starts
at the same time as the services; waiting here keeps the pods in Init instead of CrashLoopBackOff.
Plain node (no shell, no extra image), so it also works on a distroless service image.
*/}}
{{- define "users.waitForPostgresScript" -}}
const net = process.getBuiltinModule('node:net');
const host = process.env.PGHOST;
const port = Number(process.env.PGPORT);
console.log(JSON.stringify({ msg: 'waiting for PostgreSQL', host, port }));
const attempt = () => {
  const socket = net.connect({ host, port, timeout: 2000 });
  socket.once('connect', () => { socket.destroy(); console.log(JSON.stringify({ msg: 'PostgreSQL is reachable', host, port })); process.exit(0); });
  const retry = () => { socket.destroy(); setTimeout(attempt, 2000); };
  socket.once('error', retry);
  socket.once('timeout', retry);
};
attempt();
{{- end -}}

{{/* ctx: root, component, values */}}
{{- define "users.waitForPostgresContainer" -}}
- name: wait-for-postgresql
  image: {{ include "users.image" (dict "root" .root "image" .values.image) }}
  imagePullPolicy: {{ .values.image.pullPolicy }}
  command:
    - node
    - -e
    - |
      {{- include "users.waitForPostgresScript" . | nindent 6 }}
  envFrom:
    - configMapRef:
        name: {{ include "users.componentName" . }}
  securityContext: {{- toYaml .root.Values.containerSecurityContext | nindent 4 }}
  resources: {{- toYaml .root.Values.initContainerResources | nindent 4 }}
{{- end -}}

{{/*
Migrations: an init container of user-service, not a Helm hook and not a Job.
- A pre-install/pre-upgrade hook runs before the subchart's PostgreSQL exists, so it cannot work on
  a first install; a post-install hook runs after the pods it should precede (and deadlocks
  `helm --wait`, since readiness needs the schema).
- In the pod, the kubelet runs it after wait-for-postgresql and before user-service starts, with the
  same image and the same environment (ConfigMap + secretKeyRef), with no RBAC, and also under
  skaffold, Argo CD or `helm template | kubectl apply`, which skip or reorder hooks.
- It runs once per new pod rather than once per rollout: the first pod of a rollout applies the
  migrations under PostgreSQL's advisory lock, every later pod finds nothing to apply and exits at
  once. That is why user-service itself starts with MIGRATE_ON_START=false.
ctx: root, component, values
*/}}
{{- define "users.migrateContainer" -}}
- name: migrate
  image: {{ include "users.image" (dict "root" .root "image" .values.image) }}
  imagePullPolicy: {{ .values.image.pullPolicy }}
  command:
    - node
    - dist/services/user/src/migrate-cli.js
    {{- if .values.seedDemoUsers }}
    - --seed
    {{- end }}
  envFrom:
    - configMapRef:
        name: {{ include "users.componentName" . }}
  {{- with include "users.secretEnv" .root | trim }}
  env: {{- . | nindent 4 }}
  {{- end }}
  securityContext: {{- toYaml .root.Values.containerSecurityContext | nindent 4 }}
  resources: {{- toYaml .root.Values.initContainerResources | nindent 4 }}
  volumeMounts:
    - name: tmp
      mountPath: /tmp
{{- end -}}
