/**
 * The per-snapshot decision cache: a two-generation map (util/two-generations.ts), so a hit is one Map lookup
 * and memory is bounded at 2 x `generation` decisions.
 */
import { TwoGenerationMap } from '../util/two-generations.js';
import type { Decision } from './decision.js';

export class DecisionCache extends TwoGenerationMap<Decision> {}
