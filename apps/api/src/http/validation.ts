import { HttpException, ValidationError, ValidationPipe } from '@nestjs/common';
import { ValidationArguments, ValidationOptions, registerDecorator } from 'class-validator';

function messages(errors: ValidationError[], prefix = ''): string[] {
  return errors.flatMap((error) => {
    const path = prefix ? `${prefix}.${error.property}` : error.property;
    const own = Object.values(error.constraints ?? {}).map((m) => m.replace(error.property, path));
    return [...own, ...messages(error.children ?? [], path)];
  });
}

/** Request bodies: unknown fields dropped (clients send extras), wrong types answered 422 `invalid_params`. */
export const validationPipe = new ValidationPipe({
  whitelist: true,
  transform: true,
  exceptionFactory: (errors) => new HttpException({ id: 'invalid_params', message: `${messages(errors).join('; ')}.` }, 422),
});

/** A reference to a resource: its id or name as a string, or `{id}` / `{name}` as Heroku also accepts. */
export function IsRef(options?: ValidationOptions) {
  return (object: object, propertyName: string) =>
    registerDecorator({
      name: 'isRef',
      target: object.constructor,
      propertyName,
      options,
      validator: {
        validate: (value: unknown) => refOf(value) !== null,
        defaultMessage: (args?: ValidationArguments) => `${args?.property} must be a non-empty string or an object with id or name`,
      },
    });
}

export function refOf(value: unknown): string | null {
  if (typeof value === 'string') return value.trim() === '' ? null : value;
  if (typeof value === 'object' && value !== null) {
    const { id, name } = value as { id?: unknown; name?: unknown };
    if (typeof id === 'string' && id !== '') return id;
    if (typeof name === 'string' && name !== '') return name;
  }
  return null;
}

/** A flat map of names to strings (or null where allowed). */
export function IsStringMap(options: ValidationOptions & { nullable?: boolean; scalars?: boolean } = {}) {
  return (object: object, propertyName: string) =>
    registerDecorator({
      name: 'isStringMap',
      target: object.constructor,
      propertyName,
      options,
      validator: {
        validate: (value: unknown) =>
          typeof value === 'object' &&
          value !== null &&
          !Array.isArray(value) &&
          Object.values(value).every(
            (v) => typeof v === 'string' || (options.nullable && v === null) || (options.scalars && (typeof v === 'boolean' || typeof v === 'number')),
          ),
        defaultMessage: (args?: ValidationArguments) =>
          `${args?.property} must be an object whose values are strings${options.nullable ? ' or null' : ''}`,
      },
    });
}
