import type { OptionName, OptionNode } from './table';

/**
 * Options this edition cannot honour, by node: left out of its forms, never offered to do nothing.
 * The main edition honours them all; the cloud edition's copy (edition.cloud.ts) names its own.
 */
export const OPTIONS_THIS_EDITION_LACKS: Partial<Record<OptionNode, readonly OptionName[]>> = {};
