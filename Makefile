# The developer loop. `make` lists the targets; see docs/kubernetes.md.
# Tools are found on PATH; override any of them, e.g. `make deploy HELM=/opt/helm4/helm`.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

RELEASE      ?= users
NAMESPACE    ?= default
TAG          ?= dev
KIND_CLUSTER ?= users-dev
VALUES       ?= k8s-dev/values-dev.yaml
HELM         ?= helm
SKAFFOLD     ?= skaffold
DOCKER       ?= docker
KIND         ?= kind
NPM          ?= npm

# The k8s-dev scripts read the same settings.
export RELEASE NAMESPACE TAG KIND_CLUSTER HELM

.PHONY: help run test test-images standin-images test-standins deps dev deploy helm-test undeploy images load kind-up kind-down minikube-up cluster-up cluster-down test-cluster port-forward e2e bench clean

help: ## List the targets (the default)
	@echo "Usage: make <target> [RELEASE=$(RELEASE)] [NAMESPACE=$(NAMESPACE)] [TAG=$(TAG)] [KIND_CLUSTER=$(KIND_CLUSTER)]"
	@echo
	@awk 'BEGIN { FS = ":.*## " } /^[a-z][a-z0-9-]*:.*## / { printf "  %-14s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

run: ## Run both services here on :USER_PORT (5000) and :DATA_PORT (5001) with demo users (starts PostgreSQL and Redis if needed)
	scripts/run-local.sh

test: ## Check the tools, start PostgreSQL and Redis if needed, then build, typecheck and run every test (no cluster)
	scripts/check-prerequisites.sh
	scripts/local-services.sh
	[ -d node_modules ] || $(NPM) ci --no-audit --no-fund
	$(NPM) test

test-images: ## Build both images and run them hardened against local PostgreSQL and Redis
	$(NPM) run test:images

standin-images: ## Build stand-ins for the Bitnami images (Debian packages) for a cluster without registry access, as archives for ctr
	DOCKER=$(DOCKER) k8s-dev/standin-images/build.sh

test-standins: ## Build the stand-in images and run them as the rendered StatefulSets do: probes, passwords, initdb, restarts
	DOCKER=$(DOCKER) $(NPM) run test:standins

deps: ## Fetch the pinned postgresql and redis subcharts (Chart.lock) into helm/charts/
	$(HELM) dependency build helm

dev: ## Build, deploy and redeploy on save with skaffold; forwards localhost:5000 (user) and :5001 (data)
	$(SKAFFOLD) dev --port-forward=user

deploy: ## helm upgrade --install the chart with the dev values and wait (run `make images load` first)
	k8s-dev/require-cluster.sh helm
	$(HELM) upgrade --install $(RELEASE) helm --namespace $(NAMESPACE) --create-namespace \
		--dependency-update --values $(VALUES) \
		--set userService.image.tag=$(TAG) --set dataService.image.tag=$(TAG) \
		--wait --timeout 10m

helm-test: ## Run the release's helm test (registers through user-service, reads through data-service)
	$(HELM) test $(RELEASE) --namespace $(NAMESPACE) --logs

undeploy: ## Uninstall the release (the cluster stays)
	k8s-dev/require-cluster.sh helm
	$(HELM) uninstall $(RELEASE) --namespace $(NAMESPACE)

images: ## Build the user-service and data-service images, tagged TAG
	$(DOCKER) build --file Dockerfile.user --tag user-service:$(TAG) .
	$(DOCKER) build --file Dockerfile.data --tag data-service:$(TAG) .

load: ## Load the TAG images into the current kind or minikube cluster
	k8s-dev/load-images.sh

kind-up: ## Create the kind cluster KIND_CLUSTER (if missing) and switch kubectl to it
	k8s-dev/kind-up.sh

kind-down: ## Delete the kind cluster KIND_CLUSTER
	$(KIND) delete cluster --name $(KIND_CLUSTER)

cluster-up: ## Build (first time) and start a real single-node Kubernetes here, kubectl context local-node (root, Linux)
	k8s-dev/local-node/up.sh

cluster-down: ## Stop the local node and remove everything it made (the build cache stays)
	k8s-dev/local-node/down.sh

test-cluster: ## Start the local node, prove it is a working cluster, tear it down and check nothing is left
	$(NPM) run test:cluster

minikube-up: ## Start minikube (2 CPUs, 4 GiB) and switch kubectl to it
	k8s-dev/minikube-up.sh

port-forward: ## Forward localhost:USER_PORT (5000) to user-service and :DATA_PORT (5001) to data-service until Ctrl-C
	k8s-dev/port-forward.sh

# make's own exit status is always 0, 1 or 2 (POSIX), so a skip shows as "Error 77" and exit 2;
# CI that tells a skip from a failure runs `npm run e2e`, which exits 77 itself.
e2e: ## Run the user flow against the deployed release (no cluster: "Error 77"; npm run e2e exits 77)
	$(NPM) run e2e

bench: ## Run the benchmark (npm run bench)
	$(NPM) run bench

# Chart.lock stays: it pins the subchart versions.
clean: ## Remove build output and downloaded chart dependencies
	rm -rf dist helm/charts
