import type { Observed } from './change';
import type { ResourceKind } from './components';

/** One resource of the deployment as read from AWS, carrying its tags (checked client-side). */
export interface FoundResource extends Observed {
  kind: ResourceKind;
  component: string;
  state?: string;
  /** Kind-specific facts removal and later steps need (VPC of a gateway, association ids, …). */
  facts?: Record<string, string>;
}
