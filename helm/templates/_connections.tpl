{{/*
Where PostgreSQL and Redis are, and which Secret key holds each password. With a subchart enabled
these follow Bitnami's own naming rules (common.names.fullname, postgresql.v1.secretName /
userPasswordKey, redis.secretName / secretPasswordKey), so the pods point at exactly what the
subchart creates; otherwise they come from externalDatabase / externalRedis.
*/}}

{{/* Bitnami common.names.fullname of a subchart. ctx: root, name (dependency name), values */}}
{{- define "users.subchartFullname" -}}
{{- if .values.fullnameOverride -}}
{{- .values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .name .values.nameOverride -}}
{{- if contains $name .root.Release.Name -}}
{{- .root.Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .root.Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "users.postgresql.fullname" -}}
{{- include "users.subchartFullname" (dict "root" . "name" "postgresql" "values" .Values.postgresql) -}}
{{- end -}}

{{- define "users.redis.fullname" -}}
{{- include "users.subchartFullname" (dict "root" . "name" "redis" "values" .Values.redis) -}}
{{- end -}}

{{/* ---- PostgreSQL (Bitnami lets global.postgresql.* override the subchart's own values) ---- */}}

{{/* A PostgreSQL subchart value, global.postgresql.<path> first. ctx: root, path (list), default */}}
{{- define "users.postgresql.value" -}}
{{- $global := dig "postgresql" dict (.root.Values.global | default dict) -}}
{{- $fromGlobal := include "users.digPath" (dict "map" $global "path" .path) -}}
{{- $fromValues := include "users.digPath" (dict "map" .root.Values.postgresql "path" .path) -}}
{{- coalesce $fromGlobal $fromValues .default | default "" | toString -}}
{{- end -}}

{{/* dig with a list of keys; empty string when absent. ctx: map, path */}}
{{- define "users.digPath" -}}
{{- $node := .map -}}
{{- range .path -}}
{{- if and (kindIs "map" $node) (hasKey $node .) -}}{{- $node = get $node . -}}{{- else -}}{{- $node = dict -}}{{- end -}}
{{- end -}}
{{- if not (kindIs "map" $node) -}}{{- $node -}}{{- end -}}
{{- end -}}

{{- define "users.database.host" -}}
{{- if .Values.postgresql.enabled -}}
{{- include "users.postgresql.value" (dict "root" . "path" (list "fullnameOverride") "default" "") | default (include "users.postgresql.fullname" .) -}}
{{- else -}}
{{- required "externalDatabase.host is required when postgresql.enabled is false" .Values.externalDatabase.host -}}
{{- end -}}
{{- end -}}

{{- define "users.database.port" -}}
{{- if .Values.postgresql.enabled -}}
{{- include "users.postgresql.value" (dict "root" . "path" (list "service" "ports" "postgresql") "default" "") | default (dig "primary" "service" "ports" "postgresql" 5432 .Values.postgresql) -}}
{{- else -}}
{{- .Values.externalDatabase.port -}}
{{- end -}}
{{- end -}}

{{/* The subchart's application user; Bitnami treats an empty username or "postgres" as "admin only". */}}
{{- define "users.database.user" -}}
{{- if .Values.postgresql.enabled -}}
{{- include "users.postgresql.value" (dict "root" . "path" (list "auth" "username") "default" "postgres") -}}
{{- else -}}
{{- .Values.externalDatabase.user -}}
{{- end -}}
{{- end -}}

{{- define "users.database.name" -}}
{{- if .Values.postgresql.enabled -}}
{{- tpl (include "users.postgresql.value" (dict "root" . "path" (list "auth" "database") "default" "postgres")) . -}}
{{- else -}}
{{- .Values.externalDatabase.database -}}
{{- end -}}
{{- end -}}

{{- define "users.database.sslMode" -}}
{{- if .Values.postgresql.enabled -}}disable{{- else -}}{{- .Values.externalDatabase.sslMode -}}{{- end -}}
{{- end -}}

{{- define "users.database.existingSecret" -}}
{{- tpl (include "users.postgresql.value" (dict "root" . "path" (list "auth" "existingSecret") "default" "")) . -}}
{{- end -}}

{{/* Empty when no password is needed (external server without existingSecret). */}}
{{- define "users.database.secretName" -}}
{{- if .Values.postgresql.enabled -}}
{{- include "users.database.existingSecret" . | default (include "users.postgresql.fullname" .) -}}
{{- else -}}
{{- .Values.externalDatabase.existingSecret -}}
{{- end -}}
{{- end -}}

{{/* The key holding PGUSER's password: Bitnami's userPasswordKey, or adminPasswordKey for postgres. */}}
{{- define "users.database.secretKey" -}}
{{- if .Values.postgresql.enabled -}}
{{- $appUser := ne (include "users.database.user" .) "postgres" -}}
{{- if include "users.database.existingSecret" . -}}
{{- $key := ternary "userPasswordKey" "adminPasswordKey" $appUser -}}
{{- tpl (include "users.postgresql.value" (dict "root" . "path" (list "auth" "secretKeys" $key) "default" (ternary "password" "postgres-password" $appUser))) . -}}
{{- else -}}
{{- ternary "password" "postgres-password" $appUser -}}
{{- end -}}
{{- else -}}
{{- .Values.externalDatabase.existingSecretPasswordKey -}}
{{- end -}}
{{- end -}}

{{/* ---- Redis (standalone: clients talk to the master Service) ---- */}}

{{- define "users.redis.host" -}}
{{- if .Values.redis.enabled -}}
{{- printf "%s-master" (include "users.redis.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- required "externalRedis.host is required when redis.enabled is false" .Values.externalRedis.host -}}
{{- end -}}
{{- end -}}

{{- define "users.redis.port" -}}
{{- if .Values.redis.enabled -}}
{{- dig "master" "service" "ports" "redis" 6379 .Values.redis -}}
{{- else -}}
{{- .Values.externalRedis.port -}}
{{- end -}}
{{- end -}}

{{/* Empty when Redis needs no password (auth disabled, or external without existingSecret). */}}
{{- define "users.redis.secretName" -}}
{{- if .Values.redis.enabled -}}
{{- if dig "auth" "enabled" true .Values.redis -}}
{{- tpl (dig "auth" "existingSecret" "" .Values.redis) . | default (include "users.redis.fullname" .) -}}
{{- end -}}
{{- else -}}
{{- .Values.externalRedis.existingSecret -}}
{{- end -}}
{{- end -}}

{{- define "users.redis.secretKey" -}}
{{- if .Values.redis.enabled -}}
{{- $key := dig "auth" "existingSecretPasswordKey" "" .Values.redis -}}
{{- if and (dig "auth" "existingSecret" "" .Values.redis) $key -}}{{- tpl $key . -}}{{- else -}}redis-password{{- end -}}
{{- else -}}
{{- .Values.externalRedis.existingSecretPasswordKey -}}
{{- end -}}
{{- end -}}
