# Mailgate: `make up` runs the whole system in the background, `make test` runs every test.
.PHONY: up down status test test-slow test-cluster test-deploy deploy-tools manifests build lint setup

up:
	@scripts/setup
	@scripts/with-env npm run --silent build
	@scripts/stack up all
	@scripts/stack status
	@scripts/with-env sh -c 'echo; echo "API:         http://$$API_HOST:$$API_PORT  (POST /v1/inbound/mime, GET /v1/tickets)"; echo "MX (SMTP):   $$SMTP_INGRESS_HOST:$$SMTP_INGRESS_PORT"; echo "Temporal UI: http://127.0.0.1:$$TEMPORAL_UI_PORT"; echo "Mail view:   http://127.0.0.1:$$MAILDEV_WEB_PORT"; echo "Logs:        $$MAILGATE_DATA_DIR/logs"'

down:
	@scripts/stack down all

status:
	@scripts/stack status

test:
	@scripts/test

# Suites under test/slow/ (real MTAs and mail servers, the browser, soaks): a fresh stack of their own.
test-slow:
	@TEST_SET=slow scripts/test

# Suites under test/cluster/ on a real Temporal cluster (scripts/cluster; the first run builds the
# server from its Go module, about 11 minutes): two workers and two APIs behind HAProxy, faults.
test-cluster:
	@TEST_SET=cluster scripts/test

# The Helm chart and deploy/kubernetes/, offline: helm lint, helm template, Kubernetes' and KEDA's schemas.
test-deploy:
	@scripts/test-deploy

# helm (built from its Go module), kubernetes-validate and KEDA's CRDs into .tools/deploy/.
deploy-tools:
	@scripts/deploy-tools

# Regenerates deploy/kubernetes/ from the chart (commit the result).
manifests:
	@scripts/deploy-tools
	@scripts/render-manifests

build:
	@scripts/with-env npm run --silent build

lint:
	@scripts/with-env npm run --silent lint

setup:
	@scripts/setup
