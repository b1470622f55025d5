#!/usr/bin/env bash
# Starts (or resumes) minikube sized for both services plus PostgreSQL and Redis.
set -euo pipefail

# Keep the default profile unless you have a reason: its context is named "minikube", which is
# what skaffold's minikube profile activates on.
profile="${MINIKUBE_PROFILE:-minikube}"

if ! command -v minikube >/dev/null; then
  echo "minikube-up: minikube is not installed (https://minikube.sigs.k8s.io/docs/start/)" >&2
  exit 127
fi

minikube start --profile "$profile" --cpus "${MINIKUBE_CPUS:-2}" --memory "${MINIKUBE_MEMORY:-4g}"
kubectl config use-context "$profile"
