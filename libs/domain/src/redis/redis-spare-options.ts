/** Settings the spare pools take from configuration. */
export abstract class RedisSpareOptions {
  /** Spare mini nodes kept running on each active host (within its capacity); 0 turns spares off. */
  abstract readonly sparesPerHost: number;
}
