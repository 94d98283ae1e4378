{{- define "kraken.fullname" -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "kraken.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "kraken.selector" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: app
{{- end -}}

{{- define "kraken.secretName" -}}
{{- default (printf "%s-secrets" (include "kraken.fullname" .)) .Values.secrets.existingSecret -}}
{{- end -}}

{{/* The environment every Kraken container gets: settings from values, secrets from the Secret. */}}
{{- define "kraken.env" -}}
- name: KRAKEN_ENV
  value: {{ .Values.env | quote }}
- name: PORT
  value: "3000"
- name: KRAKEN_TRUSTED_PROXIES
  value: "1"
{{- if .Values.mongodb.urlFromSecret }}
- name: MONGODB_URL
  valueFrom: {secretKeyRef: {name: {{ include "kraken.secretName" . }}, key: MONGODB_URL}}
{{- else }}
- name: MONGODB_URL
  value: {{ required "mongodb.url is required" .Values.mongodb.url | quote }}
{{- end }}
{{- if .Values.redis.sentinels }}
- name: REDIS_SENTINELS
  value: {{ join "," .Values.redis.sentinels | quote }}
- name: REDIS_SENTINEL_MASTER
  value: {{ .Values.redis.masterName | quote }}
- name: REDIS_DB
  value: {{ .Values.redis.db | quote }}
- name: REDIS_SENTINEL_PASSWORD
  valueFrom: {secretKeyRef: {name: {{ include "kraken.secretName" . }}, key: REDIS_SENTINEL_PASSWORD, optional: true}}
{{- else }}
- name: REDIS_URL
  value: {{ required "redis.url or redis.sentinels is required" .Values.redis.url | quote }}
{{- end }}
- name: REDIS_PASSWORD
  valueFrom: {secretKeyRef: {name: {{ include "kraken.secretName" . }}, key: REDIS_PASSWORD, optional: true}}
- name: JWT_SECRET
  valueFrom: {secretKeyRef: {name: {{ include "kraken.secretName" . }}, key: JWT_SECRET}}
- name: JWT_REFRESH_SECRET
  valueFrom: {secretKeyRef: {name: {{ include "kraken.secretName" . }}, key: JWT_REFRESH_SECRET}}
- name: LIVEKIT_URL
  value: {{ .Values.livekit.url | quote }}
- name: LIVEKIT_INTERNAL_URL
  value: {{ .Values.livekit.internalUrl | quote }}
- name: LIVEKIT_API_KEY
  value: {{ .Values.livekit.apiKey | quote }}
- name: LIVEKIT_API_SECRET
  valueFrom: {secretKeyRef: {name: {{ include "kraken.secretName" . }}, key: LIVEKIT_API_SECRET}}
- name: KRAKEN_STORAGE
  value: {{ .Values.storage.backend | quote }}
{{- if eq .Values.storage.backend "s3" }}
- name: KRAKEN_S3_BUCKET
  value: {{ required "storage.s3.bucket is required" .Values.storage.s3.bucket | quote }}
- name: KRAKEN_S3_ENDPOINT
  value: {{ .Values.storage.s3.endpoint | quote }}
- name: KRAKEN_S3_REGION
  value: {{ .Values.storage.s3.region | quote }}
- name: KRAKEN_S3_ACCESS_KEY
  value: {{ .Values.storage.s3.accessKeyId | quote }}
- name: KRAKEN_S3_SECRET_KEY
  valueFrom: {secretKeyRef: {name: {{ include "kraken.secretName" . }}, key: KRAKEN_S3_SECRET_KEY}}
{{- else }}
- name: KRAKEN_DATA_DIR
  value: /data
- name: KRAKEN_UPLOAD_DIR
  value: /data/uploads
{{- end }}
{{- range $name, $value := .Values.extraEnv }}
- name: {{ $name }}
  value: {{ $value | quote }}
{{- end }}
{{- end -}}
