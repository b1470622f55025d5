{{/*
Authentication of the services (see auth-secret.yaml and docs/operations.md, "Auth").
Three ways: the chart's own signing key (default), an operator's Secret (auth.existingSecret), or an
identity provider's keys (auth.jwksUrl). The signing key reaches pods only by secretKeyRef.
*/}}

{{/* The Secret holding the HS256 signing key; empty with auth.jwksUrl or auth off. */}}
{{- define "users.auth.secretName" -}}
{{- if and .Values.auth.enabled (not .Values.auth.jwksUrl) -}}
{{- .Values.auth.existingSecret | default (printf "%s-auth" (include "users.fullname" .)) -}}
{{- end -}}
{{- end -}}

{{/* "true" when the chart creates the Secret itself. */}}
{{- define "users.auth.createSecret" -}}
{{- if and .Values.auth.enabled (not .Values.auth.jwksUrl) (not .Values.auth.existingSecret) -}}true{{- end -}}
{{- end -}}

{{/* Whether a component verifies tokens: user-service always, data-service only when reads need one. ctx: root, component */}}
{{- define "users.auth.verifies" -}}
{{- if and .root.Values.auth.enabled (or (eq .component "user-service") .root.Values.auth.readsRequireToken) -}}true{{- end -}}
{{- end -}}

{{/* Container env entries for authentication. ctx: root, component */}}
{{- define "users.auth.env" -}}
{{- $auth := .root.Values.auth -}}
{{- if not $auth.enabled }}
- name: AUTH
  value: disabled
{{- else if include "users.auth.verifies" . }}
{{- if $auth.readsRequireToken }}
- name: AUTH_READS
  value: token
{{- end }}
{{- if $auth.jwksUrl }}
- name: JWKS_URL
  value: {{ $auth.jwksUrl | quote }}
{{- else }}
- name: JWT_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ include "users.auth.secretName" .root }}
      key: {{ $auth.existingSecretKey }}
{{- end }}
{{- with $auth.issuer }}
- name: JWT_ISSUER
  value: {{ . | quote }}
{{- end }}
{{- with $auth.audience }}
- name: JWT_AUDIENCE
  value: {{ . | quote }}
{{- end }}
{{- end }}
{{- end -}}
