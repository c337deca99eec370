{{/* Names: <release>-mailgate unless the release's name already says mailgate. */}}
{{- define "mailgate.fullname" -}}
{{- if contains "mailgate" .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-mailgate" .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "mailgate.labels" -}}
app.kubernetes.io/name: mailgate
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Selector labels of one component (api, worker, mx). */}}
{{- define "mailgate.selector" -}}
app.kubernetes.io/name: mailgate
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "mailgate.tag" -}}
{{- .Values.image.tag | default .Chart.AppVersion -}}
{{- end -}}

{{- define "mailgate.buildId" -}}
{{- .Values.worker.versioning.buildId | default (include "mailgate.tag" .) -}}
{{- end -}}

{{/* A build id as it may stand in an object's name and a label value. */}}
{{- define "mailgate.buildSlug" -}}
{{- . | lower | replace "_" "-" | replace "." "-" | trunc 20 | trimSuffix "-" -}}
{{- end -}}

{{- define "mailgate.image" -}}
{{- printf "%s:%s" .root.Values.image.repository .tag -}}
{{- end -}}

{{/*
Variables every process reads from Secrets: the required keys, the optional ones (absent keys are
skipped by the kubelet), and the extra references.
*/}}
{{- define "mailgate.secretEnv" -}}
{{- $secret := .Values.secrets.existingSecret -}}
{{- range $name, $key := .Values.secrets.keys }}
- name: {{ $name }}
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ $key }}
{{- end }}
{{- range $name, $key := .Values.secrets.optionalKeys }}
- name: {{ $name }}
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ $key }}
      optional: true
{{- end }}
{{- range .Values.secrets.extraEnv }}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ .secretName }}
      key: {{ .key }}
{{- end }}
{{- end -}}

{{/* Mounts every process needs: writable /tmp and data directory, Temporal's TLS files, the rules. */}}
{{- define "mailgate.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
- name: data
  mountPath: /app/.data
{{- if .Values.temporal.tls.existingSecret }}
- name: temporal-tls
  mountPath: /etc/mailgate/temporal-tls
  readOnly: true
{{- end }}
{{- if .Values.temporal.apiKey.existingSecret }}
- name: temporal-api-key
  mountPath: /etc/mailgate/temporal-api-key
  readOnly: true
{{- end }}
{{- if .Values.rules.existingConfigMap }}
- name: rules
  mountPath: /etc/mailgate/rules
  readOnly: true
{{- end }}
{{- end -}}

{{- define "mailgate.volumes" -}}
- name: tmp
  emptyDir:
    sizeLimit: 256Mi
- name: data
  emptyDir:
    sizeLimit: 64Mi
{{- if .Values.temporal.tls.existingSecret }}
- name: temporal-tls
  secret:
    secretName: {{ .Values.temporal.tls.existingSecret }}
    defaultMode: 0440
{{- end }}
{{- if .Values.temporal.apiKey.existingSecret }}
- name: temporal-api-key
  secret:
    secretName: {{ .Values.temporal.apiKey.existingSecret }}
    defaultMode: 0440
    items:
      - key: {{ .Values.temporal.apiKey.key }}
        path: api-key
{{- end }}
{{- if .Values.rules.existingConfigMap }}
- name: rules
  configMap:
    name: {{ .Values.rules.existingConfigMap }}
{{- end }}
{{- end -}}

{{/* Pod-level settings shared by the three Deployments. */}}
{{- define "mailgate.podCommon" -}}
serviceAccountName: {{ include "mailgate.fullname" .root }}
automountServiceAccountToken: false
enableServiceLinks: false
securityContext:
  {{- toYaml .root.Values.podSecurityContext | nindent 2 }}
{{- with .root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- if .root.Values.spreadAcrossNodes }}
# Replicas on different nodes where the cluster allows, so one node's loss takes one of each.
topologySpreadConstraints:
  - maxSkew: 1
    topologyKey: kubernetes.io/hostname
    whenUnsatisfiable: ScheduleAnyway
    labelSelector:
      matchLabels:
        {{- include "mailgate.selector" (dict "root" .root "component" .component) | nindent 8 }}
{{- end }}
{{- end -}}
