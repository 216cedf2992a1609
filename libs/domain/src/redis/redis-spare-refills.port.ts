/**
 * Asks the worker to top the spare pools up: a job, queued once a provision has claimed a spare,
 * that runs after the provision has committed (never on its path). Optional: where no
 * implementation is provided, the supervision sweeps refill the pools alone.
 */
export abstract class RedisSpareRefills {
  /** Queues the refill (one at a time; a request while one waits is a no-op). Never throws. */
  abstract request(): void;
}
