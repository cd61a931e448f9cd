import type { StoreName } from "../workshop.ts";

/**
 * What `GET /` answers a JSON client (`Accept: application/json`), in every step: the count of
 * this session's visits, its id, and which store holds it. Steps that run several processes
 * add `pid`.
 */
export interface VisitsJson {
  visits: number;
  sessionId: string;
  store: StoreName;
  pid?: number;
}
