/**
 * The bare shape as a workflow (bench/bare-shape.ts): each step of the shape done with nothing
 * behind it, so its cost is the engine's and the SDK's alone. Workflow code: deterministic.
 */
import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { ShapeStep } from './bare-shape';

interface BareActivities {
  nothing(): Promise<void>;
}

const { nothing: remote } = proxyActivities<BareActivities>({ startToCloseTimeout: '1 minute' });
const { nothing: local } = proxyLocalActivities<BareActivities>({ startToCloseTimeout: '30 seconds' });

export async function bareEmailShape(shape: ShapeStep[]): Promise<number> {
  for (const step of shape) await (step === 'local' ? local() : remote());
  return shape.length;
}
