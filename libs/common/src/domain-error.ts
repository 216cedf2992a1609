/**
 * The kinds of failure the edge maps to HTTP statuses. Domain code never speaks HTTP;
 * the error filter in apps/api owns the mapping.
 */
export type DomainErrorKind =
  | 'invalid'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'confirmation_required'
  | 'rate_limited'
  | 'unavailable';

/** A failure with a stable machine id (Heroku's error `id`) and a message safe to show. */
export class DomainError extends Error {
  constructor(
    readonly kind: DomainErrorKind,
    readonly code: string,
    message: string,
    readonly details: { resource?: string } = {},
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export class NotFoundError extends DomainError {
  constructor(resource: string, message?: string) {
    super('not_found', 'not_found', message ?? `Couldn't find that ${resource.replace(/_/g, ' ')}.`, { resource });
  }
}

export class InvalidInputError extends DomainError {
  constructor(message: string, code = 'invalid_params') {
    super('invalid', code, message);
  }
}

export class ConflictError extends DomainError {
  constructor(code: string, message: string) {
    super('conflict', code, message);
  }
}

export class ForbiddenError extends DomainError {
  constructor(message = 'You do not have access to this resource.') {
    super('forbidden', 'forbidden', message);
  }
}

export class ConfirmationRequiredError extends DomainError {
  constructor(message: string) {
    super('confirmation_required', 'confirmation_required', message);
  }
}
