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

{{/* ---- PostgreSQL ---- */}}

{{- define "users.database.host" -}}
{{- if .Values.postgresql.enabled -}}
{{- include "users.postgresql.fullname" . -}}
{{- else -}}
{{- required "externalDatabase.host is required when postgresql.enabled is false" .Values.externalDatabase.host -}}
{{- end -}}
{{- end -}}

{{- define "users.database.port" -}}
{{- if .Values.postgresql.enabled -}}
{{- dig "primary" "service" "ports" "postgresql" 5432 .Values.postgresql -}}
{{- else -}}
{{- .Values.externalDatabase.port -}}
{{- end -}}
{{- end -}}

{{/* The subchart's application user; Bitnami treats an empty username or "postgres" as "admin only". */}}
{{- define "users.database.user" -}}
{{- if .Values.postgresql.enabled -}}
{{- dig "auth" "username" "" .Values.postgresql | default "postgres" -}}
{{- else -}}
{{- .Values.externalDatabase.user -}}
{{- end -}}
{{- end -}}

{{- define "users.database.name" -}}
{{- if .Values.postgresql.enabled -}}
{{- dig "auth" "database" "" .Values.postgresql | default "postgres" -}}
{{- else -}}
{{- .Values.externalDatabase.database -}}
{{- end -}}
{{- end -}}

{{- define "users.database.sslMode" -}}
{{- if .Values.postgresql.enabled -}}disable{{- else -}}{{- .Values.externalDatabase.sslMode -}}{{- end -}}
{{- end -}}

{{/* Empty when no password is needed (external server without existingSecret). */}}
{{- define "users.database.secretName" -}}
{{- if .Values.postgresql.enabled -}}
{{- dig "auth" "existingSecret" "" .Values.postgresql | default (include "users.postgresql.fullname" .) -}}
{{- else -}}
{{- .Values.externalDatabase.existingSecret -}}
{{- end -}}
{{- end -}}

{{- define "users.database.secretKey" -}}
{{- if .Values.postgresql.enabled -}}
{{- $pg := .Values.postgresql -}}
{{- $appUser := ne (include "users.database.user" .) "postgres" -}}
{{- if dig "auth" "existingSecret" "" $pg -}}
{{- ternary (dig "auth" "secretKeys" "userPasswordKey" "password" $pg) (dig "auth" "secretKeys" "adminPasswordKey" "postgres-password" $pg) $appUser -}}
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
{{- dig "auth" "existingSecret" "" .Values.redis | default (include "users.redis.fullname" .) -}}
{{- end -}}
{{- else -}}
{{- .Values.externalRedis.existingSecret -}}
{{- end -}}
{{- end -}}

{{- define "users.redis.secretKey" -}}
{{- if .Values.redis.enabled -}}
{{- $key := dig "auth" "existingSecretPasswordKey" "" .Values.redis -}}
{{- if and (dig "auth" "existingSecret" "" .Values.redis) $key -}}{{- $key -}}{{- else -}}redis-password{{- end -}}
{{- else -}}
{{- .Values.externalRedis.existingSecretPasswordKey -}}
{{- end -}}
{{- end -}}
