{{/* Resource names: RELEASE-CHART, at most 63 characters (fullnameOverride replaces it). */}}
{{- define "zenml-server.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "zenml-server.selector" -}}
app.kubernetes.io/name: {{ default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* The replicas' pods (not the migration Job's): Deployment, Service, PDB, NetworkPolicy. */}}
{{- define "zenml-server.serverSelector" -}}
{{ include "zenml-server.selector" . }}
app.kubernetes.io/component: server
{{- end -}}

{{- define "zenml-server.labels" -}}
{{ include "zenml-server.selector" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end -}}

{{- define "zenml-server.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* The Secret with the admin password, signing key and encryption key. */}}
{{- define "zenml-server.secretName" -}}
{{- default (include "zenml-server.fullname" .) .Values.existingSecret -}}
{{- end -}}

{{/* The Secret with DATABASE_URL. */}}
{{- define "zenml-server.databaseSecretName" -}}
{{- if .Values.database.existingSecret -}}
{{- .Values.database.existingSecret -}}
{{- else -}}
{{- include "zenml-server.secretName" . -}}
{{- end -}}
{{- end -}}

{{/*
A secret value for the chart's own Secret: the value given, else the one already stored in the
Secret of an earlier install (so upgrades keep it), else a new random one. Takes a dict:
ctx (the root context), key (the Secret's key), value (the configured value), length.
*/}}
{{- define "zenml-server.keptSecret" -}}
{{- $data := include "zenml-server.storedSecretData" .ctx | fromJson -}}
{{- if .value -}}
{{- .value | b64enc -}}
{{- else if hasKey $data .key -}}
{{- index $data .key -}}
{{- else -}}
{{- randAlphaNum .length | b64enc -}}
{{- end -}}
{{- end -}}

{{/* The data of the chart's Secret from an earlier install, as JSON ({} offline or at first). */}}
{{- define "zenml-server.storedSecretData" -}}
{{- $stored := lookup "v1" "Secret" .Release.Namespace (include "zenml-server.fullname" .) -}}
{{- if $stored -}}
{{- default dict $stored.data | toJson -}}
{{- else -}}
{{- dict | toJson -}}
{{- end -}}
{{- end -}}

{{/* The container environment shared by the replicas and the migration Job. */}}
{{- define "zenml-server.env" -}}
- name: ZENML_SERVER_HOST
  value: "0.0.0.0"
- name: ZENML_SERVER_PORT
  value: "8080"
- name: ZENML_SERVER_URL
  value: {{ .Values.url | quote }}
- name: ZENML_SERVER_ADMIN_USERNAME
  value: {{ .Values.admin.username | quote }}
{{- with .Values.trustedProxies }}
- name: ZENML_SERVER_TRUSTED_PROXIES
  value: {{ . | quote }}
{{- end }}
- name: ZENML_SERVER_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "zenml-server.databaseSecretName" . }}
      key: DATABASE_URL
- name: ZENML_SERVER_ADMIN_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "zenml-server.secretName" . }}
      key: ADMIN_PASSWORD
- name: ZENML_SERVER_JWT_SECRET_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "zenml-server.secretName" . }}
      key: JWT_SECRET_KEY
      # Only when set: without it the server signs with its rotatable Ed25519 keys.
      optional: true
{{- if .Values.encryptionKey.enabled }}
- name: ZENML_SERVER_ENCRYPTION_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "zenml-server.secretName" . }}
      key: ENCRYPTION_KEY
{{- end }}
{{- range $name, $value := .Values.extraEnv }}
- name: {{ $name }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- end -}}

{{/* Hardened container settings, shared by the replicas and the migration Job. */}}
{{- define "zenml-server.containerSecurityContext" -}}
allowPrivilegeEscalation: false
privileged: false
readOnlyRootFilesystem: true
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "zenml-server.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end -}}
