/**
 * The built-in functions custom builds can call, by id. To add one: its spec (inputs, outputs) in
 * packages/protocol/src/custom-functions.ts, its implementation as one file here, and a line below
 * (a test checks the two lists match).
 */
import { build } from './build.js';
import { checkout } from './checkout.js';
import { findAndUploadBuildArtifacts } from './find-and-upload-build-artifacts.js';
import { installNodeModules } from './install-node-modules.js';
import { installPods } from './install-pods.js';
import { prebuild } from './prebuild.js';
import { resolveBuildConfig } from './resolve-build-config.js';
import { restoreCache, saveCache } from './cache.js';
import { runGradle } from './run-gradle.js';
import type { BuiltinFunction } from './types.js';
import { uploadArtifact } from './upload-artifact.js';
import { useNpmToken } from './use-npm-token.js';

export const BUILTIN_FUNCTIONS: ReadonlyMap<string, BuiltinFunction> = new Map(
  [checkout, useNpmToken, installNodeModules, resolveBuildConfig, prebuild, build, runGradle, installPods, uploadArtifact, findAndUploadBuildArtifacts, restoreCache, saveCache].map((fn) => [fn.id, fn]),
);

export type { BuiltinFunction, CustomPlanServices, FunctionExpansion, FunctionRunContext } from './types.js';
