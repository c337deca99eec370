/**
 * Several of each on the Temporal cluster: two Mailgate workers and two API processes behind a
 * loopback HAProxy, a few hundred emails offered while one worker is SIGKILLed, one API is SIGKILLed
 * and one of the two history services is SIGKILLed and restarted. Every email must end as exactly one
 * workflow, one ticket and one acknowledgement, counted as the chaos suite counts them: tickets through
 * the API, acknowledgements in MailDev, outcomes from each workflow's result.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Client, Connection } from '@temporalio/client';
import { compose, count, formatReport, Phase, settle, type Email } from '../../bench/chaos-core';
import { temporalConnectionOptions } from '../../src/temporal-connection';
import { startApp, type RunningApp } from '../helpers/app';
import { cluster, clusterPid, requireCluster } from '../helpers/cluster';
import { startLoadBalancer, type LoadBalancer } from '../helpers/haproxy';
import { config, postgresUrl, unique } from '../helpers/stack';

const EMAILS = Number(process.env.CLUSTER_TEST_EMAILS ?? 300);
const RATE = Number(process.env.CLUSTER_TEST_RATE ?? 6);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test(`two workers and two APIs behind HAProxy: ${EMAILS} emails through a worker kill, an API kill and a history restart, each exactly one ticket and one acknowledgement`, async () => {
  requireCluster();
  const taskQueue = unique('mailgate-cluster');
  // One ticket database and one task queue: the two pairs are one deployment. The per-source limit
  // is above the suite's own rate, so that the limit is not what is counted.
  const shared = { databaseUrl: postgresUrl(), env: { TEMPORAL_TASK_QUEUE: taskQueue, INGRESS_RATE_PER_MINUTE: '100000', INGRESS_RATE_BURST: '100000' } };
  const apps: RunningApp[] = [];
  let lb: LoadBalancer | undefined;
  const connection = await Connection.connect(temporalConnectionOptions(config.temporal));
  const client = new Client({ connection, namespace: config.temporal.namespace });
  const log = (line: string): boolean => process.stdout.write(`${line}\n`);
  try {
    apps.push(await startApp(shared), await startApp(shared));
    lb = await startLoadBalancer(apps.map((a) => a.url));
    const runId = Date.now().toString(36);
    const emails: Email[] = [];
    // A domain per sender: the default rules acknowledge at most 200 emails an hour to one domain.
    for (let i = 0; i < EMAILS; i++) emails.push(await compose('cluster', runId, i, `d${i}-${runId}.customer.example`));
    const balancer = lb;
    const phase = new Phase('cluster-faults', () => balancer, emails);
    const started = Date.now();
    const offerSeconds = EMAILS / RATE;
    log(`cluster: ${EMAILS} emails at ${RATE}/s through HAProxy to two APIs, two workers on task queue ${taskQueue}`);
    const offered = phase.offer(RATE);

    const faults = (async () => {
      const [first, second] = apps as [RunningApp, RunningApp];
      await sleep(offerSeconds * 200);
      log('fault: SIGKILL the first worker (the second carries on alone)');
      await first.killWorker('SIGKILL');
      phase.faults += 1;

      await sleep(offerSeconds * 200);
      log('fault: SIGKILL the second API (HAProxy sends everything to the first)');
      phase.faultActive = true;
      await second.stopApi('SIGKILL');
      phase.faults += 1;

      await sleep(offerSeconds * 150);
      const pid = clusterPid('history-1');
      log(`fault: SIGKILL history-1 (pid ${pid}) and restart it; its shards move to history-2 and back`);
      process.kill(pid, 'SIGKILL');
      phase.faults += 1;
      await sleep(3_000);
      await cluster('up');

      log('recovery: the first worker and the second API start again');
      await first.startWorker();
      await second.startApi();
      phase.faultActive = false;
    })();
    await Promise.all([offered, faults]);
    await settle(client, emails, 15 * 60_000);
    const report = await count(phase, client, started);
    const summary = formatReport(report);
    log(summary);
    assert.equal(report.faults, 3, summary);
    assert.equal(report.lost, 0, `nothing lost: ${summary}`);
    assert.equal(report.doubled, 0, `nothing doubled: ${summary}`);
    assert.equal(report.workflows, EMAILS, `one workflow per email: ${summary}`);
    assert.equal(report.tickets, EMAILS, `one ticket per email: ${summary}`);
    assert.equal(report.acknowledgements, EMAILS, `one acknowledgement per email: ${summary}`);
    // A worker killed between the SMTP server's "250" and the record of the send: the retry sends
    // the same message (same Message-ID) again. One worker is killed once.
    assert.ok(report.redelivered <= 1, `no acknowledgement delivered twice: ${summary}`);
    assert.deepEqual(report.outcomes, { ticket_created: EMAILS }, summary);
    // HAProxy's health check and retry hid the dead API: no sender saw a refused or reset connection.
    assert.equal(report.answers.network ?? 0, 0, summary);
  } finally {
    await lb?.stop();
    await Promise.all(apps.map((a) => a.stop()));
    await connection.close();
  }
});
