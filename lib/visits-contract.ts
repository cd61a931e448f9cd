import type { StoreName } from "../workshop.ts";

/**
 * What `GET /` answers a JSON client (`Accept: application/json`), in every step: the count of
 * this session's visits, its id, and which store holds it. Steps that run several processes
 * add `pid`; the step whose Redis fails over adds `primary`, the node that holds it now.
 */
export interface VisitsJson {
  visits: number;
  sessionId: string;
  store: StoreName;
  pid?: number;
  /** "127.0.0.1:6380": the Redis node that is primary now (step 09). */
  primary?: string;
}
