{{/* Names and labels shared by every template. */}}

{{/* Prefix of every resource of this release: fullnameOverride, else the release name. */}}
{{- define "users.fullname" -}}
{{- default .Release.Name .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{/* Name of one service's resources (Deployment, Service, ConfigMap, ServiceAccount …). ctx: root, component */}}
{{- define "users.componentName" -}}
{{- printf "%s-%s" (include "users.fullname" .root) .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The values block of a component: user-service → .Values.userService. ctx: root, component */}}
{{- define "users.componentValuesKey" -}}
{{- if eq . "user-service" -}}userService{{- else if eq . "data-service" -}}dataService{{- else -}}{{- fail (printf "unknown component %q" .) -}}{{- end -}}
{{- end -}}

{{- define "users.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels that never change over a release's life: the Deployment selector. ctx: root, component */}}
{{- define "users.selectorLabels" -}}
app.kubernetes.io/name: {{ .component }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end -}}

{{/* ctx: root, component */}}
{{- define "users.labels" -}}
{{ include "users.selectorLabels" . }}
app.kubernetes.io/component: {{ .component }}
app.kubernetes.io/part-of: {{ .root.Chart.Name }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ include "users.chart" .root }}
{{- end -}}

{{/* Labels of release-wide objects that belong to neither service (dashboard, policies). */}}
{{- define "users.releaseLabels" -}}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/part-of: {{ .Chart.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ include "users.chart" . }}
{{- end -}}

{{/* repository:tag, the tag defaulting to the chart's appVersion. image: the values' image block */}}
{{- define "users.image" -}}
{{- printf "%s:%s" .image.repository (default .root.Chart.AppVersion .image.tag | toString) -}}
{{- end -}}

{{/*
Bitnami's own NetworkPolicies, with allowExternal=false, admit pods labelled "<name>-client": true
(postgresql.v1.primary.fullname, common.names.fullname of redis). The services and their init
containers are those clients.
*/}}
{{- define "users.clientLabels" -}}
{{- if .Values.postgresql.enabled }}
{{ include "users.postgresql.primaryFullname" . }}-client: "true"
{{- end }}
{{- if .Values.redis.enabled }}
{{ include "users.redis.fullname" . }}-client: "true"
{{- end }}
{{- end -}}
