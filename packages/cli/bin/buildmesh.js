#!/usr/bin/env node
// The buildmesh binary. Sources are TypeScript run through tsx's loader, so the
// same code runs from a checkout, from npx and in tests, with no build step.
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
