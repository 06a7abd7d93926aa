/** eas/restore_cache and eas/save_cache: the org's cache on this worker (../../cache/custom-steps.ts). */
import { restoreCustomCache, saveCustomCache, type CustomCacheCall } from '../../cache/custom-steps.js';
import { workspaceLayout } from '../../workspace/workspace.js';
import type { BuiltinFunction, FunctionRunContext } from './types.js';

function call({ phase, services, inputs }: FunctionRunContext): CustomCacheCall {
  return {
    store: services.cache,
    orgId: services.input.job.build.orgId,
    projectDir: phase.projectDir,
    homeDir: workspaceLayout(phase.workspaceRoot).homeDir,
    inputs,
    log: phase.log,
  };
}

export const restoreCache: BuiltinFunction = { id: 'eas/restore_cache', run: (ctx) => restoreCustomCache(call(ctx)) };
export const saveCache: BuiltinFunction = { id: 'eas/save_cache', run: (ctx) => saveCustomCache(call(ctx)) };
