{{/*
Settings that would render but not run, refused at render time with what to change. Included once
per render (from configmap.yaml).
*/}}
{{- define "users.validate" -}}
{{- $pg := .Values.postgresql.enabled -}}
{{- $redis := .Values.redis.enabled -}}
{{- if and $pg $redis (eq (include "users.postgresql.fullname" .) (include "users.redis.fullname" .)) -}}
{{- fail (printf "PostgreSQL and Redis would both be named %q (Bitnami drops the chart name from a release name that contains it): set postgresql.fullnameOverride or redis.fullnameOverride, or use a release name that does not contain both \"postgresql\" and \"redis\"" (include "users.redis.fullname" .)) -}}
{{- end -}}
{{- /* A StatefulSet's pods carry a controller-revision-hash label of its name plus 11 characters, and a label value takes at most 63. */ -}}
{{- $statefulSets := dict -}}
{{- if $pg -}}
{{- $_ := set $statefulSets (include "users.postgresql.primaryFullname" .) "postgresql.fullnameOverride" -}}
{{- if include "users.postgresql.replication" . -}}
{{- $_ := set $statefulSets (printf "%s-%s" (include "users.postgresql.fullname" .) (dig "readReplicas" "name" "read" .Values.postgresql) | trunc 63 | trimSuffix "-") "postgresql.fullnameOverride" -}}
{{- end -}}
{{- end -}}
{{- if $redis -}}
{{- $_ := set $statefulSets (include "users.redis.host" .) "redis.fullnameOverride" -}}
{{- end -}}
{{- $events := .Values.userService.events -}}
{{- if and $events.enabled (hasPrefix .Values.config.redisKeyPrefix $events.stream) -}}
{{- fail (printf "userService.events.stream %q starts with config.redisKeyPrefix %q, whose keys data-service deletes when it flushes its cache: choose a stream name outside that prefix" $events.stream .Values.config.redisKeyPrefix) -}}
{{- end -}}
{{- range $name, $override := $statefulSets -}}
{{- if gt (len $name) 52 -}}
{{- fail (printf "release name %q is too long: it makes a StatefulSet named %q (%d characters, Kubernetes allows 52); use a shorter release name or set %s" $.Release.Name $name (len $name) $override) -}}
{{- end -}}
{{- end -}}
{{- end -}}
