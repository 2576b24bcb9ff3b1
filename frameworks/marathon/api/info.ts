/**
 * /v2/info and /v2/leader (InfoResource, LeaderResource).
 *
 * @module
 */
import { Router } from 'express';
import { ApiContext, handle } from './context.js';
import { HttpError } from './errors.js';

/** GET /v2/info's body: Marathon's fields (reference/marathon-v2/info.json). */
export function renderInfo(ctx: ApiContext): Record<string, unknown> {
  const info = ctx.service.info();
  const cfg = ctx.deps.config ?? {};
  const out: Record<string, unknown> = {
    name: 'marathon',
    version: info.version,
    buildref: 'unknown',
    elected: info.elected,
  };
  if (info.leader !== undefined) out.leader = info.leader;
  if (info.frameworkId !== undefined) out.frameworkId = info.frameworkId;
  out.marathon_config = {
    access_control_allow_origin: null,
    checkpoint: true,
    decline_offer_duration: cfg.declineOfferDurationMs ?? 120_000,
    default_network_name: null,
    env_vars_prefix: null,
    executor: '//cmd',
    failover_timeout: cfg.failoverTimeoutSeconds ?? 604_800,
    features: [],
    framework_name: cfg.frameworkName ?? 'marathon',
    ha: cfg.zk !== undefined,
    hostname: info.hostname,
    launch_token: 100,
    launch_token_refresh_interval: 30_000,
    leader_proxy_connection_timeout_ms: 5_000,
    leader_proxy_read_timeout_ms: 10_000,
    local_port_max: 20_000,
    local_port_min: 10_000,
    master: info.master,
    max_instances_per_offer: 5,
    mesos_bridge_name: 'mesos-bridge',
    mesos_heartbeat_failure_threshold: 5,
    mesos_heartbeat_interval: 15_000,
    mesos_leader_ui_url: cfg.mesosLeaderUiUrl ?? `http://${info.master}/`,
    mesos_role: cfg.mesosRole ?? null,
    mesos_user: cfg.mesosUser ?? null,
    min_revive_offers_interval: 5_000,
    offer_matching_timeout: 3_000,
    on_elected_prepare_timeout: 180_000,
    reconciliation_initial_delay: cfg.reconciliationInitialDelayMs ?? 15_000,
    reconciliation_interval: cfg.reconciliationIntervalMs ?? 600_000,
    scale_apps_initial_delay: 15_000,
    scale_apps_interval: 300_000,
    store_cache: true,
    task_launch_confirm_timeout: 300_000,
    task_launch_timeout: 300_000,
    task_lost_expunge_initial_delay: 300_000,
    task_lost_expunge_interval: 30_000,
    task_reservation_timeout: 20_000,
    webui_url: cfg.webuiUrl ?? null,
  };
  out.zookeeper_config = {
    zk: cfg.zk ?? null,
    zk_compression: true,
    zk_compression_threshold: 65_536,
    zk_connection_timeout: 10_000,
    zk_max_node_size: 1_024_000,
    zk_max_versions: 50,
    zk_session_timeout: 10_000,
    zk_timeout: 10_000,
  };
  out.http_config = { http_port: info.httpPort, https_port: 8443 };
  return out;
}

/** /v2/info and /v2/leader (mount at `/v2`). */
export function infoRouter(ctx: ApiContext): Router {
  const router = Router();
  router.get('/info', handle((_req, res) => {
    res.json(renderInfo(ctx));
  }));
  router.get('/leader', handle((_req, res) => {
    const leader = ctx.service.info().leader;
    if (leader === undefined) throw new HttpError(404, { message: 'There is no leader' });
    res.json({ leader });
  }));
  router.delete('/leader', handle(async (_req, res) => {
    if (!ctx.service.info().elected) throw new HttpError(404, { message: 'There is no leader' });
    await ctx.service.abdicate();
    res.json({ message: 'Leadership abdicated' });
  }));
  return router;
}
