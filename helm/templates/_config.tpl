{{/*
Non-secret settings of one service, as ConfigMap data. The Deployment hashes this same text into a
checksum annotation, so any change here rolls that service's pods (and only that service's).
Passwords are not here: they reach the pods by secretKeyRef (see users.secretEnv).
ctx: root, component
*/}}
{{- define "users.configData" -}}
{{- $root := .root -}}
{{- $values := index $root.Values (include "users.componentValuesKey" .component) -}}
LOG_LEVEL: {{ $root.Values.config.logLevel | quote }}
PGHOST: {{ include "users.database.host" $root | quote }}
PGPORT: {{ include "users.database.port" $root | quote }}
PGDATABASE: {{ include "users.database.name" $root | quote }}
PGUSER: {{ include "users.database.user" $root | quote }}
PGSSLMODE: {{ include "users.database.sslMode" $root | quote }}
{{- with $values.pgPoolMax }}
PG_POOL_MAX: {{ . | int64 | quote }}
{{- end }}
REDIS_HOST: {{ include "users.redis.host" $root | quote }}
REDIS_PORT: {{ include "users.redis.port" $root | quote }}
{{- if and (not $root.Values.redis.enabled) $root.Values.externalRedis.username }}
REDIS_USERNAME: {{ $root.Values.externalRedis.username | quote }}
{{- end }}
REDIS_DB: {{ ternary 0 $root.Values.externalRedis.db $root.Values.redis.enabled | quote }}
REDIS_KEY_PREFIX: {{ $root.Values.config.redisKeyPrefix | quote }}
SHUTDOWN_DELAY_MS: {{ $root.Values.shutdown.delayMs | int64 | quote }}
SHUTDOWN_TIMEOUT_MS: {{ $root.Values.shutdown.timeoutMs | int64 | quote }}
{{- if eq .component "user-service" }}
{{- /* The migrate init container has applied the schema before this container starts. */}}
MIGRATE_ON_START: "false"
SEED_DEMO_USERS: {{ $values.seedDemoUsers | quote }}
EVENTS_ENABLED: {{ $values.events.enabled | quote }}
{{- if $values.events.enabled }}
EVENTS_STREAM: {{ $values.events.stream | quote }}
EVENTS_STREAM_MAX_LENGTH: {{ $values.events.streamMaxLength | int64 | quote }}
EVENTS_RETENTION: {{ $values.events.retention | quote }}
{{- end }}
{{- else }}
CACHE_TTL_SECONDS: {{ $values.cache.ttlSeconds | int64 | quote }}
CACHE_NEGATIVE_TTL_SECONDS: {{ $values.cache.negativeTtlSeconds | int64 | quote }}
LOCAL_CACHE_TTL_MS: {{ $values.cache.localTtlMs | int64 | quote }}
LOCAL_CACHE_MAX_ENTRIES: {{ $values.cache.localMaxEntries | int64 | quote }}
LOCAL_CACHE_MAX_BYTES: {{ $values.cache.localMaxBytes | int64 | quote }}
{{- end }}
{{- end -}}

{{/* Passwords, each read from the Secret that already holds it; nothing when none is needed. */}}
{{- define "users.secretEnv" -}}
{{- $pgSecret := include "users.database.secretName" . -}}
{{- if $pgSecret }}
- name: PGPASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $pgSecret }}
      key: {{ include "users.database.secretKey" . }}
{{- end }}
{{- $redisSecret := include "users.redis.secretName" . -}}
{{- if $redisSecret }}
- name: REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $redisSecret }}
      key: {{ include "users.redis.secretKey" . }}
{{- end }}
{{- end -}}
