// Exit codes of `npm run e2e`, documented in docs/kubernetes.md, so CI can tell "no cluster here" from "broken".

/** Both services rolled out and the user flow passed. */
export const EXIT_PASSED = 0;
/** Something is wrong with the deployment: a rollout failed or timed out, no ready pod, or the flow failed. */
export const EXIT_FAILED = 1;
/** No cluster to test: no kubeconfig, no current context, or its API server did not answer.
 * 77 is the conventional "skipped" code of test harnesses (Automake, Meson). */
export const EXIT_NO_CLUSTER = 77;
