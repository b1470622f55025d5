{{/*
Where PostgreSQL and Redis are, and which Secret key holds each password. With a subchart enabled
these follow the naming rules of the pinned Bitnami charts (postgresql 17.1.0, redis 23.1.1,
common 2.31): common.names.fullname, postgresql.v1.chart.fullname / primary.fullname / secretName /
userPasswordKey / adminPasswordKey, redis.secretName / secretPasswordKey. The rules are copied
(the subcharts' own helpers are absent when the chart renders without its dependencies), and
test/chart/subcharts.test.ts checks every name against what the real subcharts render.
Otherwise they come from externalDatabase / externalRedis.
*/}}

{{/* common.names.fullname of a subchart. ctx: root, name (dependency name), values */}}
{{- define "users.subchartFullname" -}}
{{- if .values.fullnameOverride -}}
{{- .values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .name .values.nameOverride -}}
{{- $releaseName := regexReplaceAll "(-?[^a-z\\d\\-])+-?" (lower .root.Release.Name) "-" -}}
{{- if contains $name $releaseName -}}
{{- $releaseName | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" $releaseName $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* common.names.name: the app.kubernetes.io/name label of a subchart's pods. ctx: name, values */}}
{{- define "users.subchartName" -}}
{{- default .name .values.nameOverride | trunc 63 | trimSuffix "-" -}}
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

{{/* postgresql.v1.chart.fullname: the Secret and (standalone) Service name; global.postgresql.fullnameOverride wins. */}}
{{- define "users.postgresql.fullname" -}}
{{- include "users.postgresql.value" (dict "root" . "path" (list "fullnameOverride") "default" "") | default (include "users.subchartFullname" (dict "root" . "name" "postgresql" "values" .Values.postgresql)) -}}
{{- end -}}

{{- define "users.postgresql.replication" -}}
{{- if eq (toString (dig "architecture" "standalone" .Values.postgresql)) "replication" -}}true{{- end -}}
{{- end -}}

{{/* postgresql.v1.primary.fullname: the primary's Service and StatefulSet; "-primary" only with replication. */}}
{{- define "users.postgresql.primaryFullname" -}}
{{- $fullname := include "users.postgresql.fullname" . -}}
{{- if include "users.postgresql.replication" . -}}
{{- printf "%s-%s" $fullname (dig "primary" "name" "primary" .Values.postgresql) | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $fullname -}}
{{- end -}}
{{- end -}}

{{/* Writes and LISTEN both need the primary: with replication, the read replicas' Service is never used. */}}
{{- define "users.database.host" -}}
{{- if .Values.postgresql.enabled -}}
{{- include "users.postgresql.primaryFullname" . -}}
{{- else -}}
{{- required "externalDatabase.host is required when postgresql.enabled is false" .Values.externalDatabase.host -}}
{{- end -}}
{{- end -}}

{{/* postgresql.v1.service.port */}}
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

{{/* postgresql.v1.secretName. Empty when no password is needed (external server without existingSecret). */}}
{{- define "users.database.secretName" -}}
{{- if .Values.postgresql.enabled -}}
{{- include "users.database.existingSecret" . | default (include "users.postgresql.fullname" .) -}}
{{- else -}}
{{- .Values.externalDatabase.existingSecret -}}
{{- end -}}
{{- end -}}

{{/* The key holding PGUSER's password: postgresql.v1.userPasswordKey (adminPasswordKey for postgres). */}}
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

{{- define "users.redis.fullname" -}}
{{- include "users.subchartFullname" (dict "root" . "name" "redis" "values" .Values.redis) -}}
{{- end -}}

{{/* The subchart names its master Service and StatefulSet "<fullname>-master" without truncating. */}}
{{- define "users.redis.host" -}}
{{- if .Values.redis.enabled -}}
{{- printf "%s-master" (include "users.redis.fullname" .) -}}
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

{{/* redis.secretName. Empty when Redis needs no password (auth disabled, or external without existingSecret). */}}
{{- define "users.redis.secretName" -}}
{{- if .Values.redis.enabled -}}
{{- if dig "auth" "enabled" true .Values.redis -}}
{{- tpl (dig "auth" "existingSecret" "" .Values.redis) . | default (include "users.redis.fullname" .) -}}
{{- end -}}
{{- else -}}
{{- .Values.externalRedis.existingSecret -}}
{{- end -}}
{{- end -}}

{{/* redis.secretPasswordKey */}}
{{- define "users.redis.secretKey" -}}
{{- if .Values.redis.enabled -}}
{{- $key := dig "auth" "existingSecretPasswordKey" "" .Values.redis -}}
{{- if and (dig "auth" "existingSecret" "" .Values.redis) $key -}}{{- tpl $key . -}}{{- else -}}redis-password{{- end -}}
{{- else -}}
{{- .Values.externalRedis.existingSecretPasswordKey -}}
{{- end -}}
{{- end -}}

{{/*
Redis as a cache: maxmemory is redis.cache.maxmemory, else three quarters of the master's memory
limit (the rest is headroom for fragmentation, client buffers and the process itself, so Redis
evicts before the kubelet kills it). Rendered inside the subchart (its commonConfiguration is a
template), so `.` is the redis subchart's context.
*/}}
{{- define "users.redis.maxmemory" -}}
{{- $explicit := ((.Values.cache).maxmemory) | default "" | toString -}}
{{- if $explicit -}}
{{- $explicit -}}
{{- else -}}
{{- $limit := (((.Values.master).resources).limits).memory | default "" | toString -}}
{{- $units := dict "" 1 "k" 1000 "K" 1000 "M" 1000000 "G" 1000000000 "Ki" 1024 "Mi" 1048576 "Gi" 1073741824 -}}
{{- $parts := regexFindAll "^[0-9]+|[A-Za-z]+$" $limit -1 -}}
{{- if not (regexMatch "^[0-9]+(k|K|M|G|Ki|Mi|Gi)?$" $limit) -}}
{{- fail (printf "redis.master.resources.limits.memory %q: set it as a whole number with k, M, G, Ki, Mi or Gi, or set redis.cache.maxmemory, so Redis has a bound below its memory limit" $limit) -}}
{{- end -}}
{{- $unit := ternary (last $parts) "" (eq (len $parts) 2) -}}
{{- div (mul (atoi (first $parts)) (get $units $unit) 3) 4 -}}
{{- end -}}
{{- end -}}
